/**
 * RedisDurable (node inboxes, wills, session index, adoption) on a real redis-server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DurableAppendError, type SessionSnapshot } from '@mqtt-broker/core';
import { waitUntil } from '@mqtt-broker/test-support';
import { Redis } from 'ioredis';
import { Keys } from '../src/keys.js';
import { RedisClientRegistry } from '../src/client-registry.js';
import { RedisSessionStore } from '../src/session-store.js';
import { RedisDurable } from '../src/stream-bus.js';
import { redisCli } from '../src/testing/index.js';
import { sessionSnapshot, storedMessage } from './fixtures.js';
import { useRedisServer } from './redis-suite.js';

const redis = useRedisServer();
let n = 0;

/** A node's durable layer on a connected client: RedisDurable refuses appends (0x80) before Redis is ready. */
async function setup(nodeId: string, prefix = `d${n++}`): Promise<{ durable: RedisDurable; client: Redis; keys: Keys }> {
  const client = await redis.client();
  const keys = new Keys(prefix);
  return { durable: new RedisDurable(client, keys, { nodeId, blockMs: 200 }), client, keys };
}


async function commandCount(command: string): Promise<number> {
  const info = await redisCli(redis.port, 'INFO', 'commandstats');
  const m = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info);
  return m === null ? 0 : Number(m[1]);
}

describe('RedisDurable: node inboxes', () => {
  it('appends of one turn are one XADD per 100 messages; the consumer gets them in order; entries are gone once committed', async () => {
    const prefix = `d${n++}`;
    const a = await setup('a', prefix);
    const b = await setup('b', prefix);
    const got: string[] = [];
    const saved: SessionSnapshot[] = [];
    const stop = await b.durable.consume('b', (batch) => {
      for (const m of batch) got.push(m.message.payload.toString());
      const s = sessionSnapshot(
        'cb',
        batch.map((m) => m.message),
      );
      saved.push(s);
      return [s];
    });
    try {
      const before = await commandCount('xadd');
      const acks = Array.from({ length: 500 }, (_, i) => a.durable.append('b', { message: storedMessage('t/x', String(i)) }));
      await Promise.all(acks);
      assert.equal((await commandCount('xadd')) - before, 5, 'five XADDs for 500 appends in one turn');
      await waitUntil(() => got.length === 500, 3000, 'the consumer got all 500');
      assert.deepEqual(
        got,
        Array.from({ length: 500 }, (_, i) => String(i)),
      );
      await waitUntil(() => b.durable.stats.commits === 5, 3000, 'five commits');
      // the XDEL of the last commit may land after its count: polled (bounded), then asserted
      await waitUntil(async () => (await a.client.xlen(b.keys.inbox('b'))) === 0, 5000, 'committed entries deleted').catch(() => {});
      assert.equal(await a.client.xlen(b.keys.inbox('b')), 0, 'committed entries deleted');
      const pending = (await a.client.xpending(b.keys.inbox('b'), 'g')) as [number, ...unknown[]];
      assert.equal(pending[0], 0, 'nothing pending');
      const stored = await new RedisSessionStore(a.client, a.keys).load('cb');
      assert.deepEqual(
        stored?.queued.map((q) => q.message.payload.toString()),
        saved[4].queued.map((q) => q.message.payload.toString()),
        'the session snapshot was saved with the acknowledgement',
      );
    } finally {
      await stop();
    }
  });

  it('an entry read but not committed (node killed) is read again by the same node id, or drained by a survivor', async () => {
    const prefix = `d${n++}`;
    const a = await setup('a', prefix);
    const b = await setup('b', prefix);
    const c = await setup('c', prefix);
    // b reads without committing: simulate with a raw XREADGROUP (a node that died after reading)
    await b.client.xgroup('CREATE', b.keys.inbox('b'), 'g', '0', 'MKSTREAM');
    await Promise.all([a.durable.append('b', { message: storedMessage('t/1', 'one') }), a.durable.append('b', { message: storedMessage('t/2', 'two') })]);
    await a.durable.append('b', { message: storedMessage('t/3', 'three') });
    await b.client.xreadgroup('GROUP', 'g', 'b', 'COUNT', 1, 'STREAMS', b.keys.inbox('b'), '>');
    const seen: string[] = [];
    const count = await c.durable.drain('b', (batch) => {
      for (const m of batch) seen.push(m.message.payload.toString());
      return [];
    });
    assert.equal(count, 3);
    assert.deepEqual(seen, ['one', 'two', 'three'], 'pending and unread entries, in order');
    assert.equal(await c.client.exists(c.keys.inbox('b')), 0, 'inbox deleted');
  });

  it('a restarted node reads its own pending entries first', async () => {
    const prefix = `d${n++}`;
    const a = await setup('a', prefix);
    const b = await setup('b', prefix);
    await b.client.xgroup('CREATE', b.keys.inbox('b'), 'g', '0', 'MKSTREAM');
    await a.durable.append('b', { message: storedMessage('t/1', 'left-pending') });
    await b.client.xreadgroup('GROUP', 'g', 'b', 'COUNT', 10, 'STREAMS', b.keys.inbox('b'), '>');
    const got: string[] = [];
    const stop = await b.durable.consume('b', (batch) => {
      for (const m of batch) got.push(m.message.payload.toString());
      return [];
    });
    try {
      await waitUntil(() => got.length === 1, 3000, 'one message consumed');
      assert.deepEqual(got, ['left-pending']);
    } finally {
      await stop();
    }
  });

  it('a shared target, a client address and a message id survive the inbox', async () => {
    const prefix = `d${n++}`;
    const a = await setup('a', prefix);
    const c = await setup('c', prefix);
    await Promise.all([
      a.durable.append('b', { message: storedMessage('t/1', 'shared'), target: { group: 'g', filter: 't/#', hops: 1 } }),
      a.durable.append('b', { message: storedMessage('t/2', 'client'), forClient: 'cl', id: 'a:7' }),
      a.durable.append('b', { message: storedMessage('t/3', 'plain'), id: 'a:8' }),
    ]);
    const seen: unknown[] = [];
    await c.durable.drain('b', (batch) => {
      for (const m of batch) seen.push({ p: m.message.payload.toString(), target: m.target, forClient: m.forClient, id: m.id });
      return [];
    });
    assert.deepEqual(seen, [
      { p: 'shared', target: { group: 'g', filter: 't/#', hops: 1 }, forClient: undefined, id: undefined },
      { p: 'client', target: undefined, forClient: 'cl', id: 'a:7' },
      { p: 'plain', target: undefined, forClient: undefined, id: 'a:8' },
    ]);
  });

  it('refuses appends while Redis is not connected (0x80), never resolving them', async () => {
    const client = redis.track(new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: null, retryStrategy: () => null }));
    const d = new RedisDurable(client, new Keys('x'), { nodeId: 'a' });
    assert.equal(d.available(), false);
    await assert.rejects(d.append('b', { message: storedMessage('t', 'x') }), (e: unknown) => e instanceof DurableAppendError && e.reasonCode === 0x80);
  });
});

