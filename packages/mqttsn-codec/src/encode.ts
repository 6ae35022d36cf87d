/**
 * Encodes one MQTT-SN message into a datagram of its exact size. The one-octet Length is used
 * up to 255 octets, the three-octet form (0x01, uint16) above (5.2.1). The Encapsulated
 * message's Length covers its own header only; the inner message is appended as given.
 */
import { Flag } from './decode.js';
import { type SnPacket, type SnQoS, type SnTopicRef, SnType, TopicIdType } from './packets.js';

const MAX_DATAGRAM = 0xffff;

function qosBits(qos: SnQoS): number {
  return (qos === -1 ? 3 : qos) << 5;
}

/** Length of the variable part, and a writer for it at an offset. */
type Body = [size: number, write: (b: Buffer, at: number) => void];

const none: Body = [0, () => {}];

function byte(v: number): Body {
  return [1, (b, at) => b.writeUInt8(v, at)];
}

function bytesOf(...parts: Array<number | Buffer | [u16: number]>): Body {
  let size = 0;
  for (const part of parts) size += typeof part === 'number' ? 1 : Array.isArray(part) ? 2 : part.length;
  return [
    size,
    (b, at) => {
      for (const part of parts) {
        if (typeof part === 'number') b[at++] = part;
        else if (Array.isArray(part)) at = b.writeUInt16BE(part[0], at);
        else at += part.copy(b, at);
      }
    },
  ];
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

function topicField(t: SnTopicRef): Buffer | [number] {
  if (t.topicIdType === TopicIdType.PREDEFINED) return [t.topicId];
  return t.topicIdType === TopicIdType.SHORT ? Buffer.from(t.topicName, 'latin1') : utf8(t.topicName);
}

function bodyOf(p: SnPacket): Body {
  switch (p.type) {
    case SnType.ADVERTISE:
      return bytesOf(p.gwId, [p.duration]);
    case SnType.SEARCHGW:
      return byte(p.radius);
    case SnType.GWINFO:
      return p.gwAddress === undefined ? byte(p.gwId) : bytesOf(p.gwId, p.gwAddress);
    case SnType.CONNECT:
      return bytesOf((p.will ? Flag.WILL : 0) | (p.cleanSession ? Flag.CLEAN_SESSION : 0), p.protocolId, [p.duration], utf8(p.clientId));
    case SnType.CONNACK:
    case SnType.WILLTOPICRESP:
    case SnType.WILLMSGRESP:
      return byte(p.returnCode);
    case SnType.WILLTOPICREQ:
    case SnType.WILLMSGREQ:
    case SnType.PINGRESP:
      return none;
    case SnType.WILLTOPIC:
    case SnType.WILLTOPICUPD:
      return p.topic === undefined ? none : bytesOf(qosBits(p.qos) | (p.retain ? Flag.RETAIN : 0), utf8(p.topic));
    case SnType.WILLMSG:
    case SnType.WILLMSGUPD:
      return bytesOf(p.message);
    case SnType.REGISTER:
      return bytesOf([p.topicId], [p.msgId], utf8(p.topicName));
    case SnType.REGACK:
    case SnType.PUBACK:
      return bytesOf([p.topicId], [p.msgId], p.returnCode);
    case SnType.PUBLISH: {
      const flags = (p.dup ? Flag.DUP : 0) | qosBits(p.qos) | (p.retain ? Flag.RETAIN : 0) | p.topicIdType;
      const data = p.data;
      return [
        5 + data.length,
        (b, at) => {
          b[at] = flags;
          b.writeUInt16BE(p.topicId, at + 1);
          b.writeUInt16BE(p.msgId, at + 3);
          data.copy(b, at + 5);
        },
      ];
    }
    case SnType.PUBCOMP:
    case SnType.PUBREC:
    case SnType.PUBREL:
    case SnType.UNSUBACK:
      return bytesOf([p.msgId]);
    case SnType.SUBSCRIBE:
      return bytesOf((p.dup ? Flag.DUP : 0) | qosBits(p.qos) | p.topicIdType, [p.msgId], topicField(p));
    case SnType.SUBACK:
      return bytesOf(qosBits(p.qos), [p.topicId], [p.msgId], p.returnCode);
    case SnType.UNSUBSCRIBE:
      return bytesOf(p.topicIdType, [p.msgId], topicField(p));
    case SnType.PINGREQ:
      return p.clientId === undefined ? none : bytesOf(utf8(p.clientId));
    case SnType.DISCONNECT:
      return p.duration === undefined ? none : bytesOf([p.duration]);
    case SnType.ENCAPSULATED:
      return bytesOf(p.radius & 0x03, p.wirelessNodeId);
  }
}

export function encodeSn(packet: SnPacket): Buffer {
  const [size, write] = bodyOf(packet);
  const short = size + 2 <= 255;
  const length = short ? size + 2 : size + 4;
  if (length > MAX_DATAGRAM) throw new RangeError(`MQTT-SN message of ${length} octets exceeds 65535`);
  const inner = packet.type === SnType.ENCAPSULATED ? packet.message : undefined;
  const out = Buffer.allocUnsafe(length + (inner?.length ?? 0));
  let at = 0;
  if (short) out[at++] = length;
  else {
    out[at++] = 0x01;
    at = out.writeUInt16BE(length, at);
  }
  out[at++] = packet.type;
  write(out, at);
  inner?.copy(out, length);
  return out;
}

/** Wraps an encoded message for a wireless node behind a forwarder (5.5). */
export function encapsulate(message: Buffer, wirelessNodeId: Buffer, radius = 0): Buffer {
  return encodeSn({ type: SnType.ENCAPSULATED, radius, wirelessNodeId, message });
}
