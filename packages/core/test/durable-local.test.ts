/**
 * Local copies for persistent sessions in cluster mode (router.ts `durableLocal`, docs/cluster.md
 * "Durable QoS 1/2 between nodes"), against a loopback DurablePort the test drives by hand: a
 * QoS 1/2 copy for a persistent session of the publishing node goes into the node's own inbox
 * (the publisher's ack waits for the append) and reaches the session only when the inbox entry is
 * consumed, which returns the session's snapshot to save with the entry's acknowledgement. Clean
 * sessions and QoS 0 copies are delivered at once; no-local, subscription ids, retain-as-published
 * and shared groups behave as with direct delivery.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketType, type PublishPacket } from '@mqtt-broker/mqtt-codec';
import { type Broker, createBrokerReady, type DurableBatchHandler, type DurableMessage, type DurablePort, type SessionSnapshot, type SessionStore } from '../src/index.js';
import { settle, TestClient } from '../src/testing/index.js';
import { durablePortDefaults, fixedRoutes, quietBus } from './durable-stub.js';

interface Loopback extends DurablePort {
  appends: Array<{ nodeId: string; dm: DurableMessage; resolve: () => void }>;
  up: boolean;
  /** Hands every append made so far to this node's consumer as one batch; returns the snapshots to save. */
  consumeAll(): SessionSnapshot[];
}

function loopback(): Loopback {
  let handler: DurableBatchHandler | undefined;
  let consumed = 0;
  const port: Loopback = {
    ...durablePortDefaults(),
    appends: [],
    up: true,
    append(nodeId, dm) {
      return new Promise<void>((resolve) => port.appends.push({ nodeId, dm, resolve }));
    },
    available: () => port.up,
    consume: async (_nodeId, h) => {
      handler = h;
      return async () => {};
    },
    consumeAll() {
      const batch = port.appends.slice(consumed).map((a) => a.dm);
      consumed = port.appends.length;
      return handler === undefined || batch.length === 0 ? [] : handler(batch);
    },
  };
  return port;
}

async function node(port: DurablePort, sessions?: SessionStore): Promise<Broker> {
  return createBrokerReady({ nodeId: 'me', version: 'test', ports: { routes: fixedRoutes(), bus: quietBus(), ...(sessions !== undefined ? { sessions } : {}) }, durable: port });
}

async function client(b: Broker, clientId: string, persistent: boolean): Promise<TestClient> {
  const c = new TestClient(b, 5);
  await c.connect({ clientId, clean: !persistent, ...(persistent ? { properties: { sessionExpiryInterval: 600 } } : {}) });
  return c;
}

async function subscribe(c: TestClient, topicFilter: string, qos: 0 | 1 | 2, extra: { noLocal?: boolean; retainAsPublished?: boolean; id?: number } = {}): Promise<void> {
  c.send({
    type: PacketType.SUBSCRIBE,
    packetId: 1,
    subscriptions: [{ topicFilter, qos, noLocal: extra.noLocal ?? false, retainAsPublished: extra.retainAsPublished ?? false, retainHandling: 0 }],
    ...(extra.id !== undefined ? { properties: { subscriptionIdentifiers: [extra.id] } } : {}),
  } as never);
  await settle();
  c.expect(PacketType.SUBACK);
}

function publish(c: TestClient, topic: string, qos: 0 | 1 | 2, packetId: number, retain = false, expirySeconds?: number): void {
  const properties = expirySeconds === undefined ? {} : { properties: { messageExpiryInterval: expirySeconds } };
  c.send({ type: PacketType.PUBLISH, topic, payload: Buffer.from(String(packetId)), qos, retain, dup: false, packetId, ...properties } as never);
}

function publishes(c: TestClient): PublishPacket[] {
  return c.take().filter((p): p is PublishPacket => p.type === PacketType.PUBLISH);
}

