import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RetainChange, RouteChange, StoredMessage } from '@mqtt-broker/core';
import { waitUntil } from '@mqtt-broker/test-support';
import { createRedisPorts, decodeMessage, encodeMessage, pack, RedisRouteTable, unpack } from '../src/index.js';
import { Keys } from '../src/keys.js';
import { redisCli } from '../src/testing/index.js';
import { useRedisServer } from './redis-suite.js';

const redis = useRedisServer();
let n = 0;

function msg(topic: string, payload: string | Buffer): StoredMessage {
  return { topic, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload), qos: 0, retain: false, expiresAt: 0 };
}

async function commandCount(port: number, command: string): Promise<number> {
  const info = await redisCli(port, 'INFO', 'commandstats');
  const m = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info);
  return m === null ? 0 : Number(m[1]);
}

describe('encoding', () => {
  it('a message with binary payload, properties (Buffers, user properties) and publisher round-trips', () => {
    const m: StoredMessage = {
      topic: 'a/ü/b',
      payload: Buffer.from([0, 255, 1, 0x80, 10]),
      qos: 2,
      retain: true,
      expiresAt: 1_700_000_000_123,
      publisherId: 'pub-1',
      properties: { correlationData: Buffer.from([1, 2, 3]), userProperties: [['k', 'v1'], ['k', 'v2']], contentType: 'x/y', payloadFormatIndicator: 0 },
    };
    assert.deepEqual(decodeMessage(encodeMessage(m)), m);
    assert.deepEqual(unpack(pack({ a: undefined, b: [null, true, 1.5, 'x'] })), { a: undefined, b: [null, true, 1.5, 'x'] });
  });
});

