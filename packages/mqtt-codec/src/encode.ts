/**
 * `serialize` and `packetSize`: the exact size is computed (and everything validated) first,
 * then the packet is written into one buffer of exactly that size.
 */
import { measureConnack, measureConnect, writeConnack, writeConnect } from './encode-connect.js';
import { allocFrame } from './frame-alloc.js';
import { measurePublish, publishFirstByte, writePublish } from './encode-publish.js';
import { MqttProtocolError, malformed, protocolError } from './errors.js';
import type {
  AckPacket,
  AuthPacket,
  DisconnectPacket,
  Packet,
  Properties,
  ProtocolVersion,
  SubackPacket,
  SubscribePacket,
  UnsubackPacket,
  UnsubscribePacket,
} from './packets.js';
import { propertiesSize, writeProperties } from './properties-encode.js';
import {
  ackReasonCodes,
  ackRules,
  authReasonCodes,
  disconnectReasonCodes,
  subackReasonCodes,
  subackReturnCodesV4,
  unsubackReasonCodes,
} from './reason-code-sets.js';
import { ReasonCode } from './reason-codes.js';
import { checkCode, checkPacketId, checkQoS, checkRemaining, stringSize } from './measure.js';
import { type Writer, varintSize, writer } from './writer.js';

/** Property block size of the packet measured last (read by its write function). */
let props = 0;

function checkVersion(v: ProtocolVersion): void {
  if (v !== 3 && v !== 4 && v !== 5) throw new MqttProtocolError(ReasonCode.UnsupportedProtocolVersion, `protocol level ${v}`);
}

/** Remaining Length of `p`; throws MqttProtocolError for anything that may not be written. */
function measure(p: Packet, v: ProtocolVersion): number {
  switch (p.type) {
    case 1:
      return measureConnect(p, v);
    case 2:
      return measureConnack(p, v);
    case 3:
      return measurePublish(p, v);
    case 4:
    case 5:
    case 6:
    case 7:
      return measureAck(p, v);
    case 8:
      return measureSubscribe(p, v);
    case 9:
      return measureSuback(p, v);
    case 10:
      return measureUnsubscribe(p, v);
    case 11:
      return measureUnsuback(p, v);
    case 12:
    case 13:
      return 0;
    case 14:
      return measureReasoned(p, v, disconnectReasonCodes, 'MQTT-3.14.2-1');
    case 15:
      if (v !== 5) throw protocolError('AUTH exists only in MQTT 5.0');
      return measureReasoned(p, v, authReasonCodes, 'MQTT-3.15.2-1');
    default:
      throw malformed(`unknown packet type ${(p as { type: unknown }).type}`);
  }
}

function writeBody(w: Writer, p: Packet, v: ProtocolVersion): void {
  switch (p.type) {
    case 1:
      writeConnect(w, p, v);
      return;
    case 2:
      writeConnack(w, p, v);
      return;
    case 3:
      writePublish(w, p, v);
      return;
    case 4:
    case 5:
    case 6:
    case 7:
      writeAck(w, p, v);
      return;
    case 8:
      writeSubscribe(w, p, v);
      return;
    case 9:
    case 11:
      writeCodes(w, p, v);
      return;
    case 10:
      writeUnsubscribe(w, p, v);
      return;
    case 14:
    case 15:
      writeReasoned(w, p, v);
      return;
  }
}

function firstByte(p: Packet): number {
  if (p.type === 3) return publishFirstByte(p);
  // [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1]: PUBREL, SUBSCRIBE, UNSUBSCRIBE carry 0b0010
  return (p.type << 4) | (p.type === 6 || p.type === 8 || p.type === 10 ? 2 : 0);
}

/** Total encoded size in bytes (fixed header included); validates like serialize. */
export function packetSize(packet: Packet, protocolVersion: ProtocolVersion): number {
  checkVersion(protocolVersion);
  const remaining = measure(packet, protocolVersion);
  checkRemaining(remaining);
  return 1 + varintSize(remaining) + remaining;
}

/** Serializes `packet` for `protocolVersion` into one buffer of exactly its size. */
export function serialize(packet: Packet, protocolVersion: ProtocolVersion): Buffer {
  checkVersion(protocolVersion);
  const remaining = measure(packet, protocolVersion);
  checkRemaining(remaining);
  const total = 1 + varintSize(remaining) + remaining;
  const w = writer;
  w.begin(allocFrame(total), 0);
  w.u8(firstByte(packet));
  w.varint(remaining);
  writeBody(w, packet, protocolVersion);
  const pos = w.pos;
  const out = w.finish();
  if (pos !== total) {
    throw new MqttProtocolError(ReasonCode.ImplementationSpecificError, `serializer wrote ${pos} of ${total} bytes`);
  }
  return out;
}

function measureAck(p: AckPacket, v: ProtocolVersion): number {
  checkPacketId(p.packetId);
  if (v !== 5) return 2;
  const code = p.reasonCode ?? 0;
  checkCode(ackReasonCodes(p.type), code, 'reason code', ackRules[p.type]);
  // spec 3.4.2.1: Success without properties is the 2-byte short form
  return 2 + codeAndPropertiesSize(code, p.properties, p.type);
}

function writeAck(w: Writer, p: AckPacket, v: ProtocolVersion): void {
  w.u16(p.packetId);
  if (v === 5) writeCodeAndProperties(w, p.reasonCode ?? 0, p.properties);
}

