/**
 * Session fencing (docs/cluster.md, "Fencing") on a real redis-server: a node that no longer owns a
 * client id cannot overwrite or delete the new owner's session snapshot, through the store or the
 * inbox's save-and-acknowledge; the handover and holder windows; the no-owner decision; the cost.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SessionSnapshot } from '@mqtt-broker/core';
import { waitUntil } from '@mqtt-broker/test-support';
import type { Redis } from 'ioredis';
import { RedisClientRegistry } from '../src/client-registry.js';
import { Keys } from '../src/keys.js';
import { type FencedWrite, RedisSessionStore } from '../src/session-store.js';
import { RedisDurable } from '../src/stream-bus.js';
import { sessionSnapshot, storedMessage } from './fixtures.js';
import { useRedisServer } from './redis-suite.js';

const redis = useRedisServer();
let n = 0;

interface TestNode {
  nodeId: string;
  client: Redis;
  keys: Keys;
  registry: RedisClientRegistry;
  store: RedisSessionStore;
  fenced: FencedWrite[];
}

/** One node's registry and fenced store, as createRedisPorts wires them, on its own connection. */
async function node(nodeId: string, prefix: string): Promise<TestNode> {
  const client = await redis.client();
  const keys = new Keys(prefix);
  const registry = new RedisClientRegistry(client, keys);
  const store = new RedisSessionStore(client, keys, { nodeId, epochOf: (c) => registry.epochOf(c) });
  const fenced: FencedWrite[] = [];
  store.onFenced((_c, w) => fenced.push(w));
  return { nodeId, client, keys, registry, store, fenced };
}

/** Snapshot of `clientId` with messages on t/x carrying `queued` payloads. */
function snapshot(clientId: string, queued: string[]): SessionSnapshot {
  return sessionSnapshot(clientId, queued.map((p) => storedMessage('t/x', p)));
}

function queuedOf(s: SessionSnapshot | undefined): string[] | undefined {
  return s?.queued.map((q) => q.message.payload.toString());
}

/** The names of the commands `client` sends from now on (INFO commandstats also counts those a script runs). */
function recordCommands(client: Redis): string[] {
  const names: string[] = [];
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string }, stream?: unknown) => {
    names.push(command.name);
    return send(command as Parameters<typeof send>[0], stream as Parameters<typeof send>[1]);
  }) as typeof client.sendCommand;
  return names;
}

