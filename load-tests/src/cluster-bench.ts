// `npm run bench:cluster`: two cluster nodes and one redis-server on this machine, for our broker
// (REDIS_URL cluster mode) and for Aedes clustered with mqemitter-redis + aedes-persistence-redis,
// one after the other, each on a fresh Redis. Publishers on node A, subscribers on node B:
//   1. cross-node throughput, QoS 0 and QoS 1 (closed loop, cluster-bench-scenarios.ts);
//   2. cross-node latency p50/p99 at a fixed rate (default 5,000 msg/s);
//   3. Redis commands per forwarded message (INFO total_commands_processed delta over the QoS 0
//      run, divided by the messages delivered on B);
//   4. a QoS 0 flood, then a probe: do 100 messages still cross, was a node's Redis link lost?
// Beside them, each run, the latency scenario against one Mosquitto node placed like the nodes
// (pinned with them under --pin): one hop of a C broker, the floor this machine and generator
// allow (its p99 varies from run to run with the machine's scheduling, not the broker).
// Prints a Markdown table (optionally JSON). By default not pinned to CPUs: nodes, Redis and the
// generator share the machine's cores. `--pin`: both nodes and Redis on one CPU (`--node-cpu`,
// default 0), the generator (this process) on another (`--generator-cpu`, default 1), the layout
// of pods sharing a core. `--runs N` interleaves the brokers run by run (each sees the same drift
// of a shared machine) and reports medians with every run's figure beside them. `--cpu-prof dir`:
// every node runs under `node --cpu-prof` (one profile per node and run, written when it stops).
// `--ours-defaults`: our nodes with their default settings (only DRAIN_SECONDS=1), as a new user
// starts them, instead of the bench's limits (queue 100,000 like the other brokers, log level warn).

import { writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { BenchClient } from './bench-client.js';
import { brokerAvailable, DEFAULT_BROKER_CONFIG, startBroker } from './brokers.js';
import { type ClusterKind, type NodeOptions, type Proc, pinTo, type RunningRedis, startNode, startRedis } from './cluster-bench-nodes.js';
import { type CrossOptions, crossLatency, crossThroughput } from './cluster-bench-scenarios.js';
import { fmtNum, fmtRate } from './format.js';
import { encodePublish } from './packets.js';
import { median } from './stats.js';
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
  /** ours: messages B dropped (subscriber queue full) during the QoS 0 closed loop alone. */
  closedLoopDropped: number | null;
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

async function runKind(kind: ClusterKind, base: Omit<CrossOptions, 'pubPort' | 'subPort' | 'pids' | 'topicRoot'>, floodS: number, place: NodeOptions): Promise<KindResult> {
  const r: KindResult = { kind, qos0: null, qos1: null, latency: null, commandsPerMessage: null, flood: null, probeAfterFlood: null, redisReconnects: null, redisCutLinks: null, busDropped: null, subscriberDropped: null, closedLoopDropped: null, nodesAlive: false, errors: [] };
  let redis: RunningRedis | undefined;
  const nodes: Proc[] = [];
  try {
    redis = await startRedis(place.cpu);
    nodes.push(await startNode(kind, `${kind}-a`, redis.port, place));
    nodes.push(await startNode(kind, `${kind}-b`, redis.port, place));
    const [a, b] = nodes;
    const o = (root: string): CrossOptions => ({ ...base, pubPort: a.port, subPort: b.port, pids: [a.pid, b.pid, redis?.pid ?? -1], topicRoot: root });
    const before = await redis.commands();
    r.qos0 = await crossThroughput(0, true, o('q0'));
    const after = await redis.commands();
    r.commandsPerMessage = r.qos0.totalDelivered > 0 ? (after - before) / r.qos0.totalDelivered : null;
    if (kind === 'ours') r.closedLoopDropped = metricSum(await metrics(b.httpPort ?? 0), 'mqtt_messages_dropped_total');
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

/** The latency scenario against one Mosquitto node placed like the cluster nodes (the floor). */
async function floorLatency(base: Omit<CrossOptions, 'pubPort' | 'subPort' | 'pids' | 'topicRoot'>, place: NodeOptions): Promise<ScenarioResult | null> {
  if (!brokerAvailable('mosquitto')) return null;
  const m = await startBroker('mosquitto', { ...DEFAULT_BROKER_CONFIG, ...(place.cpu !== undefined ? { cpu: place.cpu } : {}) });
  try {
    return await crossLatency({ ...base, pubPort: m.port, subPort: m.port, pids: [m.pid], topicRoot: 'floor' });
  } finally {
    await m.stop();
  }
}

type Row = [string, (k: KindResult) => number | null, (v: number | null) => string, 'higher' | 'lower' | null];

const ROWS: Row[] = [
  ['cross-node QoS 0 throughput (msg/s delivered on B)', (k) => k.qos0?.deliveredPerSec ?? null, fmtRate, 'higher'],
  ['cross-node QoS 1 throughput (msg/s delivered on B)', (k) => k.qos1?.deliveredPerSec ?? null, fmtRate, 'higher'],
  ['closed-loop stalls (1 s without a delivery), QoS 0 + QoS 1', (k) => (k.qos0 === null && k.qos1 === null ? null : (k.qos0?.stalls ?? 0) + (k.qos1?.stalls ?? 0)), (v) => fmtNum(v, 0), null],
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

/** Throughput rows whose runs are checked for a collapse (a run below half of the median). */
const COLLAPSE_ROWS = new Set(ROWS.slice(0, 2).map((r) => r[0]));

/** Medians over the runs of each broker (ratios of the medians), every run's figure in the last columns. */
function table(results: KindResult[], floors: ScenarioResult[]): string {
  const ours = results.filter((x) => x.kind === 'ours');
  const aedes = results.filter((x) => x.kind === 'aedes');
  const runs = ours.length > 1 || aedes.length > 1;
  const head = ['metric', 'ours', 'Aedes + mqemitter-redis', 'ours vs Aedes', ...(runs ? ['runs (ours)', 'runs (Aedes)'] : [])];
  const lines = [`| ${head.join(' | ')} |`, `| --- | ${head.slice(1).map(() => '---:').join(' | ')} |`];
  const collapsed: string[] = [];
  for (const [name, get, fmt, better] of ROWS) {
    const valuesOf = (ks: KindResult[]) => ks.map(get);
    const x = median(valuesOf(ours));
    const y = median(valuesOf(aedes));
    const cell = (ks: KindResult[], v: number | null): string => (ks.length === 0 ? '-' : fmt(v));
    let ratio = '';
    if (better !== null && x !== null && y !== null && x > 0 && y > 0) ratio = better === 'higher' ? `${fmtNum(x / y, 1)}x` : `${fmtNum(y / x, 1)}x better`;
    const each = (ks: KindResult[]) => valuesOf(ks).map(fmt).join(' / ');
    lines.push(`| ${name} | ${cell(ours, x)} | ${cell(aedes, y)} | ${ratio} |${runs ? ` ${each(ours)} | ${each(aedes)} |` : ''}`);
    if (COLLAPSE_ROWS.has(name) && x !== null && valuesOf(ours).some((v) => v !== null && v < x / 2)) collapsed.push(name);
  }
  const sum = (f: (k: KindResult) => number | null) => (ours.some((k) => f(k) !== null) ? ours.reduce((s, k) => s + (f(k) ?? 0), 0) : null);
  const reconnects = sum((k) => k.redisReconnects);
  if (reconnects !== null) lines.push(`| ours: Redis reconnects during the run(s) | ${reconnects} | | |`);
  const busDropped = sum((k) => k.busDropped);
  const closedLoopDropped = sum((k) => k.closedLoopDropped);
  if (closedLoopDropped !== null) lines.push(`| ours: dropped by B (subscriber queue) in the QoS 0 closed loop, all runs | ${fmtRate(closedLoopDropped)} | | |`);
  if (busDropped !== null) lines.push(`| ours: dropped by A's bus (backlog bound) / by B (subscriber queue), all runs | ${fmtRate(busDropped)} / ${fmtRate(sum((k) => k.subscriberDropped))} | | |`);
  const floor = floors.map((f) => f.latency).filter((l) => l !== null);
  if (floor.length > 0) {
    const ms = (v: number | null) => fmtNum(v === null ? null : v / 1000, 2);
    const each = floor.map((l) => `${ms(l.p50)} / ${ms(l.p99)}`).join(', ');
    lines.push(`| floor: one Mosquitto node placed like the nodes, latency p50 / p99 (ms), median${floor.length > 1 ? ` (runs: ${each})` : ''} | ${ms(median(floor.map((l) => l.p50)))} / ${ms(median(floor.map((l) => l.p99)))} | | |`);
  }
  if (runs) lines.push('', collapsed.length === 0 ? 'No run of ours below half of its median.' : `A run of ours fell below half of its median: ${collapsed.join('; ')}.`);
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
      runs: { type: 'string', default: '1' },
      pin: { type: 'boolean', default: false },
      'node-cpu': { type: 'string', default: '0' },
      'generator-cpu': { type: 'string', default: '1' },
      'cpu-prof': { type: 'string' },
      'ours-defaults': { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run bench:cluster -- [--brokers ours,aedes] [--duration 5] [--warmup 1] [--flood 3] [--rate 5000]\n' +
        '                                [--publishers 10] [--payload 64] [--inflight 5000] [--window 500] [--runs 1]\n' +
        '                                [--pin [--node-cpu 0] [--generator-cpu 1]] [--cpu-prof dir] [--ours-defaults] [--json file]\n' +
        '  --pin       both nodes and Redis on --node-cpu, the generator on --generator-cpu (taskset)\n' +
        '  --runs N    N runs per broker, interleaved; medians, every run beside them\n' +
        '  --cpu-prof  each node runs with node --cpu-prof, profiles written to dir\n' +
        '  --ours-defaults  our nodes with their default settings (queue 1,000, log info), not the bench limits\n',
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
  const place: NodeOptions = {
    ...(values.pin ? { cpu: values['node-cpu'] } : {}),
    ...(values['cpu-prof'] !== undefined ? { cpuProfDir: values['cpu-prof'] } : {}),
    defaults: values['ours-defaults'] === true,
  };
  if (values.pin) await pinTo(process.pid, values['generator-cpu'] ?? '1');
  const runs = Math.max(1, Math.floor(Number(values.runs)));
  const results: KindResult[] = [];
  const floors: ScenarioResult[] = [];
  for (let run = 0; run < runs; run++) {
    for (const kind of kinds) {
      if (kind === 'ours' && !brokerAvailable('ours')) {
        process.stderr.write('ours: not built (run tsc -b), skipped\n');
        continue;
      }
      if (runs > 1) process.stderr.write(`run ${run + 1}/${runs}\n`);
      results.push(await runKind(kind, base, Number(values.flood), place));
    }
    const floor = await floorLatency(base, place);
    if (floor !== null) {
      floors.push(floor);
      process.stderr.write(`floor (one Mosquitto node): latency p99 ${fmtNum((floor.latency?.p99 ?? Number.NaN) / 1000, 2)} ms\n`);
    }
  }
  const layout = values.pin ? `2 nodes + 1 redis-server on CPU ${values['node-cpu']}, generator on CPU ${values['generator-cpu']}` : `2 nodes + 1 redis-server + generator on ${cpus().length} CPUs, not pinned`;
  process.stdout.write(`\nCross-node, ${layout} (${cpus()[0]?.model ?? '?'}), node ${process.version}, ${base.publishers} publishers on A, 1 subscriber on B, ${base.payloadBytes} B payload, ${base.inflight} in flight, ${base.durationS} s measured, latency at ${base.rate} msg/s, ${runs === 1 ? 'one run' : `medians of ${runs} runs`}\n\n`);
  process.stdout.write(`${table(results, floors)}\n`);
  for (const r of results) {
    if (r.errors.length > 0) process.stdout.write(`\n${r.kind} errors: ${r.errors.join('; ')}\n`);
    if (!r.nodesAlive) process.stdout.write(`\n${r.kind}: a node exited during the run\n`);
  }
  if (values.json !== undefined) writeFileSync(values.json, JSON.stringify({ node: process.version, results, floors }, null, 2));
}

await main();
