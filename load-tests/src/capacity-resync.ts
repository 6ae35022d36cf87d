// The memory a route resync costs a node on top of its steady route replica (docs/capacity.md,
// "What breaks first"): `node --expose-gc load-tests/dist/src/capacity-resync.js [--routes N] [--json]`
// (capacity.ts runs it with --json).
//
// In one process, on a fresh redis-server: writes N routes of another node (80% `dev/<id>/cmd`,
// 20% `dev/<id>/+/set`) through RedisRouteTable, builds a RouteReplica from the snapshot as the
// cluster link does at start, and watches the table with a resync handler that rebuilds the
// replica as cluster-link.ts does. A reconnect of the table's client makes the watcher resync
// (the Redis-restart path: snapshot plus the routes it knew, then a new replica). The first
// resync fills the watcher's known routes (steady state); the second is measured: peak RSS during
// it (VmHWM, reset through /proc/self/clear_refs) minus the RSS before it, and heap after GC.
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
  readonly size: number;
}
interface RouteTable {
  addRoute(filter: string, nodeId: string): Promise<void>;
  routes(): Promise<Route[]>;
  watch(listener: (c: { op: string; filter: string; nodeId: string }) => void, onResync?: (routes: Route[]) => void): () => void;
  close(): Promise<void>;
}
interface Client {
  disconnect(reconnect?: boolean): void;
  quit(): Promise<unknown>;
}
interface ClusterRedis {
  createRedisClient(o: { url: string }): Client;
  Keys: new (prefix?: string) => unknown;
  RedisRouteTable: new (client: Client, keys: unknown, options?: { reconnectGraceMs?: number }) => RouteTable;
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
  const reader = new cr.RedisRouteTable(readerClient, new cr.Keys('cap'), { reconnectGraceMs: 600_000 });
  try {
    for (let i = 0; i < n; i += 1_000) {
      const batch: Array<Promise<void>> = [];
      for (let k = i; k < Math.min(n, i + 1_000); k++) batch.push(writer.addRoute(k % 5 === 4 ? `dev/cap-${k}/+/set` : `dev/cap-${k}/cmd`, 'node-a'));
      await Promise.all(batch);
    }
    const base = heap();
    let replica = new RouteReplica();
    let resyncs = 0;
    const stop = reader.watch(
      () => {},
      (routes) => {
        replica = new RouteReplica();
        for (const r of routes) replica.add(r.filter, r.nodeId);
        resyncs++;
      },
    );
    for (const r of await reader.routes()) replica.add(r.filter, r.nodeId);
    const steadyReplica = heap() - base;
    const resync = async (): Promise<void> => {
      const want = resyncs + 1;
      readerClient.disconnect(true);
      for (let t = 0; resyncs < want && t < 600; t++) await sleep(100);
      if (resyncs < want) throw new Error('no resync within 60 s');
    };
    await resync(); // fills the watcher's known routes
    const steady = heap() - base;
    const rss0 = status('VmRSS');
    writeFileSync('/proc/self/clear_refs', '5');
    await resync();
    const peak = status('VmHWM');
    const after = heap() - base;
    const per = (b: number) => Math.round(b / n);
    if (values.json === true) {
      process.stdout.write(`${JSON.stringify({ routes: n, steadyHeapBytesPerRoute: after / n, resyncPeakRssBytesPerRoute: (peak - rss0) / n })}\n`);
      return;
    }
    process.stdout.write(
      `${n.toLocaleString('en-US')} routes (${replica.size} in the replica): steady heap ${per(steadyReplica)} B/route (replica) + ${per(steady - steadyReplica)} B/route (watcher's known routes); ` +
        `a resync: peak RSS +${per(peak - rss0)} B/route over the RSS before it (${Math.round((peak - rss0) / 1048576)} MiB), heap after it ${per(after)} B/route\n`,
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