/** A session store whose saves land only when the test says so. */
function heldStore(): { store: SessionStore; saves: Array<{ snapshot: SessionSnapshot; land: () => void }>; landAll: () => Promise<void>; release: () => void } {
  const saves: Array<{ snapshot: SessionSnapshot; land: () => void }> = [];
  let held = true;
  const store: SessionStore = {
    load: async () => undefined,
    save: (snapshot) => (held ? new Promise<void>((land) => saves.push({ snapshot, land })) : Promise.resolve()),
    delete: async () => {},
    clientIds: async () => [],
  };
  /** Lands every save, and the saves started for changes made while they were in flight. */
  const landAll = async (): Promise<void> => {
    for (let round = 0; round < 10 && saves.length > 0; round++) {
      for (const s of saves.splice(0)) s.land();
      await settle();
      await settle();
    }
  };
  /** Every save lands at once from now on (closing the broker saves its sessions). */
  const release = (): void => {
    held = false;
    for (const s of saves.splice(0)) s.land();
  };
  return { store, saves, landAll, release };
}

/** A node whose session saves land when the test says so, and a persistent client subscribed to `filter`. */
async function heldNode(clientId: string, filter: string, qos: 1 | 2) {
  const port = loopback();
  const held = heldStore();
  const b = await node(port, held.store);
  const durable = await client(b, clientId, true);
  durable.send({ type: PacketType.SUBSCRIBE, packetId: 1, subscriptions: [{ topicFilter: filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }] } as never);
  await settle();
  await held.landAll();
  durable.expect(PacketType.SUBACK);
  return { port, b, durable, ...held };
}

