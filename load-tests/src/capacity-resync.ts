// The memory a route resync costs a node on top of its steady route replica (docs/capacity.md,
// "What breaks first"): `node --expose-gc load-tests/dist/src/capacity-resync.js [--routes N] [--json]`
// (capacity.ts runs it with --json).
//
// In one process, on a fresh redis-server: writes N routes of another node (80% `dev/<id>/cmd`,
// 20% `dev/<id>/+/set`) through RedisRouteTable, builds a RouteReplica from the snapshot as the
// cluster link does at start, and watches the table with a RouteResync handler that resyncs that
// replica in place, page by page, as cluster-link.ts does. A reconnect of the table's client makes
// the watcher resync (the Redis-restart path: the union resync, pages only) and, `reconnectGraceMs`
// later, resync again with the sweep (every held route checked against the table); both are
// measured together after a first warm-up pair: peak RSS during them (VmHWM, reset through
// /proc/self/clear_refs) minus the RSS before, the largest of 3 such pairs, and heap after GC.
// cluster-redis and topics are imported by name at run time (load-tests does not build against them).
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startRedis } from '@mqtt-broker/test-support';

interface Route {
  filter: string;
  nodeId: string;
}
interface Replica {
  add(filter: string, nodeId: string): boolean;
  remove(filter: string, nodeId: string): boolean;
  routes(): Iterable<readonly [string, string]>;
  readonly size: number;
}
interface RouteResync {
  begin(): void;
  page(routes: readonly Route[]): void;
  held(): Iterable<readonly [string, string]>;
  drop(filter: string, nodeId: string): void;
  end(swept: boolean): void;
}
interface RouteTable {
  addRoute(filter: string, nodeId: string): Promise<void>;
  routes(): Promise<Route[]>;
  watch(listener: (c: { op: string; filter: string; nodeId: string }) => void, onResync?: RouteResync): () => void;
  close(): Promise<void>;
}
interface Client {
  disconnect(reconnect?: boolean): void;
  quit(): Promise<unknown>;
}
interface ClusterRedis {
  createRedisClient(o: { url: string }): Client;
  Keys: new (prefix?: string) => unknown;
  RedisRouteTable: new (client: Client, keys: unknown, options?: { reconnectGraceMs?: number; resyncPageSize?: number }) => RouteTable;
}
interface Topics {
  RouteReplica: new () => Replica;
}

const gc = (globalThis as { gc?: () => void }).gc;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const status = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? Number.NaN) * 1024;
const heap = (): number => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { routes: { type: 'string' }, json: { type: 'boolean' } } });
  const n = Number(values.routes ?? 300_000);
  if (gc === undefined) throw new Error('run with node --expose-gc');
  const names = ['@mqtt-broker/cluster-redis', '@mqtt-broker/topics'];
  const cr = (await import(names[0])) as ClusterRedis;
  const { RouteReplica } = (await import(names[1])) as Topics;
  const redis = await startRedis();
  const url = `redis://127.0.0.1:${redis.port}`;
  const writerClient = cr.createRedisClient({ url });
  const readerClient = cr.createRedisClient({ url });
  const writer = new cr.RedisRouteTable(writerClient, new cr.Keys('cap'));
  const reader = new cr.RedisRouteTable(readerClient, new cr.Keys('cap'), { reconnectGraceMs: 200 });
  try {
    for (let i = 0; i < n; i += 1_000) {
      const batch: Array<Promise<void>> = [];
      for (let k = i; k < Math.min(n, i + 1_000); k++) batch.push(writer.addRoute(k % 5 === 4 ? `dev/cap-${k}/+/set` : `dev/cap-${k}/cmd`, 'node-a'));
      await Promise.all(batch);
    }
    const base = heap();
    const replica = new RouteReplica();
    let resyncs = 0;
    let swept = 0;
    const stop = reader.watch(() => {}, {
      begin: () => {},
      page: (routes) => {
        for (const r of routes) replica.add(r.filter, r.nodeId);
      },
      held: () => replica.routes(),
      drop: (filter, nodeId) => {
        replica.remove(filter, nodeId);
      },
      end: (s) => {
        resyncs++;
        if (s) swept++;
      },
    });
    for (const r of await reader.routes()) replica.add(r.filter, r.nodeId);
    const steadyReplica = heap() - base;
    // a reconnect: the union resync, then the sweeping one after the grace period
    const resync = async (): Promise<void> => {
      const want = swept + 1;
      readerClient.disconnect(true);
      for (let t = 0; swept < want && t < 1200; t++) await sleep(100);
      if (swept < want) throw new Error('no sweeping resync within 120 s');
    };
    await resync(); // warm-up
    const steady = heap() - base;
    // the peak depends on when V8 collects (0 to ~220 B/route over single runs): the largest of 3
    let rise = 0;
    for (let k = 0; k < 3; k++) {
      heap();
      const rss0 = status('VmRSS');
      writeFileSync('/proc/self/clear_refs', '5');
      await resync();
      rise = Math.max(rise, status('VmHWM') - rss0);
    }
    const after = heap() - base;
    const per = (b: number) => Math.round(b / n);
    if (values.json === true) {
      process.stdout.write(`${JSON.stringify({ routes: n, steadyHeapBytesPerRoute: after / n, resyncPeakRssBytesPerRoute: rise / n })}\n`);
      return;
    }
    process.stdout.write(
      `${n.toLocaleString('en-US')} routes (${replica.size} in the replica): steady heap ${per(steadyReplica)} B/route (replica) + ${per(steady - steadyReplica)} B/route (after a first resync; ${resyncs} resyncs in all); ` +
        `a reconnect's two resyncs (union, then sweep): peak RSS +${per(rise)} B/route over the RSS before it (${Math.round(rise / 1048576)} MiB; the largest of 3), heap after it ${per(after)} B/route\n`,
    );
    stop();
  } finally {
    await reader.close();
    await writer.close();
    await Promise.all([writerClient.quit(), readerClient.quit()]);
    await redis.stop();
  }
}

await main();
