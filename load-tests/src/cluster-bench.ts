// `npm run bench:cluster`: two cluster nodes and one redis-server on this machine, for our broker
// (REDIS_URL cluster mode) and for Aedes clustered with mqemitter-redis + aedes-persistence-redis,
// one after the other, each on a fresh Redis. Publishers on node A, subscribers on node B:
//   1. cross-node throughput, QoS 0 and QoS 1 (closed loop, cluster-bench-scenarios.ts);
//   2. cross-node latency p50/p99 at a fixed rate (default 5,000 msg/s);
//   3. Redis commands per forwarded message (INFO total_commands_processed delta over the QoS 0
//      run, divided by the messages delivered on B);
//   4. a QoS 0 flood, then a probe: do 100 messages still cross, was a node's Redis link lost?
// Prints a Markdown table (optionally JSON). Not pinned to CPUs: nodes, Redis and the generator
// share the machine's cores, as in the reference measurement.

import { writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { BenchClient } from './bench-client.js';
import { brokerAvailable } from './brokers.js';
import { type ClusterKind, type Proc, type RunningRedis, startNode, startRedis } from './cluster-bench-nodes.js';
import { type CrossOptions, crossLatency, crossThroughput } from './cluster-bench-scenarios.js';
import { fmtNum, fmtRate } from './format.js';
import { encodePublish } from './packets.js';
import type { ScenarioResult } from './scenarios/types.js';

interface KindResult {
  kind: ClusterKind;
  qos0: ScenarioResult | null;
  qos1: ScenarioResult | null;
  latency: ScenarioResult | null;
  commandsPerMessage: number | null;
  flood: ScenarioResult | null;
  probeAfterFlood: number | null;
  redisReconnects: number | null;
  /** Redis INFO client_output_buffer_limit_disconnections after the flood (links Redis cut). */
  redisCutLinks: number | null;
  /** ours, after the flood: messages node A's bus dropped (backlog bound), messages B dropped (queues). */
  busDropped: number | null;
  subscriberDropped: number | null;
  nodesAlive: boolean;
  errors: string[];
}

function metrics(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/metrics', timeout: 2_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', () => resolve(''));
  });
}

function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && !line.startsWith('#')) sum += Number(line.split(' ').pop());
  return sum;
}

/**
 * After a flood: every 250 ms, `n` QoS 0 messages on A; resolves with the seconds until a round
 * arrives complete on B, or null when none did within `maxS`.
 */
async function recovery(a: Proc, b: Proc, n: number, maxS: number): Promise<number | null> {
  const t0 = Date.now();
  const seen = new Map<number, number>();
  const sub = await BenchClient.connect({
    host: '127.0.0.1',
    port: b.port,
    clientId: `probe-sub-${process.pid}`,
    version: 4,
    onPublish: (_header, buf, _start, end) => {
      const round = buf[end - 1];
      seen.set(round, (seen.get(round) ?? 0) + 1);
    },
  });
  await sub.subscribe('probe/#', 0);
  await new Promise((r) => setTimeout(r, 300));
  const pub = await BenchClient.connect({ host: '127.0.0.1', port: a.port, clientId: `probe-pub-${process.pid}`, version: 4 });
  let result: number | null = null;
  for (let round = 0; round < 250 && Date.now() - t0 < maxS * 1000; round++) {
    const frame = encodePublish('probe/x', Buffer.from([round]), 0, 4).frame;
    for (let i = 0; i < n; i++) pub.write(frame);
    await new Promise((r) => setTimeout(r, 250));
    const complete = [...seen.entries()].find(([, count]) => count >= n);
    if (complete !== undefined) {
      result = (Date.now() - t0) / 1000;
      break;
    }
  }
  pub.close();
  sub.close();
  return result;
}

