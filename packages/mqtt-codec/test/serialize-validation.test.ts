import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MqttProtocolError, type Packet, type ProtocolVersion, ReasonCode, serialize } from '../src/index.js';

const pub = (extra: Partial<Extract<Packet, { type: 3 }>>): Packet => ({
  type: 3,
  dup: false,
  qos: 0,
  retain: false,
  topic: 't',
  payload: Buffer.alloc(0),
  ...extra,
});
const connect = (extra: Partial<Extract<Packet, { type: 1 }>>, v: ProtocolVersion = 4): Packet => ({
  type: 1,
  protocolName: v === 3 ? 'MQIsdp' : 'MQTT',
  protocolVersion: v,
  clean: true,
  keepAlive: 0,
  clientId: 'c',
  ...extra,
});

const M = ReasonCode.MalformedPacket;
const P = ReasonCode.ProtocolError;
const cases: [string, Packet, ProtocolVersion, number][] = [
  ['QoS 3', pub({ qos: 3 as 0 }), 4, M],
  ['DUP on QoS 0', pub({ dup: true }), 4, M],
  ['QoS 1 without packet id', pub({ qos: 1 }), 4, P],
  ['packet id 0', pub({ qos: 1, packetId: 0 }), 4, P],
  ['packet id 65536', pub({ qos: 2, packetId: 65_536 }), 4, P],
  ['wildcard topic', pub({ topic: 'a/#' }), 4, ReasonCode.TopicNameInvalid],
  ['empty topic in 3.1.1', pub({ topic: '' }), 4, P],
  ['empty topic in 5.0 without alias', pub({ topic: '' }), 5, P],
  ['lone surrogate in topic', pub({ topic: 'a\ud800' }), 4, M],
  ['U+0000 in topic', pub({ topic: 'a\u0000' }), 4, M],
  ['topic over 65535 bytes', pub({ topic: 'x'.repeat(65_536) }), 4, M],
  ['Topic Alias 0', pub({ properties: { topicAlias: 0 } }), 5, ReasonCode.TopicAliasInvalid],
  ['CONNECT property on PUBLISH', pub({ properties: { sessionExpiryInterval: 1 } }), 5, M],
  ['two Subscription Identifiers on SUBSCRIBE', { type: 8, packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }], properties: { subscriptionIdentifiers: [1, 2] } }, 5, P],
  ['empty SUBSCRIBE', { type: 8, packetId: 1, subscriptions: [] }, 4, P],
  ['Retain Handling 3', { type: 8, packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 3 as 0 }] }, 5, P],
  ['empty UNSUBSCRIBE', { type: 10, packetId: 1, topicFilters: [] }, 4, P],
  ['SUBACK 3.1.1 code 0x87', { type: 9, packetId: 1, reasonCodes: [0x87] }, 4, P],
  ['PUBACK reason 0x92', { type: 4, packetId: 1, reasonCode: 0x92 }, 5, P],
  ['CONNACK Session Present on refusal', { type: 2, sessionPresent: true, reasonCode: 5 }, 4, P],
  ['CONNECT password without username 3.1.1', connect({ password: Buffer.from('p') }), 4, P],
  ['CONNECT name MQTT at level 3', connect({ protocolName: 'MQTT', protocolVersion: 3 }, 3), 3, P],
  ['CONNECT protocolVersion differs from the level', connect({}, 5), 4, P],
  ['will topic with wildcard', connect({ will: { topic: '+', payload: Buffer.alloc(0), qos: 0, retain: false } }), 4, ReasonCode.TopicNameInvalid],
  ['Receive Maximum 0', connect({ properties: { receiveMaximum: 0 } }, 5), 5, P],
  ['Authentication Data without Method', connect({ properties: { authenticationData: Buffer.from('x') } }, 5), 5, P],
  ['Will Delay on CONNECT', connect({ properties: { willDelayInterval: 1 } }, 5), 5, M],
  ['AUTH before 5.0', { type: 15, reasonCode: 0 }, 4, P],
  ['keepAlive over 65535', connect({ keepAlive: 70_000 }), 4, M],
];

test('serialize refuses what may not be written, with the reason code', () => {
  for (const [name, packet, v, code] of cases) {
    assert.throws(
      () => serialize(packet, v),
      (e) => e instanceof MqttProtocolError && e.reasonCode === code,
      name,
    );
  }
});

test('5.0 short forms: acks, DISCONNECT and AUTH with Success and no properties', () => {
  assert.equal(serialize({ type: 4, packetId: 1, reasonCode: 0 }, 5).toString('hex'), '40020001');
  assert.equal(serialize({ type: 4, packetId: 1, reasonCode: 0x10 }, 5).toString('hex'), '4003000110');
  assert.equal(serialize({ type: 4, packetId: 1, reasonCode: 0, properties: {} }, 5).toString('hex'), '40020001');
  assert.equal(serialize({ type: 14, reasonCode: 0 }, 5).toString('hex'), 'e000');
  assert.equal(serialize({ type: 15, reasonCode: 0 }, 5).toString('hex'), 'f000');
  // 5.0 fields are not written for older levels
  assert.equal(serialize({ type: 14, reasonCode: 0x8e }, 4).toString('hex'), 'e000');
  assert.equal(serialize({ type: 6, packetId: 2, reasonCode: 0x92 }, 4).toString('hex'), '62020002');
});