/**
 * 5.0 acks, DISCONNECT and AUTH end with a reason code and a property block: the block is left out
 * when empty, and then the code too when it is Success (0). Sets `props`.
 */
function codeAndPropertiesSize(code: number, properties: Properties | undefined, scope: number): number {
  props = propertiesSize(properties, scope);
  if (props > 0) return 1 + varintSize(props) + props;
  return code === 0 ? 0 : 1;
}

function writeCodeAndProperties(w: Writer, code: number, properties: Properties | undefined): void {
  if (props > 0) {
    w.u8(code);
    writeProperties(w, properties, props);
  } else if (code !== 0) w.u8(code);
}

/** 5.0: the property block with its length prefix (sets `props`); 3.1.1: nothing. */
function propertyBlockSize(properties: Properties | undefined, scope: number, v: ProtocolVersion): number {
  if (v !== 5) return 0;
  props = propertiesSize(properties, scope);
  return varintSize(props) + props;
}

function measureSubscribe(p: SubscribePacket, v: ProtocolVersion): number {
  checkPacketId(p.packetId);
  // [MQTT-3.8.3-2] (5.0) / [MQTT-3.8.3-3] (3.1.1)
  if (p.subscriptions.length === 0) throw protocolError('SUBSCRIBE without subscriptions', 'MQTT-3.8.3-2');
  let size = 2 + propertyBlockSize(p.properties, 8, v);
  for (const s of p.subscriptions) {
    checkQoS(s.qos, 'subscription');
    if (v === 5) {
      if (s.retainHandling !== 0 && s.retainHandling !== 1 && s.retainHandling !== 2) {
        throw protocolError(`Retain Handling ${s.retainHandling}`);
      }
      // [MQTT-3.8.3-4]
      if (s.noLocal && s.topicFilter.startsWith('$share/')) throw protocolError('No Local on a shared subscription', 'MQTT-3.8.3-4');
    }
    size += stringSize(s.topicFilter, 'topic filter') + 1;
  }
  return size;
}

function writeSubscribe(w: Writer, p: SubscribePacket, v: ProtocolVersion): void {
  w.u16(p.packetId);
  if (v === 5) writeProperties(w, p.properties, props);
  for (const s of p.subscriptions) {
    w.utf8(s.topicFilter);
    if (v === 5) {
      w.u8(s.qos | (s.noLocal ? 4 : 0) | (s.retainAsPublished ? 8 : 0) | (s.retainHandling << 4));
    } else w.u8(s.qos);
  }
}

function measureSuback(p: SubackPacket, v: ProtocolVersion): number {
  checkPacketId(p.packetId);
  if (p.reasonCodes.length === 0) throw protocolError('SUBACK without reason codes');
  const table = v === 5 ? subackReasonCodes : subackReturnCodesV4;
  for (const c of p.reasonCodes) checkCode(table, c, 'SUBACK code', 'MQTT-3.9.3-1');
  return 2 + p.reasonCodes.length + propertyBlockSize(p.properties, 9, v);
}

function measureUnsuback(p: UnsubackPacket, v: ProtocolVersion): number {
  checkPacketId(p.packetId);
  if (v !== 5) return 2;
  if (p.reasonCodes.length === 0) throw protocolError('UNSUBACK without reason codes');
  for (const c of p.reasonCodes) checkCode(unsubackReasonCodes, c, 'UNSUBACK code', 'MQTT-3.11.3-1');
  return 2 + propertyBlockSize(p.properties, 11, v) + p.reasonCodes.length;
}

function writeCodes(w: Writer, p: SubackPacket | UnsubackPacket, v: ProtocolVersion): void {
  w.u16(p.packetId);
  if (v === 5) writeProperties(w, p.properties, props);
  if (v === 5 || p.type === 9) for (const c of p.reasonCodes) w.u8(c);
}

function measureUnsubscribe(p: UnsubscribePacket, v: ProtocolVersion): number {
  checkPacketId(p.packetId);
  // [MQTT-3.10.3-2]
  if (p.topicFilters.length === 0) throw protocolError('UNSUBSCRIBE without topic filters', 'MQTT-3.10.3-2');
  let size = 2 + propertyBlockSize(p.properties, 10, v);
  for (const f of p.topicFilters) size += stringSize(f, 'topic filter');
  return size;
}

function writeUnsubscribe(w: Writer, p: UnsubscribePacket, v: ProtocolVersion): void {
  w.u16(p.packetId);
  if (v === 5) writeProperties(w, p.properties, props);
  for (const f of p.topicFilters) w.utf8(f);
}

/** DISCONNECT and AUTH: reason code and properties, both omitted when Success and empty. */
function measureReasoned(p: DisconnectPacket | AuthPacket, v: ProtocolVersion, table: Uint8Array, rule: string): number {
  if (v !== 5) return 0;
  const code = p.reasonCode ?? 0;
  checkCode(table, code, 'reason code', rule);
  return codeAndPropertiesSize(code, p.properties, p.type);
}

function writeReasoned(w: Writer, p: DisconnectPacket | AuthPacket, v: ProtocolVersion): void {
  if (v === 5) writeCodeAndProperties(w, p.reasonCode ?? 0, p.properties);
}
