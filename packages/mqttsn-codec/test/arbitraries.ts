import fc from 'fast-check';
import { type SnPacket, SnType } from '../src/index.js';

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const qos = fc.constantFrom<0 | 1 | 2>(0, 1, 2);
const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));
const name = (minLength: number) => fc.string({ unit: 'grapheme', minLength, maxLength: 40 });
const shortName = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 2, maxLength: 2 });
const topicRef = fc.oneof(
  name(1).map((topicName) => ({ topicIdType: 0 as const, topicName })),
  u16.map((topicId) => ({ topicIdType: 1 as const, topicId })),
  shortName.map((topicName) => ({ topicIdType: 2 as const, topicName })),
);
const willTopic = <T extends typeof SnType.WILLTOPIC | typeof SnType.WILLTOPICUPD>(type: T) =>
  fc.oneof(
    fc.constant({ type, topic: undefined, qos: 0 as const, retain: false }),
    fc.record({ type: fc.constant(type), topic: name(1), qos, retain: fc.boolean() }),
  );

/** Every message the codec knows, with every field over its whole range (payloads up to 600 octets: both Length forms). */
export const snPacketArb: fc.Arbitrary<SnPacket> = fc.oneof(
  fc.record({ type: fc.constant(SnType.ADVERTISE), gwId: u8, duration: u16 }),
  fc.record({ type: fc.constant(SnType.SEARCHGW), radius: u8 }),
  fc.record({ type: fc.constant(SnType.GWINFO), gwId: u8 }),
  fc.record({ type: fc.constant(SnType.GWINFO), gwId: u8, gwAddress: bytes(16).filter((b) => b.length > 0) }),
  fc.record({ type: fc.constant(SnType.CONNECT), will: fc.boolean(), cleanSession: fc.boolean(), protocolId: u8, duration: u16, clientId: name(1) }),
  ...[SnType.CONNACK, SnType.WILLTOPICRESP, SnType.WILLMSGRESP].map((t) => fc.record({ type: fc.constant(t), returnCode: u8 })),
  ...[SnType.WILLTOPICREQ, SnType.WILLMSGREQ, SnType.PINGRESP].map((t) => fc.record({ type: fc.constant(t) })),
  willTopic(SnType.WILLTOPIC),
  willTopic(SnType.WILLTOPICUPD),
  ...[SnType.WILLMSG, SnType.WILLMSGUPD].map((t) => fc.record({ type: fc.constant(t), message: bytes(600) })),
  fc.record({ type: fc.constant(SnType.REGISTER), topicId: u16, msgId: u16, topicName: name(1) }),
  ...[SnType.REGACK, SnType.PUBACK].map((t) => fc.record({ type: fc.constant(t), topicId: u16, msgId: u16, returnCode: u8 })),
  fc.record({
    type: fc.constant(SnType.PUBLISH),
    dup: fc.boolean(),
    qos: fc.constantFrom<-1 | 0 | 1 | 2>(-1, 0, 1, 2),
    retain: fc.boolean(),
    topicIdType: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
    topicId: u16,
    msgId: u16,
    data: bytes(600),
  }),
  ...[SnType.PUBCOMP, SnType.PUBREC, SnType.PUBREL, SnType.UNSUBACK].map((t) => fc.record({ type: fc.constant(t), msgId: u16 })),
  fc
    .tuple(fc.record({ type: fc.constant(SnType.SUBSCRIBE), dup: fc.boolean(), qos, msgId: u16 }), topicRef)
    .map(([head, ref]) => ({ ...head, ...ref })),
  fc.record({ type: fc.constant(SnType.SUBACK), qos, topicId: u16, msgId: u16, returnCode: u8 }),
  fc.tuple(fc.record({ type: fc.constant(SnType.UNSUBSCRIBE), msgId: u16 }), topicRef).map(([head, ref]) => ({ ...head, ...ref })),
  fc.record({ type: fc.constant(SnType.PINGREQ) }),
  fc.record({ type: fc.constant(SnType.PINGREQ), clientId: name(1) }),
  fc.record({ type: fc.constant(SnType.DISCONNECT) }),
  fc.record({ type: fc.constant(SnType.DISCONNECT), duration: u16 }),
) as fc.Arbitrary<SnPacket>;
