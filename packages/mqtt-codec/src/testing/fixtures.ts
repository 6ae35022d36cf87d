/**
 * Golden byte fixtures: every packet type at every protocol level, with the exact bytes.
 *
 * Entries marked `fromSpec` reproduce the byte examples of the MQTT 3.1.1 and 5.0
 * specifications (the CONNECT variable header example with flags 0xCE and keep alive 10,
 * the PUBLISH variable header example "a/b" / 10, the SUBSCRIBE, SUBACK and UNSUBSCRIBE
 * payload examples, the UTF-8 example "A U+2A6D4", the two-byte PINGREQ/PINGRESP/DISCONNECT);
 * the spec gives only the variable header for CONNECT and PUBLISH, and the payload here
 * completes it. The others were produced by this codec and checked against mqtt-packet 9 as an
 * independent parser. `packet` is exactly what PacketParser returns for `bytes`, and `bytes`
 * exactly what serialize returns for `packet`.
 */
import type { Packet, ProtocolVersion } from '../packets.js';

export interface PacketFixture {
  readonly name: string;
  readonly protocolVersion: ProtocolVersion;
  readonly packet: Packet;
  readonly bytes: Buffer;
  /** True when the bytes are the specification's own example. */
  readonly fromSpec?: boolean;
}

function hex(s: string): Buffer {
  return Buffer.from(s, 'hex');
}