describe('session fencing: the store', () => {
  it('a save by a node that no longer owns the client is refused and the stored snapshot is unchanged; the owner saves', async () => {
    const prefix = `f${n++}`;
    const a = await node('a', prefix);
    const b = await node('b', prefix);
    await a.registry.register('c1', 'a');
    await a.store.save(snapshot('c1', ['a1']));
    const { registration } = await b.registry.register('c1', 'b'); // the client moved to b
    assert.deepEqual(queuedOf(await b.store.load('c1')), ['a1'], 'b loads what a saved');
    await b.store.save(snapshot('c1', ['a1', 'b1', 'b2']));

    await a.store.save(snapshot('c1', ['stale'])); // a resumes after a pause and saves its old copy
    assert.deepEqual(queuedOf(await b.store.load('c1')), ['a1', 'b1', 'b2'], "b's snapshot is unchanged");
    assert.equal(a.store.fencedWrites, 1);
    assert.deepEqual(a.fenced, [{ clientId: 'c1', op: 'save', owner: { nodeId: 'b', epoch: registration.epoch }, first: true }]);
    await a.store.save(snapshot('c1', ['stale again']));
    assert.equal(a.store.fencedWrites, 2, 'every refusal counted');
    assert.equal(a.fenced[1].first, false, 'told again, but logged once per client');

    await a.store.delete('c1'); // its expiry timer fires after the pause
    assert.deepEqual(queuedOf(await b.store.load('c1')), ['a1', 'b1', 'b2'], 'a stale delete is refused too');
    assert.deepEqual(await b.store.clientIds(), ['c1']);
    assert.equal(a.fenced[2].op, 'delete');

    await b.store.save(snapshot('c1', ['b3']));
    assert.deepEqual(queuedOf(await b.store.load('c1')), ['b3'], "the owner's save lands");
    assert.equal(b.store.fencedWrites, 0);
    await b.store.delete('c1');
    assert.equal(await b.store.load('c1'), undefined, "the owner's delete lands");
  });

  it('the previous owner may save the session it hands over until the new owner loads it', async () => {
    const prefix = `f${n++}`;
    const a = await node('a', prefix);
    const b = await node('b', prefix);
    await a.registry.register('c2', 'a');
    await a.store.save(snapshot('c2', ['a1']));
    await b.registry.register('c2', 'b'); // b asks a for a takeover and waits
    await a.store.save(snapshot('c2', ['a1', 'a2'])); // a's handover save
    assert.equal(a.store.fencedWrites, 0, 'the handover save is allowed');
    assert.deepEqual(queuedOf(await b.store.load('c2')), ['a1', 'a2'], 'b loads the handed-over session');
    await a.store.save(snapshot('c2', ['late'])); // b stopped waiting and loaded: a late save is stale
    assert.equal(a.store.fencedWrites, 1);
    assert.deepEqual(queuedOf(await b.store.load('c2')), ['a1', 'a2']);
    // the permit belonged to that registration only: a new one by b (same node) does not renew it
    await b.registry.register('c2', 'b');
    await a.store.save(snapshot('c2', ['later']));
    assert.equal(a.store.fencedWrites, 2);
  });

  it('the owner writing the session itself closes the handover window (it adopted the session as the survivor)', async () => {
    const prefix = `f${n++}`;
    const a = await node('a', prefix);
    const b = await node('b', prefix);
    await a.registry.register('c7', 'a');
    await a.store.save(snapshot('c7', ['a1']));
    await b.registry.register('c7', 'b'); // a froze; b waits for a's cleanup and is the survivor
    await b.client.set(b.keys.holder('c7'), 'b', 'PX', 60_000);
    await b.store.save(snapshot('c7', ['a1', 'b1'])); // b adopted it in memory: no load follows
    await a.store.save(snapshot('c7', ['stale'])); // a resumes
    assert.equal(a.store.fencedWrites, 1);
    assert.deepEqual(queuedOf(await b.store.load('c7')), ['a1', 'b1']);
  });

  it("a survivor holding an adopted session for the owner may save it until the owner's load", async () => {
    const prefix = `f${n++}`;
    const b = await node('b', prefix);
    const s = await node('s', prefix);
    await b.registry.register('c3', 'b'); // reconnected on b while its old node died; b waits for the cleanup
    await s.client.set(s.keys.holder('c3'), 's', 'PX', 60_000); // the survivor adopted it (RedisDurable.setHolder)
    await s.store.save(snapshot('c3', ['drained']));
    assert.equal(s.store.fencedWrites, 0);
    assert.deepEqual(queuedOf(await b.store.load('c3')), ['drained']);
    assert.equal(await b.client.exists(b.keys.holder('c3')), 0, "the owner's load removes the holder hint");
    await s.store.save(snapshot('c3', ['stale']));
    assert.equal(s.store.fencedWrites, 1);
    assert.deepEqual(queuedOf(await b.store.load('c3')), ['drained']);
  });

  it('no owner at all (Redis restarted empty, a CONNECT served while Redis was down): writes land, unless a newer registration came and went', async () => {
    const prefix = `f${n++}`;
    const a = await node('a', prefix);
    const b = await node('b', prefix);
    await a.store.save(snapshot('c4', ['unregistered'])); // nobody ever registered c4
    assert.deepEqual(queuedOf(await a.store.load('c4')), ['unregistered']);
    await a.registry.register('c5', 'a');
    await a.client.del(a.keys.owner('c5'), a.keys.epoch('c5')); // Redis lost everything
    await a.store.save(snapshot('c5', ['after restart']));
    assert.equal(a.store.fencedWrites, 0);
    assert.deepEqual(queuedOf(await a.store.load('c5')), ['after restart']);
    // c5 moved to b, whose session then ended (unregistered, deleted); a still holds epoch 1
    await a.registry.restore();
    const moved = await b.registry.register('c5', 'b');
    await b.store.delete('c5');
    assert.equal(await b.registry.unregister('c5', moved.registration), true);
    await a.store.save(snapshot('c5', ['zombie']));
    assert.equal(a.store.fencedWrites, 1, 'the epoch counter outlives the owner: a stale epoch is refused');
    assert.equal(await a.store.load('c5'), undefined, 'no zombie session');
    assert.deepEqual(a.fenced[0].owner, undefined);
  });

  it('costs one EVALSHA per save on a single Redis (snapshot and index in one script)', async () => {
    const prefix = `f${n++}`;
    const a = await node('a', prefix);
    await a.registry.register('c6', 'a');
    await a.store.save(snapshot('c6', ['first'])); // the first use on a connection loads the script (EVAL)
    const sent = recordCommands(a.client);
    for (let i = 0; i < 10; i++) await a.store.save(snapshot('c6', [String(i)]));
    await a.store.load('c6');
    assert.deepEqual(sent, [...new Array<string>(11).fill('evalsha')], 'ten saves and a load: eleven EVALSHA, nothing else');
    assert.deepEqual(await a.store.clientIds(), ['c6']);
    assert.deepEqual(queuedOf(await a.store.load('c6')), ['9']);
  });
});

