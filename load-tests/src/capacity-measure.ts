// The measurements behind docs/capacity.md, each on fresh processes of this machine:
// - a standalone node: broker RSS per idle connection (scenarios/idle.ts's openConnections), broker
//   CPU per 1,000 messages/s by QoS 0/1/2 at two rates (rate mode, 10 publishers -> 1 subscriber),
//   RSS per 100k subscribed filters;
// - a two-node cluster on one redis-server: per idle connection the node's RSS and Redis's
//   used_memory (client registry), the same for 100k filters (the subscribing node, the peer that
//   holds the route replica, Redis's route hash), and for messages published on A to a
//   subscriber on B: CPU of A and B and Redis commands (INFO commandstats) and bytes (INFO stats
//   total_net_input/output_bytes) per forwarded message, QoS 0 and QoS 1 (durable stream path).
// CPU is utime+stime from /proc over the run minus the node's idle CPU over the same time, per
// delivered message: CPU seconds per 1,000 messages = cores busy per 1,000 messages/s.
// Filters are measured on processes (and a redis-server) started for that alone, as the marginal
// cost: a warm-up batch of a fifth as many filters first (JIT, young-generation growth, first
// Map/stream buffers: ~30 MiB that does not scale with the count), then the measured batch.
// Measured after the rate runs instead, a node's heap has free pages already mapped that absorb
// new allocations without RSS growth, and the figure is understated (seen: 24-28 MiB on the peer
// where the marginal cost is more); on a cold process it is overstated (61 MiB). Heap headroom that
// does not scale with the count remains (the peer: 31-49 MiB per 100k measured with 100k filters,
// 20-24 MiB with 300k), hence the default of 300k filters.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BenchClient } from './bench-client.js';
import { startBroker } from './brokers.js';
import { type Proc, type RunningRedis, redisCli, startNode, startRedis } from './cluster-bench-nodes.js';
import { cpuSeconds, rssBytes } from './proc-stats.js';
import { runRate } from './rate-run.js';
import { DEFAULT_RATE_OPTIONS, type RateResult } from './rate-types.js';
import { openConnections } from './scenarios/idle.js';
import { DEFAULT_OPTIONS } from './scenarios/types.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface CpuPoint {
  qos: 0 | 1 | 2;
  targetRate: number;
  achievedRate: number;
  /** Broker cores busy per 1,000 delivered messages/s (fan-out 1: 1,000 in + 1,000 out). */
  coresPer1k: number | null;
  p50Ms: number;
  p99Ms: number;
}

export interface CrossPoint {
  qos: 0 | 1;
  rate: number;
  delivered: number;
  /** Publishing node, subscribing node: cores per 1,000 forwarded messages/s. */
  coresPer1kA: number;
  coresPer1kB: number;
  redisCommandsPerMsg: number;
  /** Bytes into + out of Redis per forwarded message (payload 64 B). */
  redisBytesPerMsg: number;
  commands: string;
  p50Ms: number;
  p99Ms: number;
}

export interface CapacityMeasurements {
  machine: { cpus: string; cores: number; node: string; date: string };
  standalone: {
    idleConnections: number;
    rssPerConnection: number;
    cpu: CpuPoint[];
    filters: number;
    rssPer100kFilters: number;
  };
  cluster: {
    idleConnections: number;
    rssPerConnection: number;
    redisBytesPerConnection: number;
    redisCommandsPerConnect: number;
    filters: number;
    subscriberRssPer100kFilters: number;
    peerRssPer100kFilters: number;
    redisBytesPer100kFilters: number;
    cross: CrossPoint[];
    /** redis-benchmark HSET, 50 clients, no pipelining, on this machine: the shard ceiling used for planning. */
    redisBenchmarkOpsPerS: number | null;
    /**
     * capacity-resync.ts: a route resync's peak RSS over the node's RSS before it, per route (the
     * largest of 3 reconnects, each a union resync and a sweeping one, paged and in place: what
     * the garbage of the pages and checks adds before V8 collects it; until 2026-11-26 the resync
     * held a snapshot reply, a second replica and known-route set). Absent in measurements from
     * before 2026-11-26.
     */
    resyncPeakBytesPerRoute?: number;
  };
  errors: string[];
}

