import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketType, ReasonCode } from '@mqtt-broker/mqtt-codec';
import { settle, TestClient } from '../src/testing/index.js';
import { setup } from './harness.js';

describe('CONNECT', () => {
  it('accepts 3.1, 3.1.1 and 5.0 CONNECTs', async () => {
    const { broker } = setup();
    for (const v of [3, 4, 5] as const) {
      const c = new TestClient(broker, v);
      const ack = await c.connect({ clientId: `v${v}` });
      assert.equal(ack.reasonCode, 0);
      assert.equal(ack.sessionPresent, false);
    }
    assert.equal(broker.stats().connectedClients, 3);
  });

  it('[MQTT-3.1.3-6] empty client id on 3.1.1 with clean session gets one assigned', async () => {
    const { broker } = setup();
    const c = new TestClient(broker, 4);
    assert.equal((await c.connect({ clientId: '' })).reasonCode, 0);
  });

  it('[MQTT-3.1.3-8] empty client id with clean session 0 on 3.1.1 -> return code 2', async () => {
    const { broker, observer } = setup();
    const c = new TestClient(broker, 4);
    const ack = await c.connect({ clientId: '', clean: false });
    assert.equal(ack.reasonCode, 2);
    assert.ok(c.closed);
    assert.equal(observer.kinds('rejected').length, 1);
  });

  it('3.1: empty client id -> return code 2; ids longer than 23 characters are accepted', async () => {
    const { broker } = setup();
    assert.equal((await new TestClient(broker, 3).connect({ clientId: '' })).reasonCode, 2);
    assert.equal((await new TestClient(broker, 3).connect({ clientId: 'x'.repeat(40) })).reasonCode, 0);
  });

  it('[MQTT-3.2.2-16] 5.0 empty client id -> Assigned Client Identifier, and the advertised properties', async () => {
    const { broker } = setup({ limits: { receiveMaximum: 50, maxPacketSize: 5000, topicAliasMaximum: 7 } });
    const c = new TestClient(broker, 5);
    const ack = await c.connect({ clientId: '' });
    const p = ack.properties!;
    assert.match(p.assignedClientIdentifier!, /^auto-/);
    assert.equal(p.receiveMaximum, 50);
    assert.equal(p.maximumPacketSize, 5000);
    assert.equal(p.topicAliasMaximum, 7);
    assert.equal(p.retainAvailable, 1);
    assert.equal(p.wildcardSubscriptionAvailable, 1);
    assert.equal(p.subscriptionIdentifiersAvailable, 1);
    assert.equal(p.sharedSubscriptionAvailable, 1);
    assert.equal(p.maximumQoS, undefined);
    assert.equal(p.serverKeepAlive, undefined);
  });

  it('[MQTT-3.2.2-21] Server Keep Alive when maxKeepAliveSeconds caps it, and Session Expiry when capped', async () => {
    const { broker } = setup({ limits: { maxKeepAliveSeconds: 30, maxSessionExpirySeconds: 100 } });
    const c = new TestClient(broker, 5);
    const ack = await c.connect({ keepAlive: 0, properties: { sessionExpiryInterval: 1000 } });
    assert.equal(ack.properties?.serverKeepAlive, 30);
    assert.equal(ack.properties?.sessionExpiryInterval, 100);
  });

  it('[MQTT-3.1.0-1] first packet not CONNECT -> closed', async () => {
    const { broker, observer } = setup();
    const c = new TestClient(broker, 4);
    c.sendRaw(Buffer.from([0xc0, 0x00])); // PINGREQ
    assert.ok(c.closed);
    assert.equal(observer.kinds('closedBeforeConnect').length, 1);
  });

  it('[MQTT-3.1.0-2] a second CONNECT is a protocol error (5.0: DISCONNECT 0x82)', async () => {
    const { broker } = setup();
    const c = new TestClient(broker, 5);
    await c.connect();
    c.send({ type: PacketType.CONNECT, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepAlive: 0, clientId: 'c' });
    await settle();
    const d = c.expect(PacketType.DISCONNECT);
    assert.equal(d.reasonCode, ReasonCode.ProtocolError);
    assert.ok(c.closed);
  });

  it('unsupported protocol level -> CONNACK return code 1 (3.1.1 form) / 0x84 (5.0 form for levels above 5)', async () => {
    const { broker } = setup();
    const c = new TestClient(broker, 4);
    // CONNECT with protocol level 6 and level 2
    const v6 = Buffer.from([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x06, 0x02, 0x00, 0x00, 0x00, 0x01, 0x61]);
    c.sendRaw(v6);
    assert.deepEqual(c.conn.frames[0], Buffer.from([0x20, 0x03, 0x00, 0x84, 0x00]));
    assert.ok(c.closed);
    const d = new TestClient(broker, 4);
    const v2 = Buffer.from(v6);
    v2[8] = 2;
    d.sendRaw(v2);
    assert.deepEqual(d.conn.frames[0], Buffer.from([0x20, 0x02, 0x00, 0x01]));
  });

  it('connect timeout closes a silent socket', async () => {
    const { broker, clock, observer } = setup({ limits: { connectTimeoutSeconds: 5 } });
    const c = new TestClient(broker, 4);
    clock.advance(4999);
    assert.ok(!c.closed);
    clock.advance(1);
    assert.ok(c.closed);
    assert.equal((observer.kinds('closedBeforeConnect')[0] as { cause: string }).cause, 'connect_timeout');
  });

  it('[MQTT-3.1.2-24] keep alive enforced at 1.5x, will published on timeout', async () => {
    const { broker, clock, observer } = setup();
    const sub = new TestClient(broker, 4);
    await sub.connect({ clientId: 'sub' });
    sub.send({ type: PacketType.SUBSCRIBE, packetId: 1, subscriptions: [{ topicFilter: 'will/#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    sub.expect(PacketType.SUBACK);
    const c = new TestClient(broker, 5);
    await c.connect({ clientId: 'k', keepAlive: 10, will: { topic: 'will/k', payload: Buffer.from('gone'), qos: 0, retain: false } });
    clock.advance(10_000);
    c.send({ type: PacketType.PINGREQ });
    c.expect(PacketType.PINGRESP);
    clock.advance(14_999);
    assert.ok(!c.closed);
    clock.advance(1);
    assert.equal(c.expect(PacketType.DISCONNECT).reasonCode, ReasonCode.KeepAliveTimeout);
    assert.ok(c.closed);
    const will = sub.expect(PacketType.PUBLISH);
    assert.equal(will.topic, 'will/k');
    assert.equal(will.payload.toString(), 'gone');
    const info = observer.kinds('disconnected')[0] as { cause: string };
    assert.equal(info.cause, 'keepalive_timeout');
  });

  it('max connections -> CONNACK 0x97 (5.0) / 3 (3.1.1), counted as limit hit', async () => {
    const { broker, observer } = setup({ limits: { maxConnections: 1 } });
    await new TestClient(broker, 4).connect({ clientId: 'a' });
    assert.equal((await new TestClient(broker, 5).connect({ clientId: 'b' })).reasonCode, ReasonCode.QuotaExceeded);
    assert.equal((await new TestClient(broker, 4).connect({ clientId: 'c' })).reasonCode, 3);
    assert.deepEqual(observer.limits, ['max_connections', 'max_connections']);
  });
});