async function runKind(kind: ClusterKind, base: Omit<CrossOptions, 'pubPort' | 'subPort' | 'pids' | 'topicRoot'>, floodS: number): Promise<KindResult> {
  const r: KindResult = { kind, qos0: null, qos1: null, latency: null, commandsPerMessage: null, flood: null, probeAfterFlood: null, redisReconnects: null, redisCutLinks: null, busDropped: null, subscriberDropped: null, nodesAlive: false, errors: [] };
  let redis: RunningRedis | undefined;
  const nodes: Proc[] = [];
  try {
    redis = await startRedis();
    nodes.push(await startNode(kind, `${kind}-a`, redis.port));
    nodes.push(await startNode(kind, `${kind}-b`, redis.port));
    const [a, b] = nodes;
    const o = (root: string): CrossOptions => ({ ...base, pubPort: a.port, subPort: b.port, pids: [a.pid, b.pid, redis?.pid ?? -1], topicRoot: root });
    const before = await redis.commands();
    r.qos0 = await crossThroughput(0, true, o('q0'));
    const after = await redis.commands();
    r.commandsPerMessage = r.qos0.totalDelivered > 0 ? (after - before) / r.qos0.totalDelivered : null;
    process.stderr.write(`${kind}: qos0 ${fmtRate(r.qos0.deliveredPerSec)} msg/s\n`);
    r.qos1 = await crossThroughput(1, true, o('q1'));
    process.stderr.write(`${kind}: qos1 ${fmtRate(r.qos1.deliveredPerSec)} msg/s\n`);
    r.latency = await crossLatency(o('lat'));
    process.stderr.write(`${kind}: latency p99 ${fmtNum((r.latency.latency?.p99 ?? Number.NaN) / 1000, 2)} ms\n`);
    r.flood = await crossThroughput(0, false, { ...o('flood'), durationS: floodS });
    process.stderr.write(`${kind}: flood delivered ${fmtRate(r.flood.deliveredPerSec)} msg/s of ${fmtRate(r.flood.publishedPerSec)} published\n`);
    r.redisCutLinks = await redis.outputBufferDisconnections();
    r.probeAfterFlood = await recovery(a, b, 100, 20);
    if (kind === 'ours') {
      const [ma, mb] = [await metrics(a.httpPort ?? 0), await metrics(b.httpPort ?? 0)];
      r.redisReconnects = metricSum(ma, 'mqtt_redis_reconnects_total') + metricSum(mb, 'mqtt_redis_reconnects_total');
      r.busDropped = metricSum(ma, 'mqtt_cluster_dropped_messages_total');
      r.subscriberDropped = metricSum(mb, 'mqtt_messages_dropped_total');
    }
    r.nodesAlive = nodes.every((n) => !n.exited);
  } catch (err) {
    r.errors.push((err as Error).message);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  }
  for (const s of [r.qos0, r.qos1, r.latency, r.flood]) if (s !== null) r.errors.push(...s.errors.slice(0, 3));
  return r;
}

