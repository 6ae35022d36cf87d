/**
 * Golden datagrams: every MQTT-SN 1.2 message type, both Length forms and every flag, written
 * out by hand from the message layouts of the specification (sections 5.2-5.5), not produced
 * by this codec. `packet` is exactly what decodeSn returns for `bytes`, and `bytes` exactly what
 * encodeSn returns for `packet`.
 */
import { type SnPacket, SnType } from '../packets.js';

export interface SnFixture {
  readonly name: string;
  /** Spec section of the layout. */
  readonly section: string;
  readonly packet: SnPacket;
  readonly bytes: Buffer;
}

const hex = (s: string): Buffer => Buffer.from(s.replaceAll(' ', ''), 'hex');
const text = (s: string): Buffer => Buffer.from(s);
const LONG_DATA = Buffer.alloc(300, 0x41);

export const snFixtures: readonly SnFixture[] = [
  { name: 'ADVERTISE gw 1, 900 s', section: '5.4.2', packet: { type: SnType.ADVERTISE, gwId: 1, duration: 900 }, bytes: hex('05 00 01 0384') },
  { name: 'SEARCHGW radius 0', section: '5.4.3', packet: { type: SnType.SEARCHGW, radius: 0 }, bytes: hex('03 01 00') },
  { name: 'GWINFO from a gateway', section: '5.4.4', packet: { type: SnType.GWINFO, gwId: 1 }, bytes: hex('03 02 01') },
  {
    name: 'GWINFO from a client, with GwAdd',
    section: '5.4.4',
    packet: { type: SnType.GWINFO, gwId: 1, gwAddress: hex('7f000001') },
    bytes: hex('07 02 01 7f000001'),
  },
  {
    name: 'CONNECT will + clean session, 60 s',
    section: '5.4.5',
    packet: { type: SnType.CONNECT, will: true, cleanSession: true, protocolId: 1, duration: 60, clientId: 'sensor-1' },
    bytes: hex('0e 04 0c 01 003c 73656e736f722d31'),
  },
  {
    name: 'CONNECT no flags, keep alive 0',
    section: '5.4.5',
    packet: { type: SnType.CONNECT, will: false, cleanSession: false, protocolId: 1, duration: 0, clientId: 'c' },
    bytes: hex('07 04 00 01 0000 63'),
  },
  { name: 'CONNACK accepted', section: '5.4.6', packet: { type: SnType.CONNACK, returnCode: 0 }, bytes: hex('03 05 00') },
  { name: 'CONNACK rejected: congestion', section: '5.4.6', packet: { type: SnType.CONNACK, returnCode: 1 }, bytes: hex('03 05 01') },
  { name: 'WILLTOPICREQ', section: '5.4.7', packet: { type: SnType.WILLTOPICREQ }, bytes: hex('02 06') },
  {
    name: 'WILLTOPIC QoS 1 retain',
    section: '5.4.8',
    packet: { type: SnType.WILLTOPIC, topic: 'will/t', qos: 1, retain: true },
    bytes: hex('09 07 30 77696c6c2f74'),
  },
  { name: 'WILLTOPIC empty', section: '5.4.8', packet: { type: SnType.WILLTOPIC, topic: undefined, qos: 0, retain: false }, bytes: hex('02 07') },
  { name: 'WILLMSGREQ', section: '5.4.9', packet: { type: SnType.WILLMSGREQ }, bytes: hex('02 08') },
  { name: 'WILLMSG', section: '5.4.10', packet: { type: SnType.WILLMSG, message: text('bye') }, bytes: hex('05 09 627965') },
  {
    name: 'REGISTER from a client',
    section: '5.4.11',
    packet: { type: SnType.REGISTER, topicId: 0, msgId: 1, topicName: 'a/b' },
    bytes: hex('09 0a 0000 0001 612f62'),
  },
  { name: 'REGACK accepted', section: '5.4.12', packet: { type: SnType.REGACK, topicId: 1, msgId: 1, returnCode: 0 }, bytes: hex('07 0b 0001 0001 00') },
  {
    name: 'REGACK rejected: invalid topic ID',
    section: '5.4.12',
    packet: { type: SnType.REGACK, topicId: 0, msgId: 2, returnCode: 2 },
    bytes: hex('07 0b 0000 0002 02'),
  },
  {
    name: 'PUBLISH QoS 0, normal topic id',
    section: '5.4.13',
    packet: { type: SnType.PUBLISH, dup: false, qos: 0, retain: false, topicIdType: 0, topicId: 1, msgId: 0, data: text('21.5') },
    bytes: hex('0b 0c 00 0001 0000 32312e35'),
  },
  {
    name: 'PUBLISH QoS 1 DUP retain, predefined id',
    section: '5.4.13',
    packet: { type: SnType.PUBLISH, dup: true, qos: 1, retain: true, topicIdType: 1, topicId: 5, msgId: 0x1234, data: text('x') },
    bytes: hex('08 0c b1 0005 1234 78'),
  },
  {
    name: 'PUBLISH QoS 2, short topic "ab", empty data',
    section: '5.4.13',
    packet: { type: SnType.PUBLISH, dup: false, qos: 2, retain: false, topicIdType: 2, topicId: 0x6162, msgId: 7, data: Buffer.alloc(0) },
    bytes: hex('07 0c 42 6162 0007'),
  },
  {
    name: 'PUBLISH QoS -1, predefined id',
    section: '5.4.13 / 6.8',
    packet: { type: SnType.PUBLISH, dup: false, qos: -1, retain: false, topicIdType: 1, topicId: 1, msgId: 0, data: text('hi') },
    bytes: hex('09 0c 61 0001 0000 6869'),
  },
  {
    name: 'PUBLISH of 309 octets: three-octet Length',
    section: '5.2.1',
    packet: { type: SnType.PUBLISH, dup: false, qos: 0, retain: false, topicIdType: 0, topicId: 1, msgId: 0, data: LONG_DATA },
    bytes: Buffer.concat([hex('01 0135 0c 00 0001 0000'), LONG_DATA]),
  },
  { name: 'PUBACK accepted', section: '5.4.14', packet: { type: SnType.PUBACK, topicId: 1, msgId: 1, returnCode: 0 }, bytes: hex('07 0d 0001 0001 00') },
  {
    name: 'PUBACK rejected: invalid topic ID',
    section: '5.4.14',
    packet: { type: SnType.PUBACK, topicId: 9, msgId: 3, returnCode: 2 },
    bytes: hex('07 0d 0009 0003 02'),
  },
  { name: 'PUBCOMP', section: '5.4.15', packet: { type: SnType.PUBCOMP, msgId: 1 }, bytes: hex('04 0e 0001') },
  { name: 'PUBREC', section: '5.4.15', packet: { type: SnType.PUBREC, msgId: 1 }, bytes: hex('04 0f 0001') },
  { name: 'PUBREL', section: '5.4.15', packet: { type: SnType.PUBREL, msgId: 0xffff }, bytes: hex('04 10 ffff') },
  {
    name: 'SUBSCRIBE QoS 1 by name with a wildcard',
    section: '5.4.16',
    packet: { type: SnType.SUBSCRIBE, dup: false, qos: 1, msgId: 1, topicIdType: 0, topicName: 'a/+' },
    bytes: hex('08 12 20 0001 612f2b'),
  },
  {
    name: 'SUBSCRIBE QoS 0 DUP, predefined id',
    section: '5.4.16',
    packet: { type: SnType.SUBSCRIBE, dup: true, qos: 0, msgId: 2, topicIdType: 1, topicId: 5 },
    bytes: hex('07 12 81 0002 0005'),
  },
  {
    name: 'SUBSCRIBE QoS 2, short topic name',
    section: '5.4.16',
    packet: { type: SnType.SUBSCRIBE, dup: false, qos: 2, msgId: 3, topicIdType: 2, topicName: 'ab' },
    bytes: hex('07 12 42 0003 6162'),
  },
  {
    name: 'SUBACK QoS 1, wildcard (topic id 0)',
    section: '5.4.17',
    packet: { type: SnType.SUBACK, qos: 1, topicId: 0, msgId: 1, returnCode: 0 },
    bytes: hex('08 13 20 0000 0001 00'),
  },
  {
    name: 'UNSUBSCRIBE by name',
    section: '5.4.18',
    packet: { type: SnType.UNSUBSCRIBE, msgId: 4, topicIdType: 0, topicName: 'a/+' },
    bytes: hex('08 14 00 0004 612f2b'),
  },
  {
    name: 'UNSUBSCRIBE predefined id',
    section: '5.4.18',
    packet: { type: SnType.UNSUBSCRIBE, msgId: 5, topicIdType: 1, topicId: 5 },
    bytes: hex('07 14 01 0005 0005'),
  },
  { name: 'UNSUBACK', section: '5.4.19', packet: { type: SnType.UNSUBACK, msgId: 4 }, bytes: hex('04 15 0004') },
  { name: 'PINGREQ', section: '5.4.20', packet: { type: SnType.PINGREQ }, bytes: hex('02 16') },
  { name: 'PINGREQ of a waking client', section: '5.4.20', packet: { type: SnType.PINGREQ, clientId: 'c1' }, bytes: hex('04 16 6331') },
  { name: 'PINGRESP', section: '5.4.21', packet: { type: SnType.PINGRESP }, bytes: hex('02 17') },
  { name: 'DISCONNECT', section: '5.4.22', packet: { type: SnType.DISCONNECT }, bytes: hex('02 18') },
  { name: 'DISCONNECT asleep 300 s', section: '5.4.22', packet: { type: SnType.DISCONNECT, duration: 300 }, bytes: hex('04 18 012c') },
  {
    name: 'WILLTOPICUPD QoS 2',
    section: '5.4.23',
    packet: { type: SnType.WILLTOPICUPD, topic: 'w', qos: 2, retain: false },
    bytes: hex('04 1a 40 77'),
  },
  {
    name: 'WILLTOPICUPD empty (delete the will)',
    section: '5.4.23',
    packet: { type: SnType.WILLTOPICUPD, topic: undefined, qos: 0, retain: false },
    bytes: hex('02 1a'),
  },
  { name: 'WILLTOPICRESP', section: '5.4.24', packet: { type: SnType.WILLTOPICRESP, returnCode: 0 }, bytes: hex('03 1b 00') },
  { name: 'WILLMSGUPD', section: '5.4.25', packet: { type: SnType.WILLMSGUPD, message: text('x') }, bytes: hex('03 1c 78') },
  { name: 'WILLMSGRESP', section: '5.4.26', packet: { type: SnType.WILLMSGRESP, returnCode: 0 }, bytes: hex('03 1d 00') },
  {
    name: 'Encapsulated PINGREQ, radius 1, node id aabb',
    section: '5.5',
    packet: { type: SnType.ENCAPSULATED, radius: 1, wirelessNodeId: hex('aabb'), message: hex('02 16') },
    bytes: hex('05 fe 01 aabb 02 16'),
  },
];