describe('RedisNodeBus', () => {
  it('batches a burst into one PUBLISH per destination node per event-loop turn', async () => {
    const a = createRedisPorts({ url: redis.url, nodeId: 'a', prefix: `b${++n}` });
    const b = createRedisPorts({ url: redis.url, nodeId: 'b', prefix: `b${n}` });
    try {
      const got: string[] = [];
      const stop = await b.bus.listen('b', (m) => got.push(m.payload.toString()));
      const before = await commandCount(redis.port, 'publish');
      for (let i = 0; i < 1000; i++) a.bus.send('b', msg('t', String(i)));
      await waitUntil(() => got.length === 1000, 3000, 'all 1000 messages');
      const publishes = (await commandCount(redis.port, 'publish')) - before;
      assert.deepEqual(got.slice(0, 3), ['0', '1', '2']);
      assert.equal(got[999], '999');
      assert.equal(publishes, 1, `${publishes} PUBLISH for 1000 messages`);
      assert.equal(a.bus.stats.publishes, 1);
      assert.equal(a.bus.stats.sentByPeer.get('b'), 1000);
      await stop();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('takeover requests reach the owner node and are confirmed; a dead node is not waited for', async () => {
    const prefix = `c${++n}`;
    const a = createRedisPorts({ url: redis.url, nodeId: 'a', prefix, heartbeatTtlMs: 1000 });
    const b = createRedisPorts({ url: redis.url, nodeId: 'b', prefix, heartbeatTtlMs: 1000 });
    try {
      await a.start();
      await b.start();
      const asked: string[] = [];
      await a.bus.serveTakeovers('a', async (clientId, epoch) => {
        asked.push(`${clientId}@${epoch}`);
      });
      assert.equal(await b.bus.takeover('a', 'dev1', 7, 2000), true);
      assert.deepEqual(asked, ['dev1@7']);
      const t0 = Date.now();
      assert.equal(await b.bus.takeover('ghost', 'dev1', 8, 2000), false);
      assert.ok(Date.now() - t0 < 500);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('RedisRouteTable', () => {
  it('a watcher that fell behind the trimmed stream gets a full resync', async () => {
    const client = createRedisPorts({ url: redis.url, nodeId: 'x', prefix: `r${++n}` });
    const keys = new Keys(`r${n}`);
    const table = new RedisRouteTable(client.client, keys, { streamMaxLen: 1 });
    try {
      const changes: RouteChange[] = [];
      let resynced: Array<{ filter: string; nodeId: string }> | undefined;
      let pages: Array<{ filter: string; nodeId: string }> = [];
      // block the reader long enough for many trimmed writes to happen in between
      const stop = table.watch((c) => changes.push(c), {
        begin: () => {
          pages = [];
        },
        page: (routes) => {
          pages.push(...routes);
        },
        held: () => [],
        drop: () => {},
        end: () => {
          resynced = pages;
        },
      });
      await new Promise((r) => setTimeout(r, 50));
      const writes: Array<Promise<void>> = [];
      for (let i = 0; i < 300; i++) writes.push(table.addRoute(`f/${i}`, 'n1'));
      await Promise.all(writes);
      await waitUntil(() => resynced !== undefined || changes.length === 300, 3000, 'a resync or all 300 changes');
      assert.equal(resynced?.length, 300, 'the watcher resynced from a full snapshot');
      stop();
    } finally {
      await table.close();
      await client.close();
    }
  });
});

describe('RedisRetainStore', () => {
  it('watch tells every node of sets and deletes made by any node', async () => {
    const prefix = `w${++n}`;
    const a = createRedisPorts({ url: redis.url, nodeId: 'a', prefix });
    const b = createRedisPorts({ url: redis.url, nodeId: 'b', prefix });
    try {
      const all: RetainChange[] = [];
      const stop = b.retained.watch((c) => all.push(c));
      // watch() sees changes made after its read started, which a (another connection) cannot
      // know: a writes sentinels until b saw one (bounded poll, not a sleep); they are left out
      const sentinel = (c: RetainChange) => c.topic.startsWith('sentinel/');
      for (let k = 0; !all.some(sentinel); k++) {
        assert.ok(k < 100, 'watch saw none of 100 sentinel writes');
        await a.retained.set(`sentinel/${k}`, { ...msg(`sentinel/${k}`, Buffer.from('s')), retain: true });
        await waitUntil(() => all.some(sentinel), 100, 'a sentinel').catch(() => {});
      }
      await a.retained.set('x/y', { ...msg('x/y', Buffer.from([0, 1, 2])), retain: true });
      await a.retained.delete('x/y');
      const seen = () => all.filter((c) => !sentinel(c));
      await waitUntil(() => seen().length === 2, 3000, 'the set and the delete');
      assert.equal(seen()[0].op, 'set');
      assert.equal(seen()[0].nodeId, 'a');
      assert.deepEqual(seen()[0].message?.payload, Buffer.from([0, 1, 2]));
      assert.deepEqual(seen()[1], { op: 'delete', topic: 'x/y', nodeId: 'a' });
      stop();
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('RedisMembership', () => {
  it('a node whose heartbeat expired is cleaned up by exactly one survivor: its routes go', async () => {
    const prefix = `m${++n}`;
    const dead: string[] = [];
    const nodes = ['a', 'b', 'c'].map((id) =>
      createRedisPorts({
        url: redis.url,
        nodeId: id,
        prefix,
        heartbeatTtlMs: 300,
        onNodeDead: async (d) => {
          dead.push(`${id}:${d}`);
        },
      }),
    );
    try {
      for (const p of nodes) await p.start();
      await nodes[2].routes.addRoute('x/#', 'c');
      // "kill" c: stop heartbeating without leaving
      await nodes[2].client.quit();
      const c = nodes.pop();
      await c?.bus.close(); // its subscriber connection (left notices), as a killed process's would go
      await waitUntil(() => dead.length > 0, 3000, 'the dead node cleaned up');
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(dead.length, 1);
      assert.ok(dead[0].endsWith(':c'));
      assert.deepEqual(await nodes[0].routes.routes(), []);
    } finally {
      for (const p of nodes) await p.close();
    }
  });
});
