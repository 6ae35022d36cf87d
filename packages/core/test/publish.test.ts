import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketType, type QoS, ReasonCode } from '@mqtt-broker/mqtt-codec';
import { TestClient } from '../src/testing/index.js';
import { setup, sub, subscriber } from './harness.js';

describe('PUBLISH', () => {
  it('QoS 0 from a 3.1.1 publisher reaches 3.1, 3.1.1 and 5.0 subscribers', async () => {
    const { broker, observer } = setup();
    const subs = await Promise.all([3, 4, 5].map((v) => subscriber(broker, `s${v}`, [sub('a/+')], v as 3 | 4 | 5)));
    const pub = new TestClient(broker, 4);
    await pub.connect({ clientId: 'p' });
    pub.send({ type: PacketType.PUBLISH, dup: false, qos: 0, retain: false, topic: 'a/b', payload: Buffer.from('hi') });
    for (const s of subs) {
      const m = s.expect(PacketType.PUBLISH);
      assert.equal(m.topic, 'a/b');
      assert.equal(m.payload.toString(), 'hi');
      assert.equal(m.qos, 0);
    }
    assert.equal(observer.published, 1);
    assert.equal(observer.delivered, 3);
  });

  it('[MQTT-4.3.2-4] QoS 1 inbound gets PUBACK; outbound QoS 1 waits for PUBACK; granted QoS caps delivery [MQTT-3.8.4-8]', async () => {
    const { broker } = setup();
    const s1 = await subscriber(broker, 's1', [sub('t', 1)]);
    const s0 = await subscriber(broker, 's0', [sub('t', 0)]);
    const pub = new TestClient(broker, 4);
    await pub.connect({ clientId: 'p' });
    pub.send({ type: PacketType.PUBLISH, dup: false, qos: 1, retain: false, topic: 't', packetId: 42, payload: Buffer.from('x') });
    assert.equal(pub.expect(PacketType.PUBACK).packetId, 42);
    const m1 = s1.expect(PacketType.PUBLISH);
    assert.equal(m1.qos, 1);
    assert.ok(m1.packetId! > 0);
    assert.equal(s0.expect(PacketType.PUBLISH).qos, 0);
    assert.equal(broker.stats().inflightMessages, 1);
    s1.send({ type: PacketType.PUBACK, packetId: m1.packetId! });
    assert.equal(broker.stats().inflightMessages, 0);
  });

  it('QoS 2 both ways: PUBREC/PUBREL/PUBCOMP, duplicate PUBLISH not delivered twice [MQTT-4.3.3-9]', async () => {
    const { broker } = setup();
    const s = await subscriber(broker, 's', [sub('q2', 2)]);
    const pub = new TestClient(broker, 5);
    await pub.connect({ clientId: 'p' });
    const publish = { type: PacketType.PUBLISH, dup: false, qos: 2 as const, retain: false, topic: 'q2', packetId: 7, payload: Buffer.from('once') };
    pub.send(publish);
    assert.equal(pub.expect(PacketType.PUBREC).packetId, 7);
    pub.send({ ...publish, dup: true });
    assert.equal(pub.expect(PacketType.PUBREC).packetId, 7);
    pub.send({ type: PacketType.PUBREL, packetId: 7 });
    assert.equal(pub.expect(PacketType.PUBCOMP).packetId, 7);
    const m = s.expect(PacketType.PUBLISH);
    assert.ok(s.idle, 'delivered exactly once');
    assert.equal(m.qos, 2);
    s.send({ type: PacketType.PUBREC, packetId: m.packetId! });
    assert.equal(s.expect(PacketType.PUBREL).packetId, m.packetId);
    s.send({ type: PacketType.PUBCOMP, packetId: m.packetId! });
    assert.equal(broker.stats().inflightMessages, 0);
  });

  it('5.0 PUBACK 0x10 No matching subscribers', async () => {
    const { broker } = setup();
    const pub = new TestClient(broker, 5);
    await pub.connect({ clientId: 'p' });
    pub.send({ type: PacketType.PUBLISH, dup: false, qos: 1, retain: false, topic: 'nobody', packetId: 1, payload: Buffer.from('x') });
    assert.equal(pub.expect(PacketType.PUBACK).reasonCode, ReasonCode.NoMatchingSubscribers);
  });

  it('PUBREL for an unknown packet id -> PUBCOMP 0x92 (5.0)', async () => {
    const { broker } = setup();
    const c = new TestClient(broker, 5);
    await c.connect();
    c.send({ type: PacketType.PUBREL, packetId: 5 });
    assert.equal(c.expect(PacketType.PUBCOMP).reasonCode, ReasonCode.PacketIdentifierNotFound);
  });

  it('message order per topic is kept', async () => {
    const { broker } = setup();
    const s = await subscriber(broker, 's', [sub('o', 1)]);
    const pub = new TestClient(broker, 4);
    await pub.connect({ clientId: 'p' });
    for (let i = 0; i < 20; i++) pub.send({ type: PacketType.PUBLISH, dup: false, qos: (i % 2) as QoS, retain: false, topic: 'o', packetId: i % 2 ? i : undefined, payload: Buffer.from(String(i)) });
    const got = s.take().filter((p) => p.type === PacketType.PUBLISH).map((p) => (p.type === PacketType.PUBLISH ? p.payload.toString() : ''));
    assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => String(i)));
  });

  it('PINGREQ -> PINGRESP [MQTT-3.12.4-1]; DISCONNECT closes without will [MQTT-3.14.4-3]', async () => {
    const { broker, observer } = setup();
    const s = await subscriber(broker, 's', [sub('w')]);
    const c = new TestClient(broker, 4);
    await c.connect({ clientId: 'c', will: { topic: 'w', payload: Buffer.from('will'), qos: 0, retain: false } });
    c.send({ type: PacketType.PINGREQ });
    c.expect(PacketType.PINGRESP);
    c.send({ type: PacketType.DISCONNECT, reasonCode: 0 });
    assert.ok(c.closed);
    c.close();
    assert.ok(s.idle);
    assert.equal((observer.kinds('disconnected')[0] as { cause: string }).cause, 'client_disconnect');
  });

  it('UNSUBSCRIBE stops delivery; 5.0 UNSUBACK reason codes 0x00 / 0x11', async () => {
    const { broker } = setup();
    const s = await subscriber(broker, 's', [sub('u/#')], 5);
    s.send({ type: PacketType.UNSUBSCRIBE, packetId: 2, topicFilters: ['u/#', 'nope'] });
    assert.deepEqual(s.expect(PacketType.UNSUBACK).reasonCodes, [0, ReasonCode.NoSubscriptionExisted]);
    const pub = new TestClient(broker, 4);
    await pub.connect({ clientId: 'p' });
    pub.send({ type: PacketType.PUBLISH, dup: false, qos: 0, retain: false, topic: 'u/1', payload: Buffer.from('x') });
    assert.ok(s.idle);
    assert.equal(broker.stats().subscriptions, 0);
  });
});
