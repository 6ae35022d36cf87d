import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MqttProtocolError, PacketParser, type ProtocolVersion, ReasonCode } from '../src/index.js';
import { connectBody, pkt, props, rawStr, str, u16 } from './helpers.js';

const M = ReasonCode.MalformedPacket;
const P = ReasonCode.ProtocolError;

/** [name, level the parser already knows (undefined: fresh server parser), bytes, reason code] */
type Case = [string, ProtocolVersion | undefined, Buffer, number];

const c4 = (flags: number, payload: string) => pkt(0x10, connectBody('MQTT', 4, flags, '', payload));
const c5 = (flags: number, p: string, payload: string) => pkt(0x10, connectBody('MQTT', 5, flags, props(p), payload));
const pub5 = (p: string) => pkt(0x30, str('t') + props(p));
const sub5 = (opts: string, filter = 'a/b', p = '') => pkt(0x82, u16(1) + props(p) + str(filter) + opts);

const cases: Case[] = [
  // framing
  ['first packet is not CONNECT [MQTT-3.1.0-1]', undefined, pkt(0xc0, ''), P],
  ['remaining length over 4 bytes', 4, Buffer.from('30ffffffff7f', 'hex'), M],
  ['remaining length not minimal [MQTT-1.5.5-1]', 4, Buffer.from('c08000', 'hex'), M],
  ['reserved packet type 0', 4, pkt(0x00, ''), M],
  ['AUTH before 5.0', 4, pkt(0xf0, ''), M],
  ['PUBACK flags not 0 [MQTT-2.1.3-1]', 4, pkt(0x41, u16(1)), M],
  ['PUBREL flags not 0b0010 [MQTT-3.6.1-1]', 4, pkt(0x60, u16(1)), M],
  ['SUBSCRIBE flags not 0b0010 [MQTT-3.8.1-1]', 4, pkt(0x80, u16(1) + str('a') + '00'), M],
  ['UNSUBSCRIBE flags not 0b0010 [MQTT-3.10.1-1]', 4, pkt(0xa0, u16(1) + str('a')), M],
  ['CONNECT flags not 0', undefined, Buffer.from(`11${c4(2, str('c')).subarray(1).toString('hex')}`, 'hex'), M],
  ['PINGREQ longer than its remaining length 0', 4, pkt(0xc0, '00'), M],
  ['DISCONNECT with a body before 5.0', 4, pkt(0xe0, '00'), M],
  ['packet shorter than its fields', 4, pkt(0x32, str('a/b') + '00'), M],
  ['packet longer than its fields', 4, pkt(0x40, u16(1) + '00'), M],
  // CONNECT
  ['unknown protocol name [MQTT-3.1.2-1]', undefined, pkt(0x10, connectBody('MQTX', 4, 2, '', str('c'))), P],
  ['MQTT with level 3 [MQTT-3.1.2-2]', undefined, pkt(0x10, connectBody('MQTT', 3, 2, '', str('c'))), 0x84],
  ['MQIsdp with level 4 [MQTT-3.1.2-2]', undefined, pkt(0x10, connectBody('MQIsdp', 4, 2, '', str('c'))), 0x84],
  ['MQTT level 6 [MQTT-3.1.2-2]', undefined, pkt(0x10, connectBody('MQTT', 6, 2, '', str('c'))), 0x84],
  ['CONNECT reserved flag [MQTT-3.1.2-3]', undefined, c4(0x03, str('c')), M],
  ['Will QoS without Will Flag [MQTT-3.1.2-11]', undefined, c4(0x0a, str('c')), M],
  ['Will Retain without Will Flag [MQTT-3.1.2-13]', undefined, c4(0x22, str('c')), M],
  ['Will QoS 3 [MQTT-3.1.2-12]', undefined, c4(0x1c, str('c') + str('w') + str('p')), M],
  ['password without user name in 3.1.1 [MQTT-3.1.2-22]', undefined, c4(0x42, str('c') + str('p')), M],
  ['wildcard in Will Topic', undefined, c4(0x06, str('c') + str('w/#') + str('p')), ReasonCode.TopicNameInvalid],
  ['client id with U+0000 [MQTT-1.5.4-2]', undefined, c4(0x02, rawStr('6300')), M],
  ['client id with an encoded surrogate [MQTT-1.5.4-1]', undefined, c4(0x02, rawStr('eda080')), M],
  ['client id with an overlong encoding [MQTT-1.5.4-1]', undefined, c4(0x02, rawStr('c0af')), M],
  ['client id with a stray 0xFF [MQTT-1.5.4-1]', undefined, c4(0x02, rawStr('ff')), M],
  ['CONNECT missing client id', undefined, c4(0x02, ''), M],
  ['Receive Maximum 0', undefined, c5(0x02, `21${u16(0)}`, str('c')), P],
  ['Maximum Packet Size 0', undefined, c5(0x02, '2700000000', str('c')), P],
  ['Request Problem Information 2', undefined, c5(0x02, '1702', str('c')), P],
  ['Authentication Data without Method', undefined, c5(0x02, `16${str('x')}`, str('c')), P],
  ['Session Expiry Interval twice', undefined, c5(0x02, '110000000a110000000a', str('c')), P],
  ['Topic Alias (a PUBLISH property) on CONNECT', undefined, c5(0x02, `23${u16(1)}`, str('c')), M],
  ['Will Delay Interval on CONNECT instead of the will', undefined, c5(0x02, '1800000001', str('c')), M],
  ['Session Expiry Interval in will properties', undefined, c5(0x06, '', `${str('c')}${props('1100000001')}${str('w')}${str('p')}`), M],
  ['second CONNECT [MQTT-3.1.0-2]', undefined, Buffer.concat([c4(2, str('c')), c4(2, str('c'))]), P],
  // CONNACK
  ['CONNACK reserved flags [MQTT-3.2.2-1]', 4, pkt(0x20, '0200'), M],
  ['Session Present on a refusal [MQTT-3.2.2-6]', 4, pkt(0x20, '0101'), P],
  ['CONNACK return code 6', 4, pkt(0x20, '0006'), P],
  ['CONNACK 5.0 reason code 0x01 [MQTT-3.2.2-8]', 5, pkt(0x20, '000100'), P],
  // PUBLISH
  ['PUBLISH QoS 3 [MQTT-3.3.1-4]', 4, pkt(0x36, str('a') + u16(1)), M],
  ['DUP on QoS 0 [MQTT-3.3.1-2]', 4, pkt(0x38, str('a')), M],
  ['packet identifier 0 [MQTT-2.2.1-3]', 4, pkt(0x32, str('a') + u16(0)), P],
  ['wildcard + in topic [MQTT-3.3.2-2]', 4, pkt(0x30, str('a/+')), ReasonCode.TopicNameInvalid],
  ['wildcard # in topic [MQTT-3.3.2-2]', 5, pkt(0x30, `${str('#')}00`), ReasonCode.TopicNameInvalid],
  ['empty topic in 3.1.1 [MQTT-4.7.3-1]', 4, pkt(0x30, str('')), P],
  ['empty topic without Topic Alias in 5.0', 5, pkt(0x30, `${str('')}00`), P],
  ['topic with U+0000', 4, pkt(0x30, rawStr('6100')), M],
  ['Topic Alias 0 [MQTT-3.3.2-8]', 5, pub5(`23${u16(0)}`), ReasonCode.TopicAliasInvalid],
  ['Session Expiry Interval on PUBLISH', 5, pub5('1100000001'), M],
  ['unknown property 0x7f', 5, pub5('7f00'), M],
  ['Message Expiry Interval twice', 5, pub5('02000000010200000001'), P],
  ['Payload Format Indicator 2', 5, pub5('0102'), P],
  ['Subscription Identifier 0', 5, pub5('0b00'), P],
  ['Subscription Identifier over 4 bytes', 5, pub5('0bffffffff01'), M],
  ['Response Topic with a wildcard [MQTT-3.3.2-14]', 5, pub5(`08${str('r/+')}`), ReasonCode.TopicNameInvalid],
  ['property length beyond the packet', 5, pkt(0x30, `${str('t')}0a0101`), M],
  ['user property with invalid UTF-8 [MQTT-1.5.7-1]', 5, pub5(`26${rawStr('ff')}${str('v')}`), M],
  ['property value cut short', 5, pub5('0200'), M],
  // acks
  ['PUBACK packet identifier 0', 4, pkt(0x40, u16(0)), P],
  ['PUBACK 5.0 reason code 0x01 [MQTT-3.4.2-1]', 5, pkt(0x40, `${u16(1)}01`), P],
  ['PUBREL 5.0 reason code 0x10 [MQTT-3.6.2-1]', 5, pkt(0x62, `${u16(1)}10`), P],
  ['PUBACK Topic Alias property', 5, pkt(0x40, `${u16(1)}00${props(`23${u16(1)}`)}`), M],
  // SUBSCRIBE / UNSUBSCRIBE
  ['SUBSCRIBE without subscriptions [MQTT-3.8.3-2]', 4, pkt(0x82, u16(1)), P],
  ['SUBSCRIBE 5.0 without subscriptions', 5, pkt(0x82, `${u16(1)}00`), P],
  ['SUBSCRIBE packet identifier 0', 4, pkt(0x82, u16(0) + str('a') + '00'), P],
  ['subscription reserved bits in 3.1.1 [MQTT-3-8.3-4]', 4, pkt(0x82, u16(1) + str('a') + '04'), M],
  ['subscription QoS 3', 4, pkt(0x82, u16(1) + str('a') + '03'), M],
  ['subscription options reserved bits in 5.0 [MQTT-3.8.3-5]', 5, sub5('40'), M],
  ['Retain Handling 3', 5, sub5('30'), P],
  ['No Local on a shared subscription [MQTT-3.8.3-4]', 5, sub5('04', '$share/g/a'), P],
  ['two Subscription Identifiers on SUBSCRIBE', 5, sub5('00', 'a', '0b010b02'), P],
  ['subscription missing its options byte', 4, pkt(0x82, u16(1) + str('a')), M],
  ['UNSUBSCRIBE without topic filters [MQTT-3.10.3-2]', 4, pkt(0xa2, u16(1)), P],
  ['SUBACK 3.1.1 code 3 [MQTT-3.9.3-2]', 4, pkt(0x90, `${u16(1)}03`), P],
  ['SUBACK 5.0 code 0x11', 5, pkt(0x90, `${u16(1)}0011`), P],
  ['UNSUBACK 5.0 code 0x01 [MQTT-3.11.3-1]', 5, pkt(0xb0, `${u16(1)}0001`), P],
  // DISCONNECT / AUTH
  ['DISCONNECT reason code 0x01 [MQTT-3.14.2-1]', 5, pkt(0xe0, '01'), P],
  ['DISCONNECT Session Expiry twice', 5, pkt(0xe0, `00${props('11000000011100000001')}`), P],
  ['AUTH reason code 0x01 [MQTT-3.15.2-1]', 5, pkt(0xf0, '01'), P],
];

