/**
 * The paged, in-place route resync (route-table.ts): a RouteReplica resynced through RouteResync
 * as cluster-link.ts does, over a table of a few hundred routes read in HSCAN pages of 10 (the
 * server keeps hashes of more than 16 fields as real hash tables, which COUNT pages; a listpack
 * would be returned whole). Routes are
 * removed or added behind the change stream's back (HDEL/HSET on the hash: what a trimmed stream
 * or a Redis restart loses), and a reconnect of the table's client starts the resyncs: first the
 * union one (nothing dropped), then the sweeping one `reconnectGraceMs` later.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RouteChange, RouteResync } from '@mqtt-broker/core';
import { waitUntil } from '@mqtt-broker/test-support';
import { RouteReplica } from '@mqtt-broker/topics';
import { RedisRouteTable } from '../src/index.js';
import { Keys, routeField } from '../src/keys.js';
import { useRedisServer } from './redis-suite.js';

const redis = useRedisServer();
let n = 0;

interface Step {
  kind: 'page' | 'drop' | 'end';
  /** Which resync (1: the union one after the reconnect, 2: the sweeping one). */
  resync: number;
}

/** A RouteResync target over `replica` (as cluster-link.ts), calling `check` after every step. */
function replicaTarget(replica: RouteReplica, check: (step: Step) => void, hooks: { page?: (resync: number, routes: ReadonlyArray<{ filter: string; nodeId: string }>) => void } = {}) {
  const state = { resyncs: 0, ends: [] as boolean[], drops: [] as string[] };
  const target: RouteResync = {
    begin: () => {
      state.resyncs++;
    },
    page: (routes) => {
      for (const r of routes) replica.add(r.filter, r.nodeId);
      check({ kind: 'page', resync: state.resyncs });
      hooks.page?.(state.resyncs, routes);
    },
    held: () => replica.routes(),
    drop: (filter, nodeId) => {
      state.drops.push(`${nodeId} ${filter}`);
      replica.remove(filter, nodeId);
      check({ kind: 'drop', resync: state.resyncs });
    },
    end: (swept) => {
      state.ends.push(swept);
      check({ kind: 'end', resync: state.resyncs });
    },
  };
  return { target, state };
}

const apply = (replica: RouteReplica) => (c: RouteChange) => {
  if (c.op === 'add') replica.add(c.filter, c.nodeId);
  else replica.remove(c.filter, c.nodeId);
};

async function setup(routes: number) {
  const prefix = `rs${++n}`;
  const keys = new Keys(prefix);
  const client = redis.track(await redis.client());
  await client.config('SET', 'hash-max-listpack-entries', '16');
  const table = new RedisRouteTable(client, keys, { resyncPageSize: 10, reconnectGraceMs: 300 });
  redis.beforeStop(() => table.close());
  for (let i = 0; i < routes; i += 100) {
    const batch: Array<Promise<void>> = [];
    for (let k = i; k < Math.min(routes, i + 100); k++) batch.push(table.addRoute(`dev/${k}/cmd`, 'n1'));
    await Promise.all(batch);
  }
  const replica = new RouteReplica();
  for (const r of await table.routes()) replica.add(r.filter, r.nodeId);
  return { client, keys, table, replica };
}

