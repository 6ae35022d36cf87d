/**
 * One conformance suite for every implementation of the ports (memory today, Redis later), in
 * the style of aedes-persistence's abstract tests. Call it from a test file:
 *   runPortConformance('memory', async () => ({ ports: createMemoryPorts(), close: async () => {} }));
 * Every test gets fresh ports. Ports missing from the factory's result are skipped.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrokerPorts, RouteChange, SessionSnapshot, StoredMessage } from '../ports.js';
import { waitUntil } from '@mqtt-broker/test-support';

export type PortFactory = () => Promise<{ ports: BrokerPorts; close?: () => Promise<void> }>;

function message(topic: string, payload = 'x'): StoredMessage {
  return { topic, payload: Buffer.from(payload), qos: 1, retain: true, expiresAt: 0, properties: { contentType: 'text/plain' } };
}

function snapshot(clientId: string): SessionSnapshot {
  return {
    clientId,
    protocolVersion: 5,
    expiryIntervalSeconds: 3600,
    disconnectedAt: 1000,
    subscriptions: [{ topicFilter: 'a/+', qos: 1, noLocal: false, retainAsPublished: true, retainHandling: 0, subscriptionIdentifier: 7 }],
    inflight: [{ packetId: 3, state: 'publish', qos: 1, retain: false, message: message('a/b', 'in flight') }],
    queued: [{ message: message('a/c', 'queued'), qos: 2, retain: false, subscriptionIds: [7] }],
    inboundQos2: [9],
    nextPacketId: 4,
  };
}

export function runPortConformance(name: string, factory: PortFactory): void {
  async function withPorts(fn: (ports: BrokerPorts) => Promise<void>): Promise<void> {
    const { ports, close } = await factory();
    try {
      await fn(ports);
    } finally {
      await close?.();
    }
  }

  describe(`port conformance: ${name}`, () => {
    it('SessionStore: save, load (deep equal, payloads intact), replace, delete, list', () =>
      withPorts(async ({ sessions }) => {
        if (sessions === undefined) return;
        assert.equal(await sessions.load('nobody'), undefined);
        const s = snapshot('c1');
        await sessions.save(s);
        const loaded = await sessions.load('c1');
        assert.deepEqual(loaded, s);
        assert.ok(Buffer.isBuffer(loaded?.queued[0].message.payload));
        await sessions.save({ ...s, nextPacketId: 99 });
        assert.equal((await sessions.load('c1'))?.nextPacketId, 99);
        await sessions.save(snapshot('c2'));
        assert.deepEqual((await sessions.clientIds()).sort(), ['c1', 'c2']);
        await sessions.delete('c1');
        await sessions.delete('c1');
        assert.equal(await sessions.load('c1'), undefined);
        assert.deepEqual(await sessions.clientIds(), ['c2']);
      }));

    it('SessionStore: a loaded snapshot is not affected by later mutation of the saved object', () =>
      withPorts(async ({ sessions }) => {
        if (sessions === undefined) return;
        const s = snapshot('c1');
        await sessions.save(s);
        s.subscriptions.push({ topicFilter: 'z', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 });
        assert.equal((await sessions.load('c1'))?.subscriptions.length, 1);
      }));

    it('RetainStore: set, get, replace, delete, loadAll', () =>
      withPorts(async ({ retained }) => {
        if (retained === undefined) return;
        assert.equal(await retained.get('a'), undefined);
        await retained.set('a', message('a', '1'));
        await retained.set('b/c', message('b/c', '2'));
        await retained.set('a', message('a', '3'));
        assert.equal((await retained.get('a'))?.payload.toString(), '3');
        assert.deepEqual((await retained.get('a'))?.properties, { contentType: 'text/plain' });
        const all = await retained.loadAll();
        assert.deepEqual(all.map((m) => m.topic).sort(), ['a', 'b/c']);
        await retained.delete('a');
        await retained.delete('missing');
        assert.deepEqual((await retained.loadAll()).map((m) => m.topic), ['b/c']);
      }));

    it('RouteTable: one entry per (filter, node), watch sees changes in order, removeNode', () =>
      withPorts(async ({ routes }) => {
        if (routes === undefined) return;
        const seen: RouteChange[] = [];
        const stop = routes.watch((c) => seen.push(c));
        await routes.addRoute('a/#', 'n1');
        await routes.addRoute('a/#', 'n1');
        await routes.addRoute('a/#', 'n2');
        await routes.addRoute('b', 'n1');
        const sorted = (await routes.routes()).map((r) => `${r.filter}@${r.nodeId}`).sort();
        assert.deepEqual(sorted, ['a/#@n1', 'a/#@n2', 'b@n1']);
        await routes.removeRoute('a/#', 'n2');
        await routes.removeNode('n1');
        assert.deepEqual(await routes.routes(), []);
        await waitUntil(() => seen.some((c) => c.op === 'remove' && c.filter === 'b'), 2000, "the watcher saw route b removed");
        stop();
        await routes.addRoute('c', 'n3');
        const adds = seen.filter((c) => c.op === 'add').map((c) => `${c.filter}@${c.nodeId}`);
        assert.deepEqual(adds, ['a/#@n1', 'a/#@n2', 'b@n1']);
        assert.deepEqual(seen[seen.length - 1].op, 'remove');
      }));

    it('NodeBus: messages reach the listening node only, in order; stop ends delivery', () =>
      withPorts(async ({ bus }) => {
        if (bus === undefined) return;
        const got1: string[] = [];
        const got2: string[] = [];
        const stop1 = await bus.listen('n1', (m) => got1.push(m.payload.toString()));
        const stop2 = await bus.listen('n2', (m) => got2.push(m.payload.toString()));
        for (let i = 0; i < 5; i++) bus.send('n1', message('t', String(i)));
        bus.send('n2', message('t', 'x'));
        await waitUntil(() => got1.length === 5 && got2.length === 1, 2000, 'five messages on n1, one on n2');
        assert.deepEqual(got1, ['0', '1', '2', '3', '4']);
        await stop1();
        bus.send('n1', message('t', 'late'));
        bus.send('n2', message('t', 'y'));
        await waitUntil(() => got2.length === 2, 2000, 'a second message on n2');
        assert.equal(got1.length, 5);
        await stop2();
      }));

    it('ClientRegistry: epochs grow, previous owner reported, stale unregister refused', () =>
      withPorts(async ({ registry }) => {
        if (registry === undefined) return;
        assert.equal(await registry.lookup('c'), undefined);
        const a = await registry.register('c', 'n1');
        assert.equal(a.previous, undefined);
        const b = await registry.register('c', 'n2');
        assert.deepEqual(b.previous, a.registration);
        assert.ok(b.registration.epoch > a.registration.epoch);
        assert.equal(await registry.unregister('c', a.registration), false);
        assert.deepEqual(await registry.lookup('c'), b.registration);
        assert.equal(await registry.unregister('c', b.registration), true);
        assert.equal(await registry.lookup('c'), undefined);
      }));
  });
}