test('each malformed or forbidden input throws MqttProtocolError with its reason code', () => {
  for (const [name, level, bytes, code] of cases) {
    const parser = new PacketParser(level === undefined ? {} : { protocolVersion: level });
    let err: unknown;
    try {
      parser.push(bytes, () => {});
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof MqttProtocolError, `${name}: expected MqttProtocolError, got ${String(err)}`);
    assert.equal(err.reasonCode, code, `${name}: ${err.message}`);
    // the parser stays failed and rethrows the same error
    assert.throws(() => parser.push(Buffer.from([0xc0, 0x00]), () => {}), (e) => e === err, name);
  }
});

test('the same errors when the input arrives one byte at a time', () => {
  for (const [name, level, bytes, code] of cases) {
    const parser = new PacketParser(level === undefined ? {} : { protocolVersion: level });
    let err: unknown;
    try {
      for (let i = 0; i < bytes.length; i++) parser.push(bytes.subarray(i, i + 1), () => {});
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof MqttProtocolError, `${name}: expected MqttProtocolError`);
    assert.equal(err.reasonCode, code, `${name}: ${err.message}`);
  }
});

test('a valid 5.0 CONNECT with a password and no user name is accepted', () => {
  const parser = new PacketParser();
  let got = 0;
  parser.push(c5(0x42, '', str('c') + str('pw')), () => got++);
  assert.equal(got, 1);
});