async function settledRss(pid: number): Promise<number> {
  await sleep(1_500);
  return rssBytes(pid) ?? Number.NaN;
}

/** Opens `count` idle connections; returns them and the RSS deltas. */
async function idle(port: number, pid: number, count: number, prefix: string) {
  const before = await settledRss(pid);
  const opened = await openConnections({ ...DEFAULT_OPTIONS, port, brokerPid: pid, clientPrefix: prefix }, count, prefix, 200);
  const after = await settledRss(pid);
  return { opened, perConnection: (after - before) / opened.clients.length };
}

/** Subscribes `clients` x `perClient` distinct filters (80% exact, 20% with a '+'), concurrently per client. */
async function subscribeFilters(port: number, clients: number, perClient: number, prefix: string): Promise<BenchClient[]> {
  const out: BenchClient[] = [];
  for (let c = 0; c < clients; c++) {
    const client = await BenchClient.connect({ host: '127.0.0.1', port, clientId: `${prefix}-f${c}`, version: 4 });
    out.push(client);
    const pending: Array<Promise<number>> = [];
    for (let k = 0; k < perClient; k++) {
      const filter = k % 5 === 4 ? `dev/${prefix}-${c}-${k}/+/set` : `dev/${prefix}-${c}-${k}/cmd`;
      pending.push(client.subscribe(filter, 1, k + 1, 60_000));
    }
    await Promise.all(pending);
  }
  return out;
}

async function idleCpu(pids: number[], ms: number): Promise<number[]> {
  const a = pids.map((p) => cpuSeconds(p) ?? 0);
  await sleep(ms);
  return pids.map((p, i) => ((cpuSeconds(p) ?? 0) - a[i]) / (ms / 1000));
}

function rateOptions(ports: number[], pid: number, qos: 0 | 1 | 2, rate: number, durationS: number, root: string) {
  return {
    ...DEFAULT_RATE_OPTIONS,
    ports,
    brokerPid: pid,
    qos,
    rate,
    durationS,
    publishers: 10,
    subscribers: 1,
    connections: 11,
    clientPrefix: root,
    topicRoot: root,
  };
}

async function commandStats(port: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of (await redisCli(port, 'INFO', 'commandstats')).matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) out.set(m[1], Number(m[2]));
  return out;
}

async function redisStat(port: number, section: string, field: string): Promise<number> {
  const m = new RegExp(`^${field}:(\\d+)`, 'm').exec(await redisCli(port, 'INFO', section));
  return m === null ? Number.NaN : Number(m[1]);
}

async function redisBytes(port: number): Promise<number> {
  return (await redisStat(port, 'stats', 'total_net_input_bytes')) + (await redisStat(port, 'stats', 'total_net_output_bytes'));
}

export async function measureStandalone(o: { connections: number; filters: number; rates: number[]; durationS: number }, log: (s: string) => void) {
  const broker = await startBroker('ours', { maxInflight: 100, maxQueued: 100_000 });
  try {
    const idleRun = await idle(broker.port, broker.pid, o.connections, 'cap-idle');
    log(`standalone: ${idleRun.opened.clients.length} idle connections, ${Math.round(idleRun.perConnection)} B RSS each`);
    for (const c of idleRun.opened.clients) c.destroy();
    await sleep(1_000);
    const cpu: CpuPoint[] = [];
    for (const qos of [0, 1, 2] as const) {
      for (const rate of o.rates) {
        const r: RateResult = await runRate(rateOptions([broker.port], broker.pid, qos, rate, o.durationS, `cap-q${qos}-${rate}`));
        cpu.push({ qos, targetRate: rate, achievedRate: r.publish.achievedRate, coresPer1k: r.brokerCpuPer1kMsgs, p50Ms: r.latencyMs.p50, p99Ms: r.latencyMs.p99 });
        log(`standalone: QoS ${qos} at ${rate} msg/s: ${r.publish.achievedRate} achieved, ${r.brokerCpuPer1kMsgs} cores per 1k msg/s, p99 ${r.latencyMs.p99} ms`);
      }
    }
    const rssPer100kFilters = await standaloneFilters(o.filters);
    log(`standalone: ${o.filters} filters, ${Math.round(rssPer100kFilters / 1048576)} MiB RSS per 100k`);
    return { idleConnections: idleRun.opened.clients.length, rssPerConnection: idleRun.perConnection, cpu, filters: o.filters, rssPer100kFilters };
  } finally {
    await broker.stop();
  }
}

