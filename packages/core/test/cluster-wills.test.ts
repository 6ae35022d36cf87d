/**
 * Wills in a cluster (cluster/wills.ts), driven packet by packet against an in-memory will hash,
 * client registry and retained store: what a node keeps in shared storage while a will waits,
 * what a drain holds, and what a survivor publishes for a dead node (when due, unless the client
 * came back; with the stored user name for the authorizer). Retained wills make a publication
 * visible after the subscribers are gone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketType, type Will } from '@mqtt-broker/mqtt-codec';
import { waitUntil } from '@mqtt-broker/test-support';
import {
  type Broker,
  type ClientRegistration,
  type ClientRegistry,
  createBrokerReady,
  type DurablePort,
  type NodeCleanup,
  type RetainStore,
  type StoredMessage,
  type StoredWill,
} from '../src/index.js';
import { settle, TestClient } from '../src/testing/index.js';
import { durablePortDefaults } from './durable-stub.js';

interface World {
  port: DurablePort & { hash: Map<string, Map<string, StoredWill>>; dead?: (nodeId: string) => Promise<NodeCleanup> };
  owners: Map<string, ClientRegistration>;
  retained: Map<string, StoredMessage>;
  broker: Broker;
}

async function world(graceMs = 30_000, allow?: (username: string | undefined, topic: string) => boolean): Promise<World> {
  const hash = new Map<string, Map<string, StoredWill>>();
  const of = (nodeId: string) => hash.get(nodeId) ?? hash.set(nodeId, new Map()).get(nodeId)!;
  const port: World['port'] = {
    ...durablePortDefaults(),
    hash,
    drainWillGraceMs: graceMs,
    drain: async () => 0,
    setWill: async (nodeId, will) => {
      of(nodeId).set(will.clientId, will);
    },
    deleteWill: async (nodeId, clientId) => {
      of(nodeId).delete(clientId);
    },
    takeWills: async (nodeId) => {
      const wills = [...of(nodeId).values()];
      hash.delete(nodeId);
      return wills;
    },
    adoptClient: async () => undefined,
    onNodeDead(handler) {
      port.dead = handler;
    },
  };
  const owners = new Map<string, ClientRegistration>();
  let epoch = 0;
  const registry: ClientRegistry = {
    register: async (clientId, nodeId) => {
      const previous = owners.get(clientId);
      const registration = { nodeId, epoch: ++epoch };
      owners.set(clientId, registration);
      return { registration, previous };
    },
    unregister: async (clientId, r) => {
      const cur = owners.get(clientId);
      if (cur?.nodeId !== r.nodeId || cur.epoch !== r.epoch) return false;
      owners.delete(clientId);
      return true;
    },
    lookup: async (clientId) => owners.get(clientId),
  };
  const retained = new Map<string, StoredMessage>();
  const retain: RetainStore = {
    set: async (topic, m) => {
      retained.set(topic, m);
    },
    delete: async (topic) => {
      retained.delete(topic);
    },
    get: async (topic) => retained.get(topic),
    loadAll: async () => [],
  };
  const broker = await createBrokerReady({
    nodeId: 'me',
    version: 'test',
    ports: { registry, retained: retain },
    durable: port,
    ...(allow !== undefined ? { authorizer: { canPublish: (c, topic) => allow(c.username, topic) } } : {}),
  });
  return { port, owners, retained, broker };
}

function will(topic: string, delaySeconds?: number): Will {
  return { topic, payload: Buffer.from(`will of ${topic}`), qos: 1, retain: true, ...(delaySeconds !== undefined ? { properties: { willDelayInterval: delaySeconds } } : {}) };
}

function stored(clientId: string, topic: string, dueAt: number, username?: string): StoredWill {
  return { clientId, delaySeconds: 0, dueAt, ...(username !== undefined ? { username } : {}), message: { topic, payload: Buffer.from('w'), qos: 1, retain: true, expiresAt: 0, publisherId: clientId } };
}

describe('cluster wills: stored while they wait, held on drain, published by a survivor when due', () => {
  it('stored with the user name; a network loss in the Will Delay keeps it with its due time; the reconnect discards it [MQTT-3.1.3-9]', async () => {
    const { port, broker } = await world();
    const c = new TestClient(broker, 5);
    await c.connect({ clientId: 'c', clean: false, username: 'u', properties: { sessionExpiryInterval: 300 }, will: will('w/c', 60) });
    await settle();
    const live = port.hash.get('me')?.get('c');
    assert.equal(live?.username, 'u');
    assert.equal(live?.dueAt ?? 0, 0, 'no due time while connected');
    const t = Date.now();
    c.close(true);
    await settle();
    const waiting = port.hash.get('me')?.get('c');
    assert.ok(waiting?.dueAt !== undefined && Math.abs(waiting.dueAt - (t + 60_000)) < 1000, `due at the end of the 60 s delay (${(waiting?.dueAt ?? 0) - t} ms)`);
    assert.equal(waiting?.username, 'u');
    const again = new TestClient(broker, 5);
    await again.connect({ clientId: 'c', clean: false, properties: { sessionExpiryInterval: 300 } });
    await settle();
    assert.equal(port.hash.get('me')?.has('c'), false, 'reconnected without a will: the waiting one is gone');
    await broker.close();
  });

  it('a session that expires before the delay ends makes that the due time; a normal DISCONNECT deletes the will', async () => {
    const { port, broker } = await world();
    const s = new TestClient(broker, 5);
    await s.connect({ clientId: 's', clean: false, properties: { sessionExpiryInterval: 5 }, will: will('w/s', 60) });
    const t = Date.now();
    s.close(true);
    await settle();
    const due = port.hash.get('me')?.get('s')?.dueAt ?? 0;
    assert.ok(Math.abs(due - (t + 5000)) < 1000, `due when the 5 s session ends (${due - t} ms)`);
    const p = new TestClient(broker, 5);
    await p.connect({ clientId: 'p', will: will('w/p') });
    await settle();
    assert.equal(port.hash.get('me')?.has('p'), true);
    p.send({ type: PacketType.DISCONNECT, reasonCode: 0 });
    await settle();
    assert.equal(port.hash.get('me')?.has('p'), false);
    await broker.close();
  });

  it('drain: each will is held for the grace, then published only for the client that did not come back elsewhere', async () => {
    const { port, owners, retained, broker } = await world(150);
    const stay = new TestClient(broker, 4);
    await stay.connect({ clientId: 'stay', will: will('w/stay') });
    const moved = new TestClient(broker, 4);
    await moved.connect({ clientId: 'moved', will: will('w/moved') });
    const polite = new TestClient(broker, 4);
    await polite.connect({ clientId: 'polite', will: will('w/polite') });
    polite.send({ type: PacketType.DISCONNECT, reasonCode: 0 });
    await settle();
    const t = Date.now();
    await broker.drain(0);
    await settle();
    assert.deepEqual([...(port.hash.get('me')?.keys() ?? [])].sort(), ['moved', 'stay'], 'the polite client left no will');
    for (const w of port.hash.get('me')?.values() ?? []) assert.ok((w.dueAt ?? 0) >= t + 150, 'held for the grace');
    assert.equal(retained.size, 0, 'nothing published at the drain');
    owners.set('moved', { nodeId: 'other', epoch: 99 }); // connected to another node meanwhile
    await waitUntil(() => retained.has('w/stay'), 2000, 'the will of the client that did not come back');
    await waitUntil(() => (port.hash.get('me')?.size ?? 0) === 0, 2000, 'both wills gone from the hash');
    assert.deepEqual([...retained.keys()], ['w/stay']);
    await broker.close();
  });

  it('survivor: a live will at once, a waiting one when due, none for a client that came back; each with its user name for the authorizer', async () => {
    const { port, owners, retained, broker } = await world(30_000, (username, topic) => topic === `acl/${username}`);
    const now = Date.now();
    port.hash.set(
      'dead',
      new Map([
        ['live', stored('live', 'acl/alice', 0, 'alice')],
        ['anon', stored('anon', 'acl/alice', 0)],
        ['later', stored('later', 'acl/bob', now + 1000, 'bob')],
        ['back', stored('back', 'acl/carol', now + 1000, 'carol')],
      ]),
    );
    owners.set('back', { nodeId: 'elsewhere', epoch: 7 });
    const cleanup = await port.dead!('dead');
    assert.equal(cleanup.wills, 2, 'the two live wills were taken and handed to the authorizer at once');
    assert.deepEqual([...retained.keys()], ['acl/alice'], "alice's will with her user name; the anonymous one refused");
    assert.deepEqual([...(port.hash.get('me')?.keys() ?? [])].sort(), ['back', 'later'], 'the waiting ones moved to this node');
    assert.ok(Date.now() < now + 1000 || !retained.has('acl/bob'), 'not before its due time');
    await waitUntil(() => retained.has('acl/bob'), 3000, "bob's will when due");
    assert.ok(Date.now() >= now + 1000, 'not before its due time');
    await waitUntil(() => (port.hash.get('me')?.size ?? 0) === 0, 2000, 'no will left waiting');
    assert.equal(retained.has('acl/carol'), false, 'carol connected elsewhere: discarded');
    await broker.close();
  });
});
