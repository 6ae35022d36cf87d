/**
 * Decodes one MQTT-SN datagram (5.2): a Length of 1 octet, or 0x01 followed by 2 octets for
 * messages over 255 octets, then MsgType and the variable part. The Length must equal the
 * datagram's size: MQTT-SN has no streaming, a datagram is exactly one message. Every failure is
 * an MqttSnDecodeError; binary fields are views into `datagram` (no copy).
 */
import { isUtf8 } from 'node:buffer';
import { MqttSnDecodeError } from './errors.js';
import { type SnPacket, type SnQoS, type SnTopicRef, SnType, TopicIdType, type TopicIdTypeCode } from './packets.js';

const QOS_FROM_BITS: readonly SnQoS[] = [0, 1, 2, -1];

/** Flags octet (5.3.4). */
export const Flag = {
  DUP: 0x80,
  RETAIN: 0x10,
  WILL: 0x08,
  CLEAN_SESSION: 0x04,
} as const;

export function qosOfFlags(flags: number): SnQoS {
  return QOS_FROM_BITS[(flags >> 5) & 0x03]!;
}

function malformed(message: string): MqttSnDecodeError {
  return new MqttSnDecodeError('malformed', message);
}

function text(buf: Buffer, start: number, end: number, what: string): string {
  const view = buf.subarray(start, end);
  if (!isUtf8(view)) throw malformed(`${what} is not UTF-8`);
  return view.toString('utf8');
}

function topicIdTypeOf(flags: number): TopicIdTypeCode {
  const t = flags & 0x03;
  if (t === 3) throw malformed('reserved TopicIdType 0b11');
  return t as TopicIdTypeCode;
}

function needs(body: number, length: number, what: string): void {
  if (length !== body) throw new MqttSnDecodeError('bad_length', `${what}: variable part of ${length} octets, expected ${body}`);
}

function atLeast(body: number, length: number, what: string): void {
  if (length < body) throw new MqttSnDecodeError('bad_length', `${what}: variable part of ${length} octets, expected at least ${body}`);
}

function topicRef(buf: Buffer, flags: number, at: number, what: string): SnTopicRef {
  const idType = topicIdTypeOf(flags);
  const rest = buf.length - at;
  if (idType === TopicIdType.PREDEFINED) {
    needs(2, rest, what);
    return { topicIdType: idType, topicId: buf.readUInt16BE(at) };
  }
  if (idType === TopicIdType.SHORT) {
    needs(2, rest, what);
    return { topicIdType: idType, topicName: buf.toString('latin1', at, at + 2) };
  }
  atLeast(1, rest, what);
  return { topicIdType: idType, topicName: text(buf, at, buf.length, `${what} topic name`) };
}

/** Offset of MsgType: 1 for the one-octet Length, 3 for the three-octet form. */
export function headerSize(datagram: Buffer): number {
  return datagram[0] === 0x01 ? 3 : 1;
}

