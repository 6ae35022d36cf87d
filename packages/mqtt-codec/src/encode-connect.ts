/**
 * CONNECT and CONNACK serialization. `measure*` validates and returns the Remaining Length,
 * keeping the property block sizes it computed for the `write*` call that immediately follows.
 */
import { protocolError } from './errors.js';
import type { ConnackPacket, ConnectPacket, ProtocolVersion } from './packets.js';
import { propertiesSize, writeProperties } from './properties-encode.js';
import { connackReasonCodes } from './reason-code-sets.js';
import { binarySize, checkCode, checkQoS, checkUint, stringSize, topicSize } from './measure.js';
import { type Writer, varintSize } from './writer.js';

let connectProps = 0;
let willProps = 0;

export function measureConnect(p: ConnectPacket, v: ProtocolVersion): number {
  if (p.protocolVersion !== undefined && p.protocolVersion !== v) {
    throw protocolError(`CONNECT protocolVersion ${p.protocolVersion} serialized as level ${v}`);
  }
  const name = v === 3 ? 'MQIsdp' : 'MQTT';
  // [MQTT-3.1.2-1] the protocol name goes with the level
  if (p.protocolName !== undefined && p.protocolName !== name) {
    throw protocolError(`protocol name '${p.protocolName}' for level ${v}`, 'MQTT-3.1.2-1');
  }
  checkUint(p.keepAlive, 65_535, 'keepAlive');
  let size = 2 + name.length + 1 + 1 + 2;
  if (v === 5) {
    connectProps = propertiesSize(p.properties, 1);
    size += varintSize(connectProps) + connectProps;
  }
  size += stringSize(p.clientId, 'clientId');
  const will = p.will;
  if (will !== undefined) {
    checkQoS(will.qos, 'will');
    if (v === 5) {
      willProps = propertiesSize(will.properties, 0);
      size += varintSize(willProps) + willProps;
    }
    size += topicSize(will.topic, false, 'will topic') + binarySize(will.payload, 'will payload');
  }
  if (p.username !== undefined) size += stringSize(p.username, 'username');
  if (p.password !== undefined) {
    // [MQTT-3.1.2-22] (3.1.1) a password needs a user name
    if (v !== 5 && p.username === undefined) throw protocolError('password without username', 'MQTT-3.1.2-22');
    size += binarySize(p.password, 'password');
  }
  return size;
}

export function writeConnect(w: Writer, p: ConnectPacket, v: ProtocolVersion): void {
  w.utf8(v === 3 ? 'MQIsdp' : 'MQTT');
  w.u8(v);
  const will = p.will;
  let flags = p.clean ? 0x02 : 0;
  if (will !== undefined) flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  if (p.password !== undefined) flags |= 0x40;
  if (p.username !== undefined) flags |= 0x80;
  w.u8(flags);
  w.u16(p.keepAlive);
  if (v === 5) writeProperties(w, p.properties, connectProps);
  w.utf8(p.clientId);
  if (will !== undefined) {
    if (v === 5) writeProperties(w, will.properties, willProps);
    w.utf8(will.topic);
    w.binary(will.payload);
  }
  if (p.username !== undefined) w.utf8(p.username);
  if (p.password !== undefined) w.binary(p.password);
}

let connackProps = 0;

export function measureConnack(p: ConnackPacket, v: ProtocolVersion): number {
  if (v === 5) checkCode(connackReasonCodes, p.reasonCode, 'CONNACK reason code', 'MQTT-3.2.2-8');
  else checkUint(p.reasonCode, 5, 'CONNACK return code');
  // [MQTT-3.2.2-6] (5.0) / [MQTT-3.2.2-4] (3.1.1)
  if (p.sessionPresent && p.reasonCode !== 0) throw protocolError('Session Present on a refused CONNACK', 'MQTT-3.2.2-6');
  if (v !== 5) return 2;
  connackProps = propertiesSize(p.properties, 2);
  return 2 + varintSize(connackProps) + connackProps;
}

export function writeConnack(w: Writer, p: ConnackPacket, v: ProtocolVersion): void {
  w.u8(p.sessionPresent ? 1 : 0);
  w.u8(p.reasonCode);
  if (v === 5) writeProperties(w, p.properties, connackProps);
}