describe('durable local copies for persistent sessions', () => {
  it('QoS 1 to a persistent session goes through the own inbox (ack waits for the append); a clean session gets it at once', async () => {
    const port = loopback();
    const b = await node(port);
    const clean = await client(b, 'clean', false);
    const durable = await client(b, 'durable', true);
    await subscribe(clean, 't/#', 1);
    await subscribe(durable, 't/#', 1);
    const pub = await client(b, 'pub', false);
    publish(pub, 't/1', 1, 1);
    await settle();
    assert.equal(publishes(clean).length, 1, 'the clean session got it directly');
    assert.equal(publishes(durable).length, 0, 'the persistent one waits for the inbox');
    assert.equal(port.appends.length, 1, 'one append, to this node');
    assert.equal(port.appends[0].nodeId, 'me');
    assert.equal(port.appends[0].dm.local, true);
    assert.match(port.appends[0].dm.id ?? '', /^me:[0-9a-z]+\.\d+$/);
    assert.ok(pub.idle, 'no PUBACK before the append is stored');
    port.appends[0].resolve();
    await settle();
    assert.equal(pub.expect(PacketType.PUBACK).reasonCode ?? 0, 0);

    const snapshots = port.consumeAll();
    assert.deepEqual(
      snapshots.map((s) => [s.clientId, s.inflight.length + s.queued.length]),
      [['durable', 1]],
      'the persistent session is saved with the entry, holding the copy',
    );
    const got = publishes(durable);
    assert.deepEqual(
      got.map((p) => [p.topic, p.qos, p.payload.toString()]),
      [['t/1', 1, '1']],
    );
    assert.equal(publishes(clean).length, 0, 'the inbox copy is not delivered to the clean session again');
    assert.equal(port.appends.length, 1, 'a copy read from the inbox is not appended again');
    await b.close();
  });

  it('QoS 2 to a persistent session: PUBREC waits for the append, delivered once from the inbox', async () => {
    const port = loopback();
    const b = await node(port);
    const durable = await client(b, 'd2', true);
    await subscribe(durable, 'q/#', 2);
    const pub = await client(b, 'p2', false);
    publish(pub, 'q/1', 2, 5);
    await settle();
    assert.ok(pub.idle);
    port.appends[0].resolve();
    await settle();
    pub.expect(PacketType.PUBREC);
    port.consumeAll();
    assert.deepEqual(
      publishes(durable).map((p) => p.qos),
      [2],
    );
    await b.close();
  });

  it("a publisher's QoS 1 and 2 messages reach a persistent session in order; an entry from another node still reaches every session", async () => {
    const port = loopback();
    const b = await node(port);
    const clean = await client(b, 'oc', false);
    const durable = await client(b, 'od', true);
    await subscribe(clean, 'o/#', 2);
    await subscribe(durable, 'o/#', 2);
    const pub = await client(b, 'op', false);
    publish(pub, 'o/1', 1, 1);
    publish(pub, 'o/2', 2, 2);
    await settle();
    publish(pub, 'o/3', 1, 3); // a later turn: another entry
    await settle();
    // a copy appended by another node, between this node's own entries
    port.appends.push({ nodeId: 'me', dm: { message: { topic: 'o/remote', payload: Buffer.from('r'), qos: 1, retain: false, expiresAt: 0, publisherId: 'elsewhere' }, id: 'other:1' }, resolve: () => {} });
    publish(pub, 'o/4', 2, 4);
    await settle();
    for (const a of port.appends) a.resolve();
    port.consumeAll();
    assert.deepEqual(
      publishes(durable).map((p) => p.topic),
      ['o/1', 'o/2', 'o/3', 'o/remote', 'o/4'],
      'inbox order = publish order',
    );
    assert.deepEqual(
      publishes(clean).map((p) => p.topic),
      ['o/1', 'o/2', 'o/3', 'o/4', 'o/remote'],
      'clean: its own copies at once, the remote one from the inbox',
    );
    await b.close();
  });

  it('QoS 0 copies (QoS 0 message or QoS 0 subscription) stay direct', async () => {
    const port = loopback();
    const b = await node(port);
    const durable = await client(b, 'd0', true);
    await subscribe(durable, 'z/#', 0);
    const pub = await client(b, 'p0', false);
    publish(pub, 'z/1', 1, 1);
    await settle();
    assert.equal(port.appends.length, 0, 'granted QoS 0: nothing to make durable');
    assert.deepEqual(
      publishes(durable).map((p) => p.qos),
      [0],
    );
    assert.equal(pub.expect(PacketType.PUBACK).reasonCode ?? 0, 0, 'acknowledged at once');
    await b.close();
  });

  it('no-local, subscription identifiers, retain-as-published and message expiry hold for the inbox copy', async () => {
    const port = loopback();
    const b = await node(port);
    const durable = await client(b, 'dn', true);
    await subscribe(durable, 'n/#', 1, { noLocal: true });
    await subscribe(durable, 'r/#', 1, { retainAsPublished: true, id: 7 });
    publish(durable, 'n/1', 1, 1); // its own message, no-local [MQTT-3.8.3-3]
    await settle();
    assert.equal(port.appends.length, 0, 'no-local: not diverted');
    assert.equal(durable.expect(PacketType.PUBACK).reasonCode, 0x10, 'no matching subscribers');
    const pub = await client(b, 'pr', false);
    publish(pub, 'r/1', 1, 2, true, 60);
    await settle();
    port.appends[0].resolve();
    port.consumeAll();
    const [p] = publishes(durable);
    assert.equal(p.topic, 'r/1');
    assert.equal(p.retain, true, 'retain as published [MQTT-3.3.1-13]');
    assert.deepEqual(p.properties?.subscriptionIdentifiers, [7]);
    const expiry = p.properties?.messageExpiryInterval ?? 0;
    assert.ok(expiry > 0 && expiry <= 60, `Message Expiry Interval carried, minus the wait [MQTT-3.3.2-6] (${expiry})`);
    await b.close();
  });

  it('a shared group whose turn is a persistent member: through the own inbox, each message to exactly one member', async () => {
    const port = loopback();
    const b = await node(port);
    const durable = await client(b, 'gm1', true);
    const clean = await client(b, 'gm2', false);
    await subscribe(durable, '$share/g/s/#', 1);
    await subscribe(clean, '$share/g/s/#', 1);
    const pub = await client(b, 'pg', false);
    for (let i = 1; i <= 4; i++) publish(pub, 's/x', 1, i);
    await settle();
    for (const a of port.appends) a.resolve();
    port.consumeAll();
    await settle();
    const got = [...publishes(durable), ...publishes(clean)].map((p) => p.payload.toString()).sort();
    assert.deepEqual(got, ['1', '2', '3', '4'], 'each message once');
    assert.ok(
      port.appends.every((a) => a.nodeId === 'me' && a.dm.target?.group === 'g'),
      'shared copies diverted with their group',
    );
    assert.ok(port.appends.length > 0, 'the persistent member got copies through the inbox');
    assert.equal(pub.take().filter((p) => p.type === PacketType.PUBACK).length, 4);
    await b.close();
  });

  it('storage unreachable: local copies are delivered at once (as before; nothing could be stored)', async () => {
    const port = loopback();
    port.up = false;
    const b = await node(port);
    const durable = await client(b, 'du', true);
    await subscribe(durable, 'u/#', 1);
    const pub = await client(b, 'pu', false);
    publish(pub, 'u/1', 1, 1);
    await settle();
    assert.equal(port.appends.length, 0);
    assert.equal(publishes(durable).length, 1);
    assert.equal(pub.expect(PacketType.PUBACK).reasonCode ?? 0, 0);
    await b.close();
  });

  it('a SUBACK waits for a save of its own when an inbox entry read in the same turn took the session snapshot', async () => {
    // the entry's snapshot is saved by the port with the entry's acknowledgement, which may land
    // later or never (node killed): the SUBACK must not be sent on the strength of it
    const { port, saves, landAll, release, b, durable } = await heldNode('ds', 'a/#', 1);
    const pub = await client(b, 'ps', false);
    publish(pub, 'a/1', 1, 1);
    await settle();
    port.appends[0].resolve();
    await settle();

    durable.send({ type: PacketType.SUBSCRIBE, packetId: 2, subscriptions: [{ topicFilter: 'b/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] } as never);
    const committed = port.consumeAll(); // same turn: the entry's snapshot already has b/#
    assert.ok(committed.some((s) => s.clientId === 'ds'));
    await settle();
    await settle();
    assert.equal(durable.take().filter((p) => p.type === PacketType.SUBACK).length, 0, 'no SUBACK before a save of the session landed');
    const own = saves.filter((s) => s.snapshot.clientId === 'ds');
    assert.ok(own.some((s) => s.snapshot.subscriptions.some((sub) => sub.topicFilter === 'b/#')), 'the SUBSCRIBE has a save of its own');
    await landAll();
    assert.equal(durable.take().filter((p) => p.type === PacketType.SUBACK).length, 1);
    release();
    await b.close();
  });

  it('PUBREL waits for the save past PUBREC; PUBRECs that arrive while it is written share one more save, PUBRELs in order', async () => {
    const { port, saves, landAll, release, b, durable } = await heldNode('dq', 'q/#', 2);
    const pub = await client(b, 'pq', false);
    for (let i = 1; i <= 3; i++) publish(pub, `q/${i}`, 2, i);
    await settle();
    for (const a of port.appends) a.resolve();
    port.consumeAll();
    const ids = publishes(durable).map((p) => p.packetId!);
    assert.equal(ids.length, 3);
    await landAll();
    const pubrels = (): number[] =>
      durable
        .take()
        .filter((p) => p.type === PacketType.PUBREL)
        .map((p) => (p as { packetId: number }).packetId);
    const pubrec = (id: number): void => durable.send({ type: PacketType.PUBREC, packetId: id } as never);

    pubrec(ids[0]);
    await settle();
    assert.equal(saves.length, 1, 'the first PUBREC starts a save');
    assert.ok(saves[0].snapshot.inflight.some((e) => e.packetId === ids[0] && e.state === 'pubrel'));
    pubrec(ids[1]);
    await settle();
    pubrec(ids[2]);
    await settle();
    assert.equal(saves.length, 1, 'one save in flight per session');
    assert.deepEqual(pubrels(), [], 'no PUBREL before its save landed');

    saves.shift()!.land();
    await settle();
    assert.deepEqual(pubrels(), [ids[0]]);
    await settle();
    assert.equal(saves.length, 1, 'the PUBRECs that came meanwhile share the next save');
    assert.equal(saves[0].snapshot.inflight.filter((e) => e.state === 'pubrel').length, 3);
    assert.deepEqual(pubrels(), []);
    await landAll();
    assert.deepEqual(pubrels(), [ids[1], ids[2]]);
    release();
    await b.close();
  });
});
