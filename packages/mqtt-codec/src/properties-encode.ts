/**
 * Writes MQTT 5.0 property blocks. `propertiesSize` validates every property (allowed on this
 * packet, value in range, valid strings, at most one Subscription Identifier outside PUBLISH,
 * Authentication Data only with a Method) and returns the size of the block's content;
 * `writeProperties` then writes the length prefix and the properties in object key order.
 */
import { MqttProtocolError, malformed, protocolError } from './errors.js';
import type { Properties, UserProperty } from './packets.js';
import { PropertyId, propertyAllowedMask, propertyById, propertyIdByName } from './properties.js';
import { ReasonCode } from './reason-codes.js';
import { hasWildcard } from './utf8.js';
import { binarySize, checkUint, stringSize } from './measure.js';
import { type Writer, varintSize } from './writer.js';

type Key = keyof Properties;

/** Content size of the property block (without its length prefix); `scope` 0 is the will. */
export function propertiesSize(props: Properties | undefined, scope: number): number {
  if (props === undefined) return 0;
  let size = 0;
  for (const key in props) {
    const value = props[key as Key];
    if (value === undefined) continue;
    const id = propertyIdByName[key as Key];
    if (id === undefined) throw malformed(`unknown property '${key}'`);
    // spec 2.2.2.2: only the properties defined for this packet
    if (propertyAllowedMask[scope * 64 + id] === 0) {
      throw malformed(`property '${key}' not allowed on ${scope === 0 ? 'will' : `packet type ${scope}`}`);
    }
    switch (propertyById[id]!.type) {
      case 'byte':
        // every byte property is a 0/1 flag
        if (value !== 0 && value !== 1) throw protocolError(`property '${key}' must be 0 or 1`);
        size += 2;
        break;
      case 'two-byte':
        checkUint(value as number, 65_535, key);
        if (value === 0 && id === PropertyId.ReceiveMaximum) throw protocolError('Receive Maximum 0');
        // [MQTT-3.3.2-8] Topic Alias 0 is not permitted
        if (value === 0 && id === PropertyId.TopicAlias) {
          throw new MqttProtocolError(ReasonCode.TopicAliasInvalid, 'Topic Alias 0', 'MQTT-3.3.2-8');
        }
        size += 3;
        break;
      case 'four-byte':
        checkUint(value as number, 0xffff_ffff, key);
        if (value === 0 && id === PropertyId.MaximumPacketSize) throw protocolError('Maximum Packet Size 0');
        size += 5;
        break;
      case 'varint': {
        const ids = value as number[];
        if (scope !== 3 && ids.length > 1) throw protocolError('more than one Subscription Identifier');
        for (const v of ids) {
          checkUint(v, 268_435_455, key);
          if (v === 0) throw protocolError('Subscription Identifier 0');
          size += 1 + varintSize(v);
        }
        break;
      }
      case 'utf8':
        // [MQTT-3.3.2-14] the Response Topic is a Topic Name
        if (id === PropertyId.ResponseTopic && hasWildcard(value as string)) {
          throw new MqttProtocolError(ReasonCode.TopicNameInvalid, 'wildcard in Response Topic', 'MQTT-3.3.2-14');
        }
        size += 1 + stringSize(value as string, key);
        break;
      case 'binary':
        size += 1 + binarySize(value as Buffer, key);
        break;
      default:
        for (const pair of value as UserProperty[]) {
          size += 1 + stringSize(pair[0], 'user property name') + stringSize(pair[1], 'user property value');
        }
    }
  }
  if (props.authenticationData !== undefined && props.authenticationMethod === undefined) {
    throw protocolError('Authentication Data without Authentication Method');
  }
  return size;
}

/** Writes the length prefix and the block; `size` is what propertiesSize returned. */
export function writeProperties(w: Writer, props: Properties | undefined, size: number): void {
  w.varint(size);
  if (props === undefined || size === 0) return;
  for (const key in props) {
    const value = props[key as Key];
    if (value === undefined) continue;
    const id = propertyIdByName[key as Key];
    switch (propertyById[id]!.type) {
      case 'byte':
        w.u8(id);
        w.u8(value as number);
        break;
      case 'two-byte':
        w.u8(id);
        w.u16(value as number);
        break;
      case 'four-byte':
        w.u8(id);
        w.u32(value as number);
        break;
      case 'varint':
        for (const v of value as number[]) {
          w.u8(id);
          w.varint(v);
        }
        break;
      case 'utf8':
        w.u8(id);
        w.utf8(value as string);
        break;
      case 'binary':
        w.u8(id);
        w.binary(value as Buffer);
        break;
      default:
        for (const pair of value as UserProperty[]) {
          w.u8(id);
          w.utf8(pair[0]);
          w.utf8(pair[1]);
        }
    }
  }
}
