import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketType, ReasonCode } from '@mqtt-broker/mqtt-codec';
import { TestClient } from '../src/testing/index.js';
import { payloads, publish, setup, sub, subscriber } from './harness.js';

describe('sessions', () => {
  it('[MQTT-3.2.2-2] 3.1.1 clean=0 resumes the session: session present, subscriptions kept, QoS 1 queued while offline', async () => {
    const { broker, observer } = setup();
    const s = await subscriber(broker, 'p1', [sub('t', 1)], 4, false);
    s.close();
    const pub = new TestClient(broker, 4);
    await pub.connect({ clientId: 'pub' });
    publish(pub, 't', 'q1', 1);
    publish(pub, 't', 'q0', 0);
    assert.equal(broker.stats().queuedMessages, 1);
    assert.deepEqual(observer.drops.map((d) => d.reason), ['qos0_offline']);
    const again = new TestClient(broker, 4);
    const ack = await again.connect({ clientId: 'p1', clean: false });
    assert.equal(ack.sessionPresent, true);
    assert.deepEqual(payloads(again), ['q1']);
    assert.equal(broker.stats().sessionsOffline, 0);
  });

  it('[MQTT-3.1.2-4] clean start discards the old session: session present 0, no subscriptions', async () => {
    const { broker } = setup();
    const s = await subscriber(broker, 'p2', [sub('t', 1)], 4, false);
    s.close();
    const again = new TestClient(broker, 4);
    assert.equal((await again.connect({ clientId: 'p2', clean: true })).sessionPresent, false);
    assert.equal(broker.stats().subscriptions, 0);
  });

  it('[MQTT-4.4.0-1] unacknowledged PUBLISH resent with DUP=1 and same id; PUBREL resent for PUBREC-ed', async () => {
    const { broker } = setup();
    const s = await subscriber(broker, 'r', [sub('a', 1), sub('b', 2)], 5, false);
    const pub = new TestClient(broker, 4);
    await pub.connect({ clientId: 'pub' });
    publish(pub, 'a', 'one', 1);
    publish(pub, 'b', 'two', 2);
    const m1 = s.expect(PacketType.PUBLISH);
    const m2 = s.expect(PacketType.PUBLISH);
    s.send({ type: PacketType.PUBREC, packetId: m2.packetId! });
    s.expect(PacketType.PUBREL);
    s.close();
    const again = new TestClient(broker, 5);
    const ack = await again.connect({ clientId: 'r', clean: false, properties: { sessionExpiryInterval: 3600 } });
    assert.equal(ack.sessionPresent, true);
    const re = again.expect(PacketType.PUBLISH);
    assert.equal(re.packetId, m1.packetId);
    assert.equal(re.dup, true);
    assert.equal(re.payload.toString(), 'one');
    assert.equal(again.expect(PacketType.PUBREL).packetId, m2.packetId);
    again.send({ type: PacketType.PUBACK, packetId: m1.packetId! });
    again.send({ type: PacketType.PUBCOMP, packetId: m2.packetId! });
    assert.equal(broker.stats().inflightMessages, 0);
  });

  it('inbound QoS 2 state survives a reconnect: PUBREL after reconnect completes without redelivery', async () => {
    const { broker } = setup();
    const s = await subscriber(broker, 'watch', [sub('x', 2)]);
    const pub = new TestClient(broker, 4);
    await pub.connect({ clientId: 'q2pub', clean: false });
    pub.send({ type: PacketType.PUBLISH, dup: false, qos: 2, retain: false, topic: 'x', packetId: 9, payload: Buffer.from('once') });
    pub.expect(PacketType.PUBREC);
    pub.close();
    const again = new TestClient(broker, 4);
    await again.connect({ clientId: 'q2pub', clean: false });
    again.send({ type: PacketType.PUBLISH, dup: true, qos: 2, retain: false, topic: 'x', packetId: 9, payload: Buffer.from('once') });
    again.expect(PacketType.PUBREC);
    again.send({ type: PacketType.PUBREL, packetId: 9 });
    assert.equal(again.expect(PacketType.PUBCOMP).reasonCode ?? 0, 0);
    assert.deepEqual(payloads(s), ['once']);
  });

  it('[MQTT-3.1.4-3] a second connection with the same id takes over: old gets DISCONNECT 0x8E and is closed', async () => {
    const { broker, observer } = setup();
    const a = new TestClient(broker, 5);
    await a.connect({ clientId: 'same' });
    const b = new TestClient(broker, 5);
    assert.equal((await b.connect({ clientId: 'same' })).reasonCode, 0);
    assert.equal(a.expect(PacketType.DISCONNECT).reasonCode, ReasonCode.SessionTakenOver);
    assert.ok(a.closed);
    a.close();
    assert.equal(broker.stats().connectedClients, 1);
    assert.equal((observer.kinds('disconnected')[0] as { cause: string }).cause, 'session_taken_over');
  });

  it('takeover publishes the old connection will (no delay), not on resume with will delay', async () => {
    const { broker } = setup();
    const w = await subscriber(broker, 'w', [sub('will/#')]);
    const a = new TestClient(broker, 4);
    await a.connect({ clientId: 'tw', will: { topic: 'will/a', payload: Buffer.from('A'), qos: 0, retain: false } });
    await new TestClient(broker, 4).connect({ clientId: 'tw' });
    assert.deepEqual(payloads(w), ['A']);
    const c = new TestClient(broker, 5);
    await c.connect({
      clientId: 'tw5',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: { topic: 'will/c', payload: Buffer.from('C'), qos: 0, retain: false, properties: { willDelayInterval: 10 } },
    });
    await new TestClient(broker, 5).connect({ clientId: 'tw5', clean: false, properties: { sessionExpiryInterval: 60 } });
    assert.deepEqual(payloads(w), []);
  });

  it('v5 session expiry: session removed after the interval; DISCONNECT may change it', async () => {
    const { broker, clock } = setup();
    const s = await subscriber(broker, 'e', [sub('t', 1)], 5, false);
    s.send({ type: PacketType.DISCONNECT, reasonCode: 0, properties: { sessionExpiryInterval: 10 } });
    assert.equal(broker.stats().sessionsOffline, 1);
    clock.advance(9_999);
    assert.equal(broker.stats().sessionsOffline, 1);
    clock.advance(1);
    assert.equal(broker.stats().sessionsOffline, 0);
    assert.equal(broker.stats().subscriptions, 0);
  });

  it('[MQTT-3.14.2-2] DISCONNECT with non-zero Session Expiry after 0 on CONNECT is a protocol error', async () => {
    const { broker } = setup();
    const c = new TestClient(broker, 5);
    await c.connect({ clientId: 'z' });
    c.send({ type: PacketType.DISCONNECT, reasonCode: 0, properties: { sessionExpiryInterval: 10 } });
    assert.equal(c.expect(PacketType.DISCONNECT).reasonCode, ReasonCode.ProtocolError);
    assert.ok(c.closed);
  });

  it('v5 clean start with expiry 0: session ends at disconnect', async () => {
    const { broker } = setup();
    const s = await subscriber(broker, 'gone', [sub('t', 1)], 5);
    s.send({ type: PacketType.DISCONNECT, reasonCode: 0 });
    assert.equal(broker.stats().sessionsOffline, 0);
    assert.equal(broker.stats().subscriptions, 0);
  });
});