/** RSS per 100k filters on a broker started for this alone (after a warm-up batch). */
export async function standaloneFilters(filters: number): Promise<number> {
  const broker = await startBroker('ours', { maxInflight: 100, maxQueued: 100_000 });
  try {
    await subscribeFilters(broker.port, 20, filters / 500, 'cap-sw');
    const before = await settledRss(broker.pid);
    const subs = await subscribeFilters(broker.port, 100, filters / 100, 'cap-sa');
    const after = await settledRss(broker.pid);
    for (const s of subs) s.destroy();
    return ((after - before) / filters) * 100_000;
  } finally {
    await broker.stop();
  }
}

/**
 * Filters subscribed on A of a fresh two-node cluster on a fresh redis-server: RSS per 100k
 * filters of A (subscribing) and B (the peer: its route replica and route watcher), Redis bytes.
 */
export async function clusterFilters(filters: number, log: (s: string) => void) {
  let redis: RunningRedis | undefined;
  const nodes: Proc[] = [];
  try {
    redis = await startRedis();
    nodes.push(await startNode('ours', 'cap-fa', redis.port), await startNode('ours', 'cap-fb', redis.port));
    const [a, b] = nodes;
    await subscribeFilters(a.port, 20, filters / 500, 'cap-cw');
    await sleep(1_500);
    const m0 = await redisStat(redis.port, 'memory', 'used_memory');
    const ra0 = await settledRss(a.pid);
    const rb0 = rssBytes(b.pid) ?? Number.NaN;
    const subs = await subscribeFilters(a.port, 100, filters / 100, 'cap-cl');
    const ra1 = await settledRss(a.pid);
    const rb1 = await settledRss(b.pid); // B has read the route changes by then (3 s after the last SUBACK)
    const m1 = await redisStat(redis.port, 'memory', 'used_memory');
    const per = (x: number) => (x / filters) * 100_000;
    log(`cluster: ${filters} filters on A: A +${Math.round(per(ra1 - ra0) / 1048576)} MiB, B (replica) +${Math.round(per(rb1 - rb0) / 1048576)} MiB, Redis +${Math.round(per(m1 - m0) / 1048576)} MiB per 100k`);
    for (const c of subs) c.destroy();
    return { subscriberRssPer100kFilters: per(ra1 - ra0), peerRssPer100kFilters: per(rb1 - rb0), redisBytesPer100kFilters: per(m1 - m0) };
  } finally {
    await Promise.all(nodes.map((p) => p.stop()));
    await redis?.stop();
  }
}