/** Datagrams the decoder must refuse, with the failure label it must give. */
export const snMalformed: ReadonlyArray<{ name: string; bytes: Buffer; reason: 'bad_length' | 'unknown_type' | 'malformed' }> = [
  { name: 'one octet', bytes: hex('02'), reason: 'bad_length' },
  { name: 'Length larger than the datagram', bytes: hex('05 16'), reason: 'bad_length' },
  { name: 'Length smaller than the datagram', bytes: hex('02 16 00'), reason: 'bad_length' },
  { name: 'three-octet Length cut short', bytes: hex('01 00'), reason: 'bad_length' },
  { name: 'reserved MsgType 0x03', bytes: hex('02 03'), reason: 'unknown_type' },
  { name: 'PUBACK one octet short', bytes: hex('06 0d 0001 0001'), reason: 'bad_length' },
  { name: 'PUBLISH with TopicIdType 0b11', bytes: hex('07 0c 03 0001 0000'), reason: 'malformed' },
  { name: 'CONNECT ClientId not UTF-8', bytes: hex('07 04 00 01 0000 ff'), reason: 'malformed' },
  { name: 'SUBSCRIBE QoS -1', bytes: hex('07 12 60 0001 6162'), reason: 'malformed' },
  { name: 'Encapsulated without an inner message', bytes: hex('05 fe 01 aabb'), reason: 'bad_length' },
];