export const packetFixtures: readonly PacketFixture[] = [
  {
    name: "CONNECT minimal (level 3)",
    protocolVersion: 3,
    packet: { type: 1, protocolName: 'MQIsdp', protocolVersion: 3, clean: true, keepAlive: 60, clientId: 'client-1' },
    bytes: hex('101600064d51497364700302003c0008636c69656e742d31'),
  },
  {
    name: "CONNECT will, username, password (level 3)",
    protocolVersion: 3,
    packet: { type: 1, protocolName: 'MQIsdp', protocolVersion: 3, clean: false, keepAlive: 10, clientId: 'c', will: { topic: 'will/t', payload: Buffer.from("bye"), qos: 1, retain: true }, username: 'user', password: Buffer.from("pw") },
    bytes: hex('102600064d514973647003ec000a000163000677696c6c2f74000362796500047573657200027077'),
  },
  {
    name: "CONNACK accepted (level 3)",
    protocolVersion: 3,
    packet: { type: 2, sessionPresent: false, reasonCode: 0 },
    bytes: hex('20020000'),
  },
  {
    name: "CONNACK refused (level 3)",
    protocolVersion: 3,
    packet: { type: 2, sessionPresent: false, reasonCode: 4 },
    bytes: hex('20020004'),
  },
  {
    name: "PUBLISH QoS 0 (level 3)",
    protocolVersion: 3,
    packet: { type: 3, dup: false, qos: 0, retain: false, topic: 'sensors/temp', payload: Buffer.from("21.5") },
    bytes: hex('3012000c73656e736f72732f74656d7032312e35'),
  },
  {
    name: "PUBLISH QoS 1 retain (level 3)",
    protocolVersion: 3,
    packet: { type: 3, dup: false, qos: 1, retain: true, topic: 'a/b', packetId: 1, payload: Buffer.from("hello") },
    bytes: hex('330c0003612f62000168656c6c6f'),
  },
  {
    name: "PUBLISH QoS 2 dup (level 3)",
    protocolVersion: 3,
    packet: { type: 3, dup: true, qos: 2, retain: false, topic: 'a/b', packetId: 65535, payload: Buffer.alloc(0) },
    bytes: hex('3c070003612f62ffff'),
  },
  {
    name: "PUBLISH UTF-8 topic (spec 1.5.4 example A U+2A6D4) (level 3)",
    protocolVersion: 3,
    packet: { type: 3, dup: false, qos: 0, retain: false, topic: 'A\u{2A6D4}', payload: Buffer.from("x") },
    bytes: hex('3008000541f0aa9b9478'),
    fromSpec: true,
  },
  {
    name: "PUBACK (level 3)",
    protocolVersion: 3,
    packet: { type: 4, packetId: 10 },
    bytes: hex('4002000a'),
  },
  {
    name: "PUBREC (level 3)",
    protocolVersion: 3,
    packet: { type: 5, packetId: 10 },
    bytes: hex('5002000a'),
  },
  {
    name: "PUBREL (level 3)",
    protocolVersion: 3,
    packet: { type: 6, packetId: 10 },
    bytes: hex('6202000a'),
  },
  {
    name: "PUBCOMP (level 3)",
    protocolVersion: 3,
    packet: { type: 7, packetId: 10 },
    bytes: hex('7002000a'),
  },
  {
    name: "SUBSCRIBE (spec example a/b QoS 1, c/d QoS 2) (level 3)",
    protocolVersion: 3,
    packet: { type: 8, packetId: 10, subscriptions: [{ topicFilter: 'a/b', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }, { topicFilter: 'c/d', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 }] },
    bytes: hex('820e000a0003612f62010003632f6402'),
    fromSpec: true,
  },
  {
    name: "SUBACK (spec example 0x00, 0x02, 0x80) (level 3)",
    protocolVersion: 3,
    packet: { type: 9, packetId: 10, reasonCodes: [0, 2, 0x80] },
    bytes: hex('9005000a000280'),
    fromSpec: true,
  },
  {
    name: "UNSUBSCRIBE (spec example a/b, c/d) (level 3)",
    protocolVersion: 3,
    packet: { type: 10, packetId: 10, topicFilters: ['a/b', 'c/d'] },
    bytes: hex('a20c000a0003612f620003632f64'),
    fromSpec: true,
  },
  {
    name: "UNSUBACK (level 3)",
    protocolVersion: 3,
    packet: { type: 11, packetId: 10, reasonCodes: [] },
    bytes: hex('b002000a'),
    fromSpec: true,
  },
  {
    name: "PINGREQ (level 3)",
    protocolVersion: 3,
    packet: { type: 12 },
    bytes: hex('c000'),
    fromSpec: true,
  },
  {
    name: "PINGRESP (level 3)",
    protocolVersion: 3,
    packet: { type: 13 },
    bytes: hex('d000'),
    fromSpec: true,
  },
  {
    name: "DISCONNECT (level 3)",
    protocolVersion: 3,
    packet: { type: 14, reasonCode: 0 },
    bytes: hex('e000'),
    fromSpec: true,
  },
  {
    name: "CONNECT minimal (level 4)",
    protocolVersion: 4,
    packet: { type: 1, protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 60, clientId: 'client-1' },
    bytes: hex('101400044d5154540402003c0008636c69656e742d31'),
  },
  {
    name: "CONNECT will, username, password (level 4)",
    protocolVersion: 4,
    packet: { type: 1, protocolName: 'MQTT', protocolVersion: 4, clean: false, keepAlive: 10, clientId: 'c', will: { topic: 'will/t', payload: Buffer.from("bye"), qos: 1, retain: true }, username: 'user', password: Buffer.from("pw") },
    bytes: hex('102400044d51545404ec000a000163000677696c6c2f74000362796500047573657200027077'),
  },
  {
    name: "CONNACK accepted (level 4)",
    protocolVersion: 4,
    packet: { type: 2, sessionPresent: true, reasonCode: 0 },
    bytes: hex('20020100'),
  },
  {
    name: "CONNACK refused (level 4)",
    protocolVersion: 4,
    packet: { type: 2, sessionPresent: false, reasonCode: 4 },
    bytes: hex('20020004'),
  },
  {
    name: "PUBLISH QoS 0 (level 4)",
    protocolVersion: 4,
    packet: { type: 3, dup: false, qos: 0, retain: false, topic: 'sensors/temp', payload: Buffer.from("21.5") },
    bytes: hex('3012000c73656e736f72732f74656d7032312e35'),
  },
  {
    name: "PUBLISH QoS 1 retain (level 4)",
    protocolVersion: 4,
    packet: { type: 3, dup: false, qos: 1, retain: true, topic: 'a/b', packetId: 1, payload: Buffer.from("hello") },
    bytes: hex('330c0003612f62000168656c6c6f'),
  },
  {
    name: "PUBLISH QoS 2 dup (level 4)",
    protocolVersion: 4,
    packet: { type: 3, dup: true, qos: 2, retain: false, topic: 'a/b', packetId: 65535, payload: Buffer.alloc(0) },
    bytes: hex('3c070003612f62ffff'),
  },
  {
    name: "PUBLISH UTF-8 topic (spec 1.5.4 example A U+2A6D4) (level 4)",
    protocolVersion: 4,
    packet: { type: 3, dup: false, qos: 0, retain: false, topic: 'A\u{2A6D4}', payload: Buffer.from("x") },
    bytes: hex('3008000541f0aa9b9478'),
    fromSpec: true,
  },
  {
    name: "PUBACK (level 4)",
    protocolVersion: 4,
    packet: { type: 4, packetId: 10 },
    bytes: hex('4002000a'),
  },
  {
    name: "PUBREC (level 4)",
    protocolVersion: 4,
    packet: { type: 5, packetId: 10 },
    bytes: hex('5002000a'),
  },
  {
    name: "PUBREL (level 4)",
    protocolVersion: 4,
    packet: { type: 6, packetId: 10 },
    bytes: hex('6202000a'),
  },
  {
    name: "PUBCOMP (level 4)",
    protocolVersion: 4,
    packet: { type: 7, packetId: 10 },
    bytes: hex('7002000a'),
  },
  {
    name: "SUBSCRIBE (spec example a/b QoS 1, c/d QoS 2) (level 4)",
    protocolVersion: 4,
    packet: { type: 8, packetId: 10, subscriptions: [{ topicFilter: 'a/b', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }, { topicFilter: 'c/d', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 }] },
    bytes: hex('820e000a0003612f62010003632f6402'),
    fromSpec: true,
  },
  {
    name: "SUBACK (spec example 0x00, 0x02, 0x80) (level 4)",
    protocolVersion: 4,
    packet: { type: 9, packetId: 10, reasonCodes: [0, 2, 0x80] },
    bytes: hex('9005000a000280'),
    fromSpec: true,
  },
  {
    name: "UNSUBSCRIBE (spec example a/b, c/d) (level 4)",
    protocolVersion: 4,
    packet: { type: 10, packetId: 10, topicFilters: ['a/b', 'c/d'] },
    bytes: hex('a20c000a0003612f620003632f64'),
    fromSpec: true,
  },
  {
    name: "UNSUBACK (level 4)",
    protocolVersion: 4,
    packet: { type: 11, packetId: 10, reasonCodes: [] },
    bytes: hex('b002000a'),
    fromSpec: true,
  },
  {
    name: "PINGREQ (level 4)",
    protocolVersion: 4,
    packet: { type: 12 },
    bytes: hex('c000'),
    fromSpec: true,
  },
  {
    name: "PINGRESP (level 4)",
    protocolVersion: 4,
    packet: { type: 13 },
    bytes: hex('d000'),
    fromSpec: true,
  },
  {
    name: "DISCONNECT (level 4)",
    protocolVersion: 4,
    packet: { type: 14, reasonCode: 0 },
    bytes: hex('e000'),
    fromSpec: true,
  },
  {
    name: "CONNECT minimal (level 5)",
    protocolVersion: 5,
    packet: { type: 1, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepAlive: 60, clientId: 'client-1' },
    bytes: hex('101500044d5154540502003c000008636c69656e742d31'),
  },
  {
    name: "CONNECT will, username, password (level 5)",
    protocolVersion: 5,
    packet: { type: 1, protocolName: 'MQTT', protocolVersion: 5, clean: false, keepAlive: 10, clientId: 'c', will: { topic: 'will/t', payload: Buffer.from("bye"), qos: 1, retain: true, properties: { willDelayInterval: 30, payloadFormatIndicator: 1, contentType: 'text/plain' } }, username: 'user', password: Buffer.from("pw"), properties: { sessionExpiryInterval: 3600, receiveMaximum: 100, maximumPacketSize: 65536, topicAliasMaximum: 10, requestResponseInformation: 1, requestProblemInformation: 0, userProperties: [['k', 'v'], ['k', 'w']] } },
    bytes: hex('105c00044d51545405ec000a221100000e10210064270001000022000a190117002600016b0001762600016b00017700016314180000001e010103000a746578742f706c61696e000677696c6c2f74000362796500047573657200027077'),
  },
  {
    name: "CONNACK accepted (level 5)",
    protocolVersion: 5,
    packet: { type: 2, sessionPresent: true, reasonCode: 0 },
    bytes: hex('2003010000'),
  },
  {
    name: "CONNACK refused (level 5)",
    protocolVersion: 5,
    packet: { type: 2, sessionPresent: false, reasonCode: 0x86, properties: { reasonString: 'bad credentials' } },
    bytes: hex('20150086121f000f6261642063726564656e7469616c73'),
  },
  {
    name: "CONNACK with server properties (level 5)",
    protocolVersion: 5,
    packet: { type: 2, sessionPresent: false, reasonCode: 0, properties: { assignedClientIdentifier: 'auto-1', serverKeepAlive: 30, maximumQoS: 1, retainAvailable: 0, wildcardSubscriptionAvailable: 1, subscriptionIdentifiersAvailable: 1, sharedSubscriptionAvailable: 0, topicAliasMaximum: 5, receiveMaximum: 20, maximumPacketSize: 1048576, responseInformation: 'resp/', serverReference: 'other:1883', sessionExpiryInterval: 60 } },
    bytes: hex('203e00003b1200066175746f2d3113001e24012500280129012a0022000521001427001000001a0005726573702f1c000a6f746865723a31383833110000003c'),
  },
  {
    name: "PUBLISH QoS 0 (level 5)",
    protocolVersion: 5,
    packet: { type: 3, dup: false, qos: 0, retain: false, topic: 'sensors/temp', payload: Buffer.from("21.5") },
    bytes: hex('3013000c73656e736f72732f74656d700032312e35'),
  },
  {
    name: "PUBLISH QoS 1 retain (level 5)",
    protocolVersion: 5,
    packet: { type: 3, dup: false, qos: 1, retain: true, topic: 'a/b', packetId: 1, payload: Buffer.from("hello") },
    bytes: hex('330d0003612f6200010068656c6c6f'),
  },
  {
    name: "PUBLISH QoS 2 dup (level 5)",
    protocolVersion: 5,
    packet: { type: 3, dup: true, qos: 2, retain: false, topic: 'a/b', packetId: 65535, payload: Buffer.alloc(0) },
    bytes: hex('3c080003612f62ffff00'),
  },
  {
    name: "PUBLISH UTF-8 topic (spec 1.5.4 example A U+2A6D4) (level 5)",
    protocolVersion: 5,
    packet: { type: 3, dup: false, qos: 0, retain: false, topic: 'A\u{2A6D4}', payload: Buffer.from("x") },
    bytes: hex('3009000541f0aa9b940078'),
    fromSpec: true,
  },
  {
    name: "PUBLISH with properties (level 5)",
    protocolVersion: 5,
    packet: { type: 3, dup: false, qos: 1, retain: false, topic: 'req/1', packetId: 7, payload: Buffer.from("{}"), properties: { payloadFormatIndicator: 1, messageExpiryInterval: 120, contentType: 'application/json', responseTopic: 'resp/1', correlationData: Buffer.from([1, 2, 3]), userProperties: [['a', '1']], subscriptionIdentifiers: [1, 268435455] } },
    bytes: hex('324300057265712f31000737010102000000780300106170706c69636174696f6e2f6a736f6e080006726573702f31090003010203260001610001310b010bffffff7f7b7d'),
  },
  {
    name: "PUBLISH topic alias, empty topic (level 5)",
    protocolVersion: 5,
    packet: { type: 3, dup: false, qos: 0, retain: false, topic: '', payload: Buffer.from("z"), properties: { topicAlias: 3 } },
    bytes: hex('30070000032300037a'),
  },
  {
    name: "PUBACK (level 5)",
    protocolVersion: 5,
    packet: { type: 4, packetId: 10, reasonCode: 0 },
    bytes: hex('4002000a'),
  },
  {
    name: "PUBACK reason code (level 5)",
    protocolVersion: 5,
    packet: { type: 4, packetId: 10, reasonCode: 0x10 },
    bytes: hex('4003000a10'),
  },
  {
    name: "PUBACK reason string (level 5)",
    protocolVersion: 5,
    packet: { type: 4, packetId: 10, reasonCode: 0x80, properties: { reasonString: 'no', userProperties: [['x', 'y']] } },
    bytes: hex('4010000a800c1f00026e6f26000178000179'),
  },
  {
    name: "PUBREC (level 5)",
    protocolVersion: 5,
    packet: { type: 5, packetId: 10, reasonCode: 0 },
    bytes: hex('5002000a'),
  },
  {
    name: "PUBREC reason code (level 5)",
    protocolVersion: 5,
    packet: { type: 5, packetId: 10, reasonCode: 0x10 },
    bytes: hex('5003000a10'),
  },
  {
    name: "PUBREC reason string (level 5)",
    protocolVersion: 5,
    packet: { type: 5, packetId: 10, reasonCode: 0x80, properties: { reasonString: 'no', userProperties: [['x', 'y']] } },
    bytes: hex('5010000a800c1f00026e6f26000178000179'),
  },
  {
    name: "PUBREL (level 5)",
    protocolVersion: 5,
    packet: { type: 6, packetId: 10, reasonCode: 0 },
    bytes: hex('6202000a'),
  },
  {
    name: "PUBREL reason code (level 5)",
    protocolVersion: 5,
    packet: { type: 6, packetId: 10, reasonCode: 0x92 },
    bytes: hex('6203000a92'),
  },
  {
    name: "PUBREL reason string (level 5)",
    protocolVersion: 5,
    packet: { type: 6, packetId: 10, reasonCode: 0x92, properties: { reasonString: 'no', userProperties: [['x', 'y']] } },
    bytes: hex('6210000a920c1f00026e6f26000178000179'),
  },
  {
    name: "PUBCOMP (level 5)",
    protocolVersion: 5,
    packet: { type: 7, packetId: 10, reasonCode: 0 },
    bytes: hex('7002000a'),
  },
  {
    name: "PUBCOMP reason code (level 5)",
    protocolVersion: 5,
    packet: { type: 7, packetId: 10, reasonCode: 0x92 },
    bytes: hex('7003000a92'),
  },
  {
    name: "PUBCOMP reason string (level 5)",
    protocolVersion: 5,
    packet: { type: 7, packetId: 10, reasonCode: 0x92, properties: { reasonString: 'no', userProperties: [['x', 'y']] } },
    bytes: hex('7010000a920c1f00026e6f26000178000179'),
  },
  {
    name: "SUBSCRIBE (spec example a/b QoS 1, c/d QoS 2) (level 5)",
    protocolVersion: 5,
    packet: { type: 8, packetId: 10, subscriptions: [{ topicFilter: 'a/b', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }, { topicFilter: 'c/d', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 }] },
    bytes: hex('820f000a000003612f62010003632f6402'),
    fromSpec: true,
  },
  {
    name: "SUBSCRIBE options and identifier (level 5)",
    protocolVersion: 5,
    packet: { type: 8, packetId: 2, subscriptions: [{ topicFilter: 'x/#', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 }, { topicFilter: '$share/g/y/+', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 1 }], properties: { subscriptionIdentifiers: [42], userProperties: [['s', 't']] } },
    bytes: hex('82210002090b2a260001730001740003782f232d000c2473686172652f672f792f2b10'),
  },
  {
    name: "SUBACK (spec example 0x00, 0x02, 0x80) (level 5)",
    protocolVersion: 5,
    packet: { type: 9, packetId: 10, reasonCodes: [0, 2, 0x80] },
    bytes: hex('9006000a00000280'),
    fromSpec: true,
  },
  {
    name: "SUBACK reason codes (level 5)",
    protocolVersion: 5,
    packet: { type: 9, packetId: 3, reasonCodes: [1, 0x8f, 0x9e, 0xa2], properties: { reasonString: 'partly' } },
    bytes: hex('90100003091f0006706172746c79018f9ea2'),
  },
  {
    name: "UNSUBSCRIBE (spec example a/b, c/d) (level 5)",
    protocolVersion: 5,
    packet: { type: 10, packetId: 10, topicFilters: ['a/b', 'c/d'] },
    bytes: hex('a20d000a000003612f620003632f64'),
    fromSpec: true,
  },
  {
    name: "UNSUBACK (level 5)",
    protocolVersion: 5,
    packet: { type: 11, packetId: 10, reasonCodes: [0, 0x11], properties: { reasonString: 'r' } },
    bytes: hex('b009000a041f0001720011'),
  },
  {
    name: "PINGREQ (level 5)",
    protocolVersion: 5,
    packet: { type: 12 },
    bytes: hex('c000'),
    fromSpec: true,
  },
  {
    name: "PINGRESP (level 5)",
    protocolVersion: 5,
    packet: { type: 13 },
    bytes: hex('d000'),
    fromSpec: true,
  },
  {
    name: "DISCONNECT (level 5)",
    protocolVersion: 5,
    packet: { type: 14, reasonCode: 0 },
    bytes: hex('e000'),
    fromSpec: true,
  },
  {
    name: "DISCONNECT with will and properties (level 5)",
    protocolVersion: 5,
    packet: { type: 14, reasonCode: 4, properties: { sessionExpiryInterval: 0, reasonString: 'bye', serverReference: 'b:1883' } },
    bytes: hex('e016041411000000001f00036279651c0006623a31383833'),
  },
  {
    name: "DISCONNECT reason code only (level 5)",
    protocolVersion: 5,
    packet: { type: 14, reasonCode: 0x8e },
    bytes: hex('e0018e'),
    fromSpec: true,
  },
  {
    name: "AUTH success short form (level 5)",
    protocolVersion: 5,
    packet: { type: 15, reasonCode: 0 },
    bytes: hex('f000'),
    fromSpec: true,
  },
  {
    name: "AUTH continue (level 5)",
    protocolVersion: 5,
    packet: { type: 15, reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM-SHA-1', authenticationData: Buffer.from('challenge') } },
    bytes: hex('f01c181a15000b534352414d2d5348412d311600096368616c6c656e6765'),
  },
  {
    name: "CONNECT (spec example: flags 0xCE, keep alive 10) (level 4)",
    protocolVersion: 4,
    packet: { type: 1, protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 10, clientId: 'c', will: { topic: 'w', payload: Buffer.from("p"), qos: 1, retain: false }, username: 'u', password: Buffer.from("s") },
    bytes: hex('101900044d51545404ce000a000163000177000170000175000173'),
    fromSpec: true,
  },
  {
    name: "CONNECT (spec example: flags 0xCE, keep alive 10, Session Expiry 10) (level 5)",
    protocolVersion: 5,
    packet: { type: 1, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepAlive: 10, clientId: 'c', will: { topic: 'w', payload: Buffer.from("p"), qos: 1, retain: false }, username: 'u', password: Buffer.from("s"), properties: { sessionExpiryInterval: 10 } },
    bytes: hex('102000044d51545405ce000a05110000000a00016300000177000170000175000173'),
    fromSpec: true,
  },
  {
    name: "PUBLISH (spec example: topic a/b, packet id 10) (level 4)",
    protocolVersion: 4,
    packet: { type: 3, dup: false, qos: 1, retain: false, topic: 'a/b', packetId: 10, payload: Buffer.alloc(0) },
    bytes: hex('32070003612f62000a'),
    fromSpec: true,
  },
  {
    name: "PUBLISH (spec example: topic a/b, packet id 10, no properties) (level 5)",
    protocolVersion: 5,
    packet: { type: 3, dup: false, qos: 1, retain: false, topic: 'a/b', packetId: 10, payload: Buffer.alloc(0) },
    bytes: hex('32080003612f62000a00'),
    fromSpec: true,
  },
];