test('an oversized packet is refused from its fixed header, before its body is buffered', () => {
  const parser = new PacketParser({ protocolVersion: 4, maxPacketSize: 100 });
  // fixed header announcing 1,000,000 bytes; no body sent
  assert.throws(
    () => parser.push(Buffer.from('30c0843d', 'hex'), () => {}),
    (e) => e instanceof MqttProtocolError && e.reasonCode === ReasonCode.PacketTooLarge,
  );
  assert.equal(parser.pendingBytes, 0);
  // exactly at the limit is fine
  const ok = new PacketParser({ protocolVersion: 4, maxPacketSize: 10 });
  let n = 0;
  ok.push(pkt(0x30, str('a') + '0000000000'), () => n++);
  assert.equal(n, 1);
});

test('the protocol level is adopted before later CONNECT fields fail (for the CONNACK format)', () => {
  const parser = new PacketParser();
  assert.throws(() => parser.push(c5(0x02, `21${u16(0)}`, str('c')), () => {}));
  assert.equal(parser.protocolVersion, 5);
});

test('MQTT 3.1 accepts a SUBSCRIBE retry with DUP set', () => {
  const parser = new PacketParser({ protocolVersion: 3 });
  let n = 0;
  parser.push(pkt(0x8a, u16(1) + str('a') + '01'), () => n++);
  assert.equal(n, 1);
});
