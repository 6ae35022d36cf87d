import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketType } from '@mqtt-broker/mqtt-codec';
import { createBrokerReady } from '@mqtt-broker/core';
import { ManualClock, TestClient } from '@mqtt-broker/core/testing';
import { createMemoryPorts } from '../src/index.js';

describe('broker with memory ports', () => {
  it('persistent sessions and retained messages survive a broker restart', async () => {
    const ports = createMemoryPorts();
    const clock = new ManualClock();
    const first = await createBrokerReady({ nodeId: 'n1', version: 't', clock, ports });
    const sub = new TestClient(first, 5);
    await sub.connect({ clientId: 'keep', clean: false, properties: { sessionExpiryInterval: 3600 } });
    sub.send({ type: PacketType.SUBSCRIBE, packetId: 1, subscriptions: [{ topicFilter: 'p/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }], properties: { subscriptionIdentifiers: [4] } });
    sub.expect(PacketType.SUBACK);
    sub.close();
    const pub = new TestClient(first, 4);
    await pub.connect({ clientId: 'pub' });
    pub.send({ type: PacketType.PUBLISH, dup: false, qos: 1, retain: false, topic: 'p/1', packetId: 1, payload: Buffer.from('queued') });
    pub.send({ type: PacketType.PUBLISH, dup: false, qos: 0, retain: true, topic: 'r', payload: Buffer.from('kept') });
    await first.close();
    assert.deepEqual(await ports.sessions.clientIds(), ['keep']);

    const second = await createBrokerReady({ nodeId: 'n1', version: 't', clock, ports });
    assert.equal(second.stats().retainedMessages, 1);
    const again = new TestClient(second, 5);
    const ack = await again.connect({ clientId: 'keep', clean: false, properties: { sessionExpiryInterval: 3600 } });
    assert.equal(ack.sessionPresent, true);
    const m = again.expect(PacketType.PUBLISH);
    assert.equal(m.payload.toString(), 'queued');
    assert.deepEqual(m.properties?.subscriptionIdentifiers, [4]);
    again.send({ type: PacketType.PUBACK, packetId: m.packetId! });
    const pub2 = new TestClient(second, 4);
    await pub2.connect({ clientId: 'pub2' });
    pub2.send({ type: PacketType.PUBLISH, dup: false, qos: 0, retain: false, topic: 'p/2', payload: Buffer.from('live') });
    assert.equal(again.expect(PacketType.PUBLISH).payload.toString(), 'live', 'subscriptions restored');
    await second.close();
  });

  it('an ended session is deleted from the store', async () => {
    const ports = createMemoryPorts();
    const clock = new ManualClock();
    const broker = await createBrokerReady({ nodeId: 'n1', version: 't', clock, ports });
    const c = new TestClient(broker, 5);
    await c.connect({ clientId: 'short', clean: false, properties: { sessionExpiryInterval: 5 } });
    c.close();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(await ports.sessions.clientIds(), ['short']);
    clock.advance(5000);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(await ports.sessions.clientIds(), []);
    await broker.close();
  });
});