function table(results: KindResult[]): string {
  const ours = results.find((x) => x.kind === 'ours');
  const aedes = results.find((x) => x.kind === 'aedes');
  const rows: Array<[string, (k: KindResult) => number | null, (v: number | null) => string, 'higher' | 'lower' | null]> = [
    ['cross-node QoS 0 throughput (msg/s delivered on B)', (k) => k.qos0?.deliveredPerSec ?? null, fmtRate, 'higher'],
    ['cross-node QoS 1 throughput (msg/s delivered on B)', (k) => k.qos1?.deliveredPerSec ?? null, fmtRate, 'higher'],
    ['CPU per QoS 0 message, 2 nodes + Redis (µs)', (k) => k.qos0?.cpuUsPerMsg ?? null, (v) => fmtNum(v, 1), 'lower'],
    ['CPU per QoS 1 message, 2 nodes + Redis (µs)', (k) => k.qos1?.cpuUsPerMsg ?? null, (v) => fmtNum(v, 1), 'lower'],
    ['latency p50 at the fixed rate (ms)', (k) => (k.latency?.latency ? k.latency.latency.p50 / 1000 : null), (v) => fmtNum(v, 2), 'lower'],
    ['latency p99 at the fixed rate (ms)', (k) => (k.latency?.latency ? k.latency.latency.p99 / 1000 : null), (v) => fmtNum(v, 2), 'lower'],
    ['latency run: delivered / published', (k) => (k.latency && k.latency.totalPublished > 0 ? k.latency.totalDelivered / k.latency.totalPublished : null), (v) => fmtNum(v, 3), null],
    ['Redis commands per forwarded QoS 0 message', (k) => k.commandsPerMessage, (v) => fmtNum(v, 3), 'lower'],
    ['QoS 0 flood: delivered on B (msg/s)', (k) => k.flood?.deliveredPerSec ?? null, fmtRate, null],
    ['QoS 0 flood: pub/sub links Redis cut (output buffer limit)', (k) => k.redisCutLinks, (v) => fmtNum(v, 0), null],
    ['after the flood: seconds until 100 probe messages cross again', (k) => k.probeAfterFlood, (v) => (v === null ? 'never (20 s)' : fmtNum(v, 1)), null],
  ];
  const lines = ['| metric | ours | Aedes + mqemitter-redis | ours vs Aedes |', '| --- | ---: | ---: | ---: |'];
  for (const [name, get, fmt, better] of rows) {
    const x = ours ? get(ours) : null;
    const y = aedes ? get(aedes) : null;
    const cell = (k: KindResult | undefined, v: number | null): string => (k === undefined ? '-' : fmt(v));
    let ratio = '';
    if (better !== null && x !== null && y !== null && x > 0 && y > 0) ratio = better === 'higher' ? `${fmtNum(x / y, 1)}x` : `${fmtNum(y / x, 1)}x better`;
    lines.push(`| ${name} | ${cell(ours, x)} | ${cell(aedes, y)} | ${ratio} |`);
  }
  if (ours?.redisReconnects !== null && ours?.redisReconnects !== undefined) lines.push(`| ours: Redis reconnects during the run | ${ours.redisReconnects} | | |`);
  if (ours?.busDropped !== null && ours?.busDropped !== undefined) lines.push(`| ours: dropped by A's bus (backlog bound) / by B (subscriber queue), whole run | ${fmtRate(ours.busDropped)} / ${fmtRate(ours.subscriberDropped)} | | |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      brokers: { type: 'string', default: 'ours,aedes' },
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      flood: { type: 'string', default: '3' },
      rate: { type: 'string', default: '5000' },
      publishers: { type: 'string', default: '10' },
      payload: { type: 'string', default: '64' },
      inflight: { type: 'string', default: '5000' },
      window: { type: 'string', default: '500' },
      json: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run bench:cluster -- [--brokers ours,aedes] [--duration 5] [--warmup 1] [--flood 3] [--rate 5000]\n' +
        '                                [--publishers 10] [--payload 64] [--inflight 5000] [--window 500] [--json file]\n',
    );
    return;
  }
  const kinds = (values.brokers ?? '').split(',').filter((k): k is ClusterKind => k === 'ours' || k === 'aedes');
  const base = {
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    publishers: Number(values.publishers),
    payloadBytes: Number(values.payload),
    inflight: Number(values.inflight),
    window: Number(values.window),
    rate: Number(values.rate),
  };
  const results: KindResult[] = [];
  for (const kind of kinds) {
    if (kind === 'ours' && !brokerAvailable('ours')) {
      process.stderr.write('ours: not built (run tsc -b), skipped\n');
      continue;
    }
    results.push(await runKind(kind, base, Number(values.flood)));
  }
  process.stdout.write(`\nCross-node, 2 nodes + 1 redis-server + generator on ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${base.publishers} publishers on A, 1 subscriber on B, ${base.payloadBytes} B payload, ${base.durationS} s measured, latency at ${base.rate} msg/s\n\n`);
  process.stdout.write(`${table(results)}\n`);
  for (const r of results) {
    if (r.errors.length > 0) process.stdout.write(`\n${r.kind} errors: ${r.errors.join('; ')}\n`);
    if (!r.nodesAlive) process.stdout.write(`\n${r.kind}: a node exited during the run\n`);
  }
  if (values.json !== undefined) writeFileSync(values.json, JSON.stringify(results, null, 2));
}

await main();
