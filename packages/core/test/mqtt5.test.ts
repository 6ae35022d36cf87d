import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketType, ReasonCode } from '@mqtt-broker/mqtt-codec';
import { TestClient } from '../src/testing/index.js';
import { payloads, publish, setup, sub, subscriber } from './harness.js';

describe('MQTT 5 features', () => {
  it('inbound topic alias: set then used; 0 or above maximum -> DISCONNECT 0x94; unknown -> 0x82', async () => {
    const { broker } = setup({ limits: { topicAliasMaximum: 2 } });
    const s = await subscriber(broker, 's', [sub('al/#')]);
    const c = new TestClient(broker, 5);
    await c.connect({ clientId: 'c' });
    publish(c, 'al/one', '1', 0, { properties: { topicAlias: 1 } });
    publish(c, '', '2', 0, { properties: { topicAlias: 1 } });
    assert.deepEqual(payloads(s), ['1', '2']);
    publish(c, 'al/x', '3', 0, { properties: { topicAlias: 3 } });
    assert.equal(c.expect(PacketType.DISCONNECT).reasonCode, ReasonCode.TopicAliasInvalid);
    const d = new TestClient(broker, 5);
    await d.connect({ clientId: 'd' });
    publish(d, '', 'x', 0, { properties: { topicAlias: 2 } });
    assert.equal(d.expect(PacketType.DISCONNECT).reasonCode, ReasonCode.ProtocolError);
  });

  it("outbound topic aliases within the client's Topic Alias Maximum", async () => {
    const { broker } = setup();
    const s = new TestClient(broker, 5);
    await s.connect({ clientId: 's', properties: { topicAliasMaximum: 1 } });
    s.send({ type: PacketType.SUBSCRIBE, packetId: 1, subscriptions: [sub('t/#')] });
    s.expect(PacketType.SUBACK);
    const pub = new TestClient(broker, 4);
    await pub.connect({ clientId: 'p' });
    publish(pub, 't/a', '1');
    publish(pub, 't/a', '2');
    publish(pub, 't/b', '3');
    const [m1, m2, m3] = s.take().filter((p) => p.type === PacketType.PUBLISH);
    assert.ok(m1.type === PacketType.PUBLISH && m2.type === PacketType.PUBLISH && m3.type === PacketType.PUBLISH);
    assert.deepEqual([m1.topic, m1.properties?.topicAlias], ['t/a', 1]);
    assert.deepEqual([m2.topic, m2.properties?.topicAlias], ['', 1]);
    assert.deepEqual([m3.topic, m3.properties?.topicAlias], ['t/b', undefined]);
  });

  it("outbound flow control: never more QoS 1 in flight than the client's Receive Maximum [MQTT-3.3.4-7]", async () => {
    const { broker } = setup();
    const s = new TestClient(broker, 5);
    await s.connect({ clientId: 's', properties: { receiveMaximum: 2 } });
    s.send({ type: PacketType.SUBSCRIBE, packetId: 1, subscriptions: [sub('f', 1)] });
    s.expect(PacketType.SUBACK);
    const pub = new TestClient(broker, 4);
    await pub.connect({ clientId: 'p' });
    for (let i = 0; i < 5; i++) publish(pub, 'f', String(i), 1);
    let got = s.take().filter((p) => p.type === PacketType.PUBLISH);
    assert.equal(got.length, 2);
    assert.equal(broker.stats().queuedMessages, 3);
    for (const m of got) if (m.type === PacketType.PUBLISH) s.send({ type: PacketType.PUBACK, packetId: m.packetId! });
    got = s.take().filter((p) => p.type === PacketType.PUBLISH);
    assert.deepEqual(got.map((m) => (m.type === PacketType.PUBLISH ? m.payload.toString() : '')), ['2', '3']);
  });

  it('inbound Receive Maximum exceeded (QoS 2 unreleased) -> DISCONNECT 0x93 [MQTT-3.3.4-9]', async () => {
    const { broker } = setup({ limits: { receiveMaximum: 2 } });
    const c = new TestClient(broker, 5);
    await c.connect({ clientId: 'c' });
    for (let i = 1; i <= 3; i++) c.send({ type: PacketType.PUBLISH, dup: false, qos: 2, retain: false, topic: 'x', packetId: i, payload: Buffer.from('x') });
    c.expect(PacketType.PUBREC);
    c.expect(PacketType.PUBREC);
    assert.equal(c.expect(PacketType.DISCONNECT).reasonCode, ReasonCode.ReceiveMaximumExceeded);
  });

  it("Maximum Packet Size: a message too large for the client is dropped ('packet_too_large') [MQTT-3.1.2-25]", async () => {
    const { broker, observer } = setup();
    const s = new TestClient(broker, 5);
    await s.connect({ clientId: 's', properties: { maximumPacketSize: 100 } });
    s.send({ type: PacketType.SUBSCRIBE, packetId: 1, subscriptions: [sub('big', 1)] });
    s.expect(PacketType.SUBACK);
    const pub = new TestClient(broker, 4);
    await pub.connect({ clientId: 'p' });
    publish(pub, 'big', 'x'.repeat(200), 1);
    publish(pub, 'big', 'small', 1);
    assert.deepEqual(payloads(s), ['small']);
    assert.ok(observer.drops.some((d) => d.reason === 'packet_too_large'));
    assert.equal(broker.stats().inflightMessages, 1);
  });

  it('inbound packet over our maximum -> DISCONNECT 0x95', async () => {
    const { broker } = setup({ limits: { maxPacketSize: 64 } });
    const c = new TestClient(broker, 5);
    await c.connect({ clientId: 'c' });
    publish(c, 't', 'x'.repeat(100));
    assert.equal(c.expect(PacketType.DISCONNECT).reasonCode, ReasonCode.PacketTooLarge);
    assert.ok(c.closed);
  });

  it("Message Expiry: expired queued messages are dropped ('expired'), remaining interval forwarded", async () => {
    const { broker, clock, observer } = setup();
    const s = await subscriber(broker, 'off', [sub('e', 1)], 5, false);
    s.close();
    const pub = new TestClient(broker, 5);
    await pub.connect({ clientId: 'p' });
    publish(pub, 'e', 'short', 1, { properties: { messageExpiryInterval: 2 } });
    publish(pub, 'e', 'long', 1, { properties: { messageExpiryInterval: 100 } });
    clock.advance(10_000);
    const again = new TestClient(broker, 5);
    await again.connect({ clientId: 'off', clean: false, properties: { sessionExpiryInterval: 3600 } });
    const got = again.take().filter((p) => p.type === PacketType.PUBLISH);
    assert.equal(got.length, 1);
    assert.ok(got[0].type === PacketType.PUBLISH);
    assert.equal(got[0].payload.toString(), 'long');
    assert.equal(got[0].properties?.messageExpiryInterval, 90);
    assert.ok(observer.drops.some((d) => d.reason === 'expired'));
  });

  it('Payload Format Indicator 1 with invalid UTF-8 -> PUBACK 0x99, not delivered', async () => {
    const { broker, observer } = setup();
    const s = await subscriber(broker, 's', [sub('pf')]);
    const c = new TestClient(broker, 5);
    await c.connect({ clientId: 'c' });
    c.send({ type: PacketType.PUBLISH, dup: false, qos: 1, retain: false, topic: 'pf', packetId: 1, payload: Buffer.from([0xff, 0xfe]), properties: { payloadFormatIndicator: 1 } });
    assert.equal(c.expect(PacketType.PUBACK).reasonCode, ReasonCode.PayloadFormatInvalid);
    assert.ok(s.idle);
    assert.ok(observer.drops.some((d) => d.reason === 'payload_format_invalid'));
  });

  it('Content Type, Response Topic, Correlation Data, User Properties, Payload Format passed through unchanged', async () => {
    const { broker } = setup();
    const s = await subscriber(broker, 's', [sub('rr')], 5);
    const c = new TestClient(broker, 5);
    await c.connect({ clientId: 'c' });
    const properties = {
      payloadFormatIndicator: 1,
      contentType: 'application/json',
      responseTopic: 'reply/here',
      correlationData: Buffer.from([1, 2, 3]),
      userProperties: [['a', '1'] as const, ['a', '2'] as const],
    };
    publish(c, 'rr', '{}', 0, { properties });
    const m = s.expect(PacketType.PUBLISH);
    assert.deepEqual(m.properties, properties);
  });

  it('Request Problem Information 0: no Reason String on DISCONNECT-less failures; reason strings otherwise', async () => {
    const { broker } = setup();
    const quiet = new TestClient(broker, 5);
    await quiet.connect({ clientId: 'q', properties: { requestProblemInformation: 0 } });
    quiet.send({ type: PacketType.CONNECT, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepAlive: 0, clientId: 'q' });
    assert.equal(quiet.expect(PacketType.DISCONNECT).properties?.reasonString, undefined);
    const loud = new TestClient(broker, 5);
    await loud.connect({ clientId: 'l' });
    loud.send({ type: PacketType.CONNECT, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepAlive: 0, clientId: 'l' });
    assert.match(loud.expect(PacketType.DISCONNECT).properties?.reasonString ?? '', /CONNECT/);
  });

  it('clients cannot publish to $SYS: 5.0 PUBACK 0x87, 3.1.1 acknowledged and dropped', async () => {
    const { broker } = setup();
    const s = await subscriber(broker, 's', [sub('$SYS/#')]);
    const v5 = new TestClient(broker, 5);
    await v5.connect({ clientId: 'v5' });
    publish(v5, '$SYS/fake', 'x', 1);
    assert.equal(v5.expect(PacketType.PUBACK).reasonCode, ReasonCode.NotAuthorized);
    const v4 = new TestClient(broker, 4);
    await v4.connect({ clientId: 'v4' });
    publish(v4, '$SYS/fake', 'x', 1);
    assert.equal(v4.expect(PacketType.PUBACK).reasonCode ?? 0, 0);
    assert.ok(s.idle);
  });

  it('denied PUBLISH: 5.0 PUBACK/PUBREC 0x87; 3.1.1 acknowledged normally and dropped', async () => {
    const { broker } = setup({ authorizer: { canPublish: (_c, t) => t !== 'ro' } });
    const s = await subscriber(broker, 's', [sub('ro')]);
    const v5 = new TestClient(broker, 5);
    await v5.connect({ clientId: 'v5' });
    publish(v5, 'ro', 'x', 2);
    assert.equal(v5.expect(PacketType.PUBREC).reasonCode, ReasonCode.NotAuthorized);
    const v4 = new TestClient(broker, 4);
    await v4.connect({ clientId: 'v4' });
    publish(v4, 'ro', 'x', 1);
    assert.equal(v4.expect(PacketType.PUBACK).packetId > 0, true);
    assert.ok(s.idle);
  });

  it('topic name over maxTopicLength / maxTopicLevels -> PUBACK 0x90', async () => {
    const { broker, observer } = setup({ limits: { maxTopicLength: 8, maxTopicLevels: 2 } });
    const c = new TestClient(broker, 5);
    await c.connect({ clientId: 'c' });
    publish(c, 'abcdefghij', 'x', 1);
    assert.equal(c.expect(PacketType.PUBACK).reasonCode, ReasonCode.TopicNameInvalid);
    publish(c, 'a/b/c', 'x', 1);
    assert.equal(c.expect(PacketType.PUBACK).reasonCode, ReasonCode.TopicNameInvalid);
    assert.deepEqual(observer.limits, ['max_topic_length', 'max_topic_levels']);
  });
});