export async function measureCluster(o: { connections: number; filters: number; rate: number; durationS: number }, log: (s: string) => void) {
  let redis: RunningRedis | undefined;
  const nodes: Proc[] = [];
  try {
    redis = await startRedis();
    nodes.push(await startNode('ours', 'cap-a', redis.port), await startNode('ours', 'cap-b', redis.port));
    const [a, b] = nodes;
    const rport = redis.port;
    // idle connections on A: node RSS and Redis memory (the client registry)
    const mem0 = await redisStat(rport, 'memory', 'used_memory');
    const cmd0 = await redis.commands();
    const idleRun = await idle(a.port, a.pid, o.connections, 'cap-cidle');
    const n = idleRun.opened.clients.length;
    const redisPerConn = ((await redisStat(rport, 'memory', 'used_memory')) - mem0) / n;
    const commandsPerConnect = ((await redis.commands()) - cmd0) / n;
    log(`cluster: ${n} idle connections on A: ${Math.round(idleRun.perConnection)} B RSS, ${Math.round(redisPerConn)} B Redis, ${commandsPerConnect.toFixed(2)} Redis commands per connect`);
    for (const c of idleRun.opened.clients) c.destroy();
    await sleep(2_000);
    // cross-node forwarding: subscriber on B (connection 0), publishers on A
    const cross: CrossPoint[] = [];
    for (const qos of [0, 1] as const) {
      const [idleA, idleB] = await idleCpu([a.pid, b.pid], 2_000);
      const c0 = [cpuSeconds(a.pid) ?? 0, cpuSeconds(b.pid) ?? 0];
      const s0 = await commandStats(rport);
      const b0 = await redisBytes(rport);
      const t0 = performance.now();
      const r = await runRate(rateOptions([b.port, ...Array(10).fill(a.port)], a.pid, qos, o.rate, o.durationS, `cap-x${qos}`));
      const s = (performance.now() - t0) / 1000;
      const c1 = [cpuSeconds(a.pid) ?? 0, cpuSeconds(b.pid) ?? 0];
      const s1 = await commandStats(rport);
      const b1 = await redisBytes(rport);
      let commands = 0;
      const parts: string[] = [];
      for (const [k, v] of s1) {
        const d = v - (s0.get(k) ?? 0);
        if (d > 0 && k !== 'info') {
          commands += d;
          parts.push(`${k}=${d}`);
        }
      }
      const k = r.delivered / 1000;
      const point: CrossPoint = {
        qos,
        rate: o.rate,
        delivered: r.delivered,
        coresPer1kA: (c1[0] - c0[0] - idleA * s) / k,
        coresPer1kB: (c1[1] - c0[1] - idleB * s) / k,
        redisCommandsPerMsg: commands / r.delivered,
        redisBytesPerMsg: (b1 - b0) / r.delivered,
        commands: parts.join(' '),
        p50Ms: r.latencyMs.p50,
        p99Ms: r.latencyMs.p99,
      };
      cross.push(point);
      log(`cluster: QoS ${qos} A->B at ${o.rate} msg/s: A ${point.coresPer1kA.toFixed(4)} B ${point.coresPer1kB.toFixed(4)} cores per 1k msg/s, Redis ${point.redisCommandsPerMsg.toFixed(3)} commands and ${Math.round(point.redisBytesPerMsg)} B per message (${point.commands})`);
    }
    let redisBenchmarkOpsPerS: number | null = null;
    try {
      const { stdout } = await promisify(execFile)('redis-benchmark', ['-p', String(rport), '-q', '-n', '200000', '-c', '50', '-t', 'hset'], { timeout: 60_000 });
      const m = /HSET: ([\d.]+) requests per second/.exec(stdout);
      redisBenchmarkOpsPerS = m === null ? null : Math.round(Number(m[1]));
    } catch {
      // redis-benchmark missing: the model falls back to a stated figure
    }
    log(`cluster: redis-benchmark HSET ${redisBenchmarkOpsPerS ?? 'n/a'} ops/s`);
    await Promise.all(nodes.splice(0).map((p) => p.stop()));
    await redis.stop();
    redis = undefined;
    const f = await clusterFilters(o.filters, log);
    return {
      idleConnections: n,
      rssPerConnection: idleRun.perConnection,
      redisBytesPerConnection: redisPerConn,
      redisCommandsPerConnect: commandsPerConnect,
      filters: o.filters,
      ...f,
      cross,
      redisBenchmarkOpsPerS,
    };
  } finally {
    await Promise.all(nodes.map((p) => p.stop()));
    await redis?.stop();
  }
}