describe('RedisDurable: wills, session index, adoption', () => {
  it('wills are stored per node and taken once', async () => {
    const { durable } = await setup('a');
    await durable.setWill('a', { clientId: 'c1', delaySeconds: 0, message: storedMessage('w/c1', 'gone') });
    await durable.setWill('a', { clientId: 'c2', delaySeconds: 5, message: storedMessage('w/c2', 'gone too') });
    await durable.deleteWill('a', 'c2');
    const wills = await durable.takeWills('a');
    assert.deepEqual(
      wills.map((w) => [w.clientId, w.message.topic, w.message.payload.toString()]),
      [['c1', 'w/c1', 'gone']],
    );
    assert.deepEqual(await durable.takeWills('a'), []);
  });

  it('a waiting will keeps its due time and user name; leave() keeps it and drops live ones', async () => {
    const { durable, client, keys } = await setup('a');
    const due = Date.now() + 30_000;
    await durable.setWill('a', { clientId: 'live', delaySeconds: 0, message: storedMessage('w/live', 'x'), dueAt: 0, username: 'u1' });
    await durable.setWill('a', { clientId: 'waits', delaySeconds: 3, message: storedMessage('w/waits', 'y'), dueAt: due, username: 'alice' });
    await durable.setWill('a', { clientId: 'anon', delaySeconds: 0, message: storedMessage('w/anon', 'z'), dueAt: due });
    await durable.leave();
    assert.deepEqual((await client.hkeys(keys.wills('a'))).sort(), ['anon', 'waits']);
    const wills = (await durable.takeWills('a')).sort((x, y) => x.clientId.localeCompare(y.clientId));
    assert.deepEqual(
      wills.map((w) => [w.clientId, w.delaySeconds, w.dueAt, w.username, w.message.topic]),
      [
        ['anon', 0, due, undefined, 'w/anon'],
        ['waits', 3, due, 'alice', 'w/waits'],
      ],
    );
    assert.equal(await client.exists(keys.wills('a')), 0);
  });

  it('adoptClient moves a client id only while the dead node owns it', async () => {
    const { durable, client, keys } = await setup('s');
    const registry = new RedisClientRegistry(client, keys);
    await registry.register('x', 'dead');
    await registry.register('y', 'dead');
    await registry.register('y', 'c'); // already reconnected elsewhere
    const x = await durable.adoptClient('x', 'dead', 's');
    assert.equal(x?.nodeId, 's');
    assert.equal((await registry.lookup('x'))?.nodeId, 's');
    assert.equal(await durable.adoptClient('y', 'dead', 's'), undefined);
    assert.equal((await registry.lookup('y'))?.nodeId, 'c');
    await durable.indexSession('dead', 'x');
    assert.deepEqual(await durable.indexedSessions('dead'), ['x']);
    await durable.unindexSession('dead', 'x');
    assert.deepEqual(await durable.indexedSessions('dead'), []);
  });

  it('cleanupState: alive while the heartbeat is there, dead until adopted, cleaned once no longer a member', async () => {
    const { durable, client, keys } = await setup('s');
    await client.zadd(keys.members, Date.now(), 'n1');
    await client.set(keys.heartbeat('n1'), '1', 'PX', 60_000);
    assert.equal(await durable.cleanupState('n1'), 'alive');
    await client.del(keys.heartbeat('n1'));
    assert.equal(await durable.cleanupState('n1'), 'dead');
    await durable.markAdopted('n1');
    assert.equal(await durable.cleanupState('n1'), 'adopted');
    await client.zrem(keys.members, 'n1');
    assert.equal(await durable.cleanupState('n1'), 'cleaned');
    await client.set(keys.heartbeat('n1'), '1', 'PX', 60_000);
    assert.equal(await durable.cleanupState('n1'), 'alive', 'alive (heartbeat) but not listed: not cleaned');
  });
});