export function decodeSn(datagram: Buffer): SnPacket {
  if (datagram.length < 2) throw new MqttSnDecodeError('bad_length', `datagram of ${datagram.length} octets`);
  let length = datagram[0]!;
  let at = 1;
  if (length === 0x01) {
    if (datagram.length < 4) throw new MqttSnDecodeError('bad_length', 'three-octet Length cut short');
    length = datagram.readUInt16BE(1);
    at = 3;
  }
  const type = datagram[at]!;
  const p = at + 1;
  if (type === SnType.ENCAPSULATED) return decodeEncapsulated(datagram, length, p);
  if (length !== datagram.length) throw new MqttSnDecodeError('bad_length', `Length ${length}, datagram of ${datagram.length} octets`);
  const body = datagram.length - p;
  const b = datagram;
  switch (type) {
    case SnType.ADVERTISE:
      needs(3, body, 'ADVERTISE');
      return { type, gwId: b[p]!, duration: b.readUInt16BE(p + 1) };
    case SnType.SEARCHGW:
      needs(1, body, 'SEARCHGW');
      return { type, radius: b[p]! };
    case SnType.GWINFO:
      atLeast(1, body, 'GWINFO');
      return body > 1 ? { type, gwId: b[p]!, gwAddress: b.subarray(p + 1) } : { type, gwId: b[p]! };
    case SnType.CONNECT: {
      atLeast(5, body, 'CONNECT');
      const flags = b[p]!;
      return {
        type,
        will: (flags & Flag.WILL) !== 0,
        cleanSession: (flags & Flag.CLEAN_SESSION) !== 0,
        protocolId: b[p + 1]!,
        duration: b.readUInt16BE(p + 2),
        clientId: text(b, p + 4, b.length, 'ClientId'),
      };
    }
    case SnType.CONNACK:
    case SnType.WILLTOPICRESP:
    case SnType.WILLMSGRESP:
      needs(1, body, 'return code message');
      return { type, returnCode: b[p]! };
    case SnType.WILLTOPICREQ:
    case SnType.WILLMSGREQ:
    case SnType.PINGRESP:
      needs(0, body, 'empty message');
      return { type };
    case SnType.WILLTOPIC:
    case SnType.WILLTOPICUPD: {
      if (body === 0) return { type, topic: undefined, qos: 0, retain: false };
      atLeast(2, body, 'WILLTOPIC');
      const qos = qosOfFlags(b[p]!);
      if (qos === -1) throw malformed('will QoS -1');
      return { type, topic: text(b, p + 1, b.length, 'WillTopic'), qos, retain: (b[p]! & Flag.RETAIN) !== 0 };
    }
    case SnType.WILLMSG:
    case SnType.WILLMSGUPD:
      return { type, message: b.subarray(p) };
    case SnType.REGISTER:
      atLeast(5, body, 'REGISTER');
      return { type, topicId: b.readUInt16BE(p), msgId: b.readUInt16BE(p + 2), topicName: text(b, p + 4, b.length, 'TopicName') };
    case SnType.REGACK:
    case SnType.PUBACK:
      needs(5, body, type === SnType.REGACK ? 'REGACK' : 'PUBACK');
      return { type, topicId: b.readUInt16BE(p), msgId: b.readUInt16BE(p + 2), returnCode: b[p + 4]! };
    case SnType.PUBLISH: {
      atLeast(5, body, 'PUBLISH');
      const flags = b[p]!;
      return {
        type,
        dup: (flags & Flag.DUP) !== 0,
        qos: qosOfFlags(flags),
        retain: (flags & Flag.RETAIN) !== 0,
        topicIdType: topicIdTypeOf(flags),
        topicId: b.readUInt16BE(p + 1),
        msgId: b.readUInt16BE(p + 3),
        data: b.subarray(p + 5),
      };
    }
    case SnType.PUBCOMP:
    case SnType.PUBREC:
    case SnType.PUBREL:
    case SnType.UNSUBACK:
      needs(2, body, 'message id message');
      return { type, msgId: b.readUInt16BE(p) };
    case SnType.SUBSCRIBE: {
      atLeast(4, body, 'SUBSCRIBE');
      const flags = b[p]!;
      const qos = qosOfFlags(flags);
      if (qos === -1) throw malformed('SUBSCRIBE with QoS -1');
      return { type, dup: (flags & Flag.DUP) !== 0, qos, msgId: b.readUInt16BE(p + 1), ...topicRef(b, flags, p + 3, 'SUBSCRIBE') };
    }
    case SnType.SUBACK: {
      needs(6, body, 'SUBACK');
      const qos = qosOfFlags(b[p]!);
      if (qos === -1) throw malformed('SUBACK with QoS -1');
      return { type, qos, topicId: b.readUInt16BE(p + 1), msgId: b.readUInt16BE(p + 3), returnCode: b[p + 5]! };
    }
    case SnType.UNSUBSCRIBE:
      atLeast(4, body, 'UNSUBSCRIBE');
      return { type, msgId: b.readUInt16BE(p + 1), ...topicRef(b, b[p]!, p + 3, 'UNSUBSCRIBE') };
    case SnType.PINGREQ:
      return body === 0 ? { type } : { type, clientId: text(b, p, b.length, 'ClientId') };
    case SnType.DISCONNECT:
      if (body === 0) return { type };
      needs(2, body, 'DISCONNECT');
      return { type, duration: b.readUInt16BE(p) };
    default:
      throw new MqttSnDecodeError('unknown_type', `unknown MsgType 0x${type.toString(16).padStart(2, '0')}`);
  }
}

/**
 * The Encapsulated message (5.5): its Length covers only Length, MsgType, Ctrl and the Wireless
 * Node Id; the inner MQTT-SN message follows it in the same datagram, with its own Length.
 */
function decodeEncapsulated(b: Buffer, length: number, p: number): SnPacket {
  if (length > b.length) throw new MqttSnDecodeError('bad_length', `Encapsulated Length ${length}, datagram of ${b.length} octets`);
  if (length - p < 1) throw new MqttSnDecodeError('bad_length', 'Encapsulated message without Ctrl');
  if (length === b.length) throw new MqttSnDecodeError('bad_length', 'Encapsulated message without an inner message');
  return { type: SnType.ENCAPSULATED, radius: b[p]! & 0x03, wirelessNodeId: b.subarray(p + 1, length), message: b.subarray(length) };
}