describe('session fencing: the inbox save-and-acknowledge', () => {
  it('on a stale node does not overwrite the owner; the entry is acknowledged, the owned session in it saved', async () => {
    const prefix = `f${n++}`;
    const a = await node('a', prefix);
    const b = await node('b', prefix);
    const durable = new RedisDurable(a.client, a.keys, { nodeId: 'a', blockMs: 200, sessions: a.store });
    const sender = new RedisDurable(b.client, b.keys, { nodeId: 'b' });
    await a.registry.register('gone', 'a');
    await a.registry.register('mine', 'a');
    await b.registry.register('gone', 'b'); // taken over while a was paused
    await b.store.load('gone'); // b loaded it: the handover window is closed
    await b.store.save(snapshot('gone', ['b1']));
    const stop = await durable.consume('a', (batch) => [snapshot('gone', ['stale', ...batch.map((m) => m.message.payload.toString())]), snapshot('mine', ['m1'])]);
    try {
      const sent = recordCommands(a.client);
      await sender.append('a', { message: storedMessage('t/x', 'x') });
      await waitUntil(() => durable.stats.commits === 1 && a.fenced.length === 1, 5000, 'the commit and its fenced write');
      const forEntry = [...sent];
      await waitUntil(async () => (await a.client.xlen(a.keys.inbox('a'))) === 0, 5000, 'the committed inbox empty');
      assert.deepEqual(queuedOf(await b.store.load('gone')), ['b1'], "b's snapshot is unchanged");
      assert.deepEqual(queuedOf(await a.store.load('mine')), ['m1'], "the node's own session in the same entry is saved");
      assert.deepEqual(
        a.fenced.map((w) => [w.clientId, w.op, w.owner?.nodeId]),
        [['gone', 'save', 'b']],
      );
      assert.equal(a.store.fencedWrites, 1);
      const pending = (await a.client.xpending(a.keys.inbox('a'), 'g')) as [number, ...unknown[]];
      assert.equal(pending[0], 0, 'the entry is acknowledged');
      assert.deepEqual(
        forEntry.filter((c) => c !== 'xadd'),
        ['evalsha'],
        'one script for the whole entry (no MULTI, SET, SADD, XACK, XDEL)',
      );
    } finally {
      await stop();
      await durable.close();
      await sender.close();
    }
  });

  it("a survivor's drain of a dead node's inbox saves the sessions it adopted (owner moved to it) and not one that moved on", async () => {
    const prefix = `f${n++}`;
    const dead = await node('dead', prefix);
    const s = await node('s', prefix);
    const b = await node('b', prefix);
    const survivor = new RedisDurable(s.client, s.keys, { nodeId: 's', sessions: s.store });
    const sender = new RedisDurable(b.client, b.keys, { nodeId: 'b' });
    await dead.registry.register('adopted', 'dead');
    await dead.registry.register('moved', 'dead');
    await b.registry.register('moved', 'b');
    await b.store.load('moved');
    await b.store.save(snapshot('moved', ['b1']));
    assert.ok(await survivor.adoptClient('adopted', 'dead', 's'));
    assert.equal(await survivor.adoptClient('moved', 'dead', 's'), undefined);
    await sender.append('dead', { message: storedMessage('t/x', 'x') });
    const drained = await survivor.drain('dead', () => [snapshot('adopted', ['x']), snapshot('moved', ['stale'])]);
    assert.equal(drained, 1);
    assert.deepEqual(queuedOf(await s.store.load('adopted')), ['x']);
    assert.deepEqual(queuedOf(await b.store.load('moved')), ['b1']);
    assert.deepEqual(
      s.fenced.map((w) => w.clientId),
      ['moved'],
    );
    await survivor.close();
    await sender.close();
  });
});