describe('RedisRouteTable paged resync', () => {
  it('keeps every surviving route visible at every step, keeps known routes in the reconnect union window, then drops exactly the removed ones', async () => {
    const { client, keys, table, replica } = await setup(300);
    const removed = new Set<string>();
    for (let k = 0; k < 300; k += 6) removed.add(`dev/${k}/cmd`);
    const added = Array.from({ length: 20 }, (_, k) => `new/${k}`);
    const survivors = [...Array(300).keys()].map((k) => `dev/${k}/cmd`).filter((f) => !removed.has(f));
    const failures: string[] = [];
    const pagesPerResync = new Map<number, number>();
    let sizeAfterUnion = 0;
    const { target, state } = replicaTarget(replica, (step) => {
      if (step.kind === 'end' && step.resync === 1) sizeAfterUnion = replica.size;
      if (step.kind === 'page') pagesPerResync.set(step.resync, (pagesPerResync.get(step.resync) ?? 0) + 1);
      const missing = survivors.filter((f) => !replica.has(f, 'n1'));
      if (missing.length > 0) failures.push(`${step.kind} of resync ${step.resync}: ${missing.length} surviving routes missing`);
      if (step.resync === 1) {
        // the union window: nothing known is dropped
        const gone = [...removed].filter((f) => !replica.has(f, 'n1'));
        if (gone.length > 0) failures.push(`${step.kind} of resync 1: ${gone.length} known routes dropped`);
      }
    });
    const stop = table.watch(apply(replica), target);
    try {
      // behind the change stream's back: what a trimmed stream or a Redis restart loses
      await client.hdel(keys.routes, ...[...removed].map((f) => routeField(f, 'n1')));
      await client.hset(keys.routes, ...added.flatMap((f) => [routeField(f, 'n2'), '1']));
      client.disconnect(true);
      await waitUntil(() => state.ends.length >= 1, 10_000, 'the union resync after the reconnect');
      assert.deepEqual(state.ends[0], false, 'the first resync after a reconnect drops nothing');
      assert.equal(sizeAfterUnion, 300 + added.length, 'after the union resync: every known route plus the new ones');
      await waitUntil(() => state.ends.length >= 2, 10_000, 'the sweeping resync after the grace period');
      assert.deepEqual(state.ends, [false, true]);
      assert.ok((pagesPerResync.get(2) ?? 0) > 1, `the table was read in more than one page (got ${pagesPerResync.get(2)})`);
      assert.deepEqual(failures, []);
      assert.deepEqual(state.drops.sort(), [...removed].map((f) => `n1 ${f}`).sort(), 'exactly the removed routes were dropped');
      const want = [...survivors.map((f) => `n1 ${f}`), ...added.map((f) => `n2 ${f}`)].sort();
      assert.deepEqual([...replica.routes()].map(([f, node]) => `${node} ${f}`).sort(), want);
    } finally {
      stop();
    }
  });

  it('a change written between two pages of a resync is not lost', async () => {
    const { client, table, replica } = await setup(300);
    const writes: Array<Promise<void>> = [];
    const late = Array.from({ length: 30 }, (_, k) => `late/${k}`);
    let seenAtWrite: { paged: string; unpaged: string } | undefined;
    const paged = new Set<string>();
    const { target, state } = replicaTarget(
      replica,
      () => {},
      {
        page: (resync, routes) => {
          if (resync !== 2) return;
          for (const r of routes) paged.add(r.filter);
          if (seenAtWrite !== undefined || paged.size < 150) return;
          // halfway through the pages of the sweeping resync: remove one route they named and one
          // they did not name yet, add 30 (about half land in buckets the scan has passed: only
          // the change stream tells of those); the next HSCAN page is read after these commands
          const p = routes[0].filter;
          const u = [...Array(300).keys()].map((k) => `dev/${k}/cmd`).find((f) => !paged.has(f));
          assert.ok(u !== undefined);
          seenAtWrite = { paged: p, unpaged: u };
          writes.push(table.removeRoute(p, 'n1'), table.removeRoute(u, 'n1'), ...late.map((f) => table.addRoute(f, 'n2')));
        },
      },
    );
    const stop = table.watch(apply(replica), target);
    try {
      client.disconnect(true);
      await waitUntil(() => state.ends.length >= 2, 10_000, 'the union resync and the sweeping one');
      await Promise.all(writes);
      assert.ok(seenAtWrite !== undefined);
      const { paged: p, unpaged: u } = seenAtWrite;
      await waitUntil(() => late.every((f) => replica.has(f, 'n2')) && !replica.has(p, 'n1') && !replica.has(u, 'n1'), 10_000, 'the changes written during the resync');
      assert.equal(replica.size, 300 - 2 + late.length);
      const table2 = await table.routes();
      assert.deepEqual([...replica.routes()].map(([f, node]) => `${node} ${f}`).sort(), table2.map((r) => `${r.nodeId} ${r.filter}`).sort(), 'the replica is the table');
    } finally {
      stop();
    }
  });
});
