/**
 * PUBLISH and its acknowledgements (PUBACK, PUBREC, PUBREL, PUBCOMP).
 *
 * The PUBLISH payload is a view into the input (no copy). Fixed-header flag rules (QoS 3,
 * DUP on QoS 0) were checked by the framer from the first byte, before the body was buffered.
 */
import { MqttProtocolError, protocolError } from './errors.js';
import type { AckPacket, ProtocolVersion, PublishPacket, QoS } from './packets.js';
import { readProperties } from './properties-decode.js';
import type { Reader } from './reader.js';
import { ackReasonCodes, ackRules } from './reason-code-sets.js';
import { ReasonCode } from './reason-codes.js';

export function decodePublish(r: Reader, flags: number, version: ProtocolVersion): PublishPacket {
  const qos = ((flags >> 1) & 3) as QoS;
  const topic = r.utf8();
  // [MQTT-3.3.2-2] no wildcards in a Topic Name
  if (topic.indexOf('+') !== -1 || topic.indexOf('#') !== -1) {
    throw new MqttProtocolError(ReasonCode.TopicNameInvalid, 'wildcard in PUBLISH topic', 'MQTT-3.3.2-2');
  }
  let packet: PublishPacket;
  if (qos === 0) {
    packet = { type: 3, dup: false, qos, retain: (flags & 1) !== 0, topic, payload: EMPTY };
  } else {
    const packetId = r.u16();
    // [MQTT-2.2.1-3] (5.0) / [MQTT-2.3.1-1] (3.1.1): QoS > 0 needs a non-zero Packet Identifier
    if (packetId === 0) throw protocolError('PUBLISH packet identifier 0', 'MQTT-2.2.1-3');
    packet = { type: 3, dup: (flags & 8) !== 0, qos, retain: (flags & 1) !== 0, topic, packetId, payload: EMPTY };
  }
  if (version === 5) {
    const properties = readProperties(r, 3);
    if (properties !== undefined) packet.properties = properties;
    // spec 3.3.2.3.4: a zero-length Topic Name without a Topic Alias is a Protocol Error
    if (topic.length === 0 && properties?.topicAlias === undefined) {
      throw protocolError('empty topic without Topic Alias', 'MQTT-4.7.3-1');
    }
  } else if (topic.length === 0) {
    // [MQTT-4.7.3-1] Topic Names are at least one character long
    throw protocolError('empty PUBLISH topic', 'MQTT-4.7.3-1');
  }
  packet.payload = r.rest();
  return packet;
}

const EMPTY = Buffer.alloc(0);

export function decodeAck(r: Reader, type: 4 | 5 | 6 | 7, version: ProtocolVersion): AckPacket {
  const packetId = r.u16();
  // [MQTT-2.2.1-3]: acks echo a non-zero Packet Identifier
  if (packetId === 0) throw protocolError('packet identifier 0', 'MQTT-2.2.1-3');
  if (version !== 5) return { type, packetId };
  // spec 3.4.2.1: Remaining Length 2 means Success and no properties
  if (r.left === 0) return { type, packetId, reasonCode: 0 };
  const reasonCode = r.u8();
  if (ackReasonCodes(type)[reasonCode] === 0) {
    throw protocolError(`invalid reason code ${reasonCode} for packet type ${type}`, ackRules[type]);
  }
  const packet: AckPacket = { type, packetId, reasonCode };
  // spec 3.4.2.2: Remaining Length 3 means no properties
  if (r.left > 0) {
    const properties = readProperties(r, type);
    if (properties !== undefined) packet.properties = properties;
  }
  return packet;
}
