// The coordinator of the rate/ramp mode: forks the worker processes (rate-worker.ts; as many as
// asked, and at least enough that none holds more than `maxPerProcess` connections, since each
// process has its own file-descriptor limit), tells them one common start time, merges their
// per-second reports (counters and latency histograms) with the broker's CPU per second read from
// /proc, and builds the result (rate-types.ts). The steady window, over which the achieved rate is
// computed, is the `durationS` seconds after the ramp.

import { type ChildProcess, fork } from 'node:child_process';
import { cpuSeconds } from './proc-stats.js';
import { LatencyHistogram } from './rate-histogram.js';
import type { RateOptions, RateResult, RateSecond, RateWorkerReply, RateWorkerRequest, WorkerSecond } from './rate-types.js';

type Done = Extract<RateWorkerReply, { type: 'done' }>;

interface Merged {
  published: number;
  delivered: number;
  acked: number;
  hist: LatencyHistogram;
  /** Connections per worker at the time it reported this second. */
  connections: Map<number, number>;
}

const round = (x: number, digits = 3): number => Number(x.toFixed(digits));
const ms = (us: number): number | null => (Number.isFinite(us) ? round(us / 1000) : null);

export function workerCount(o: RateOptions): number {
  return Math.max(1, o.processes, Math.ceil(o.connections / o.maxPerProcess));
}

export async function runRate(o: RateOptions): Promise<RateResult> {
  const workers = workerCount(o);
  const script = new URL('./rate-worker.js', import.meta.url);
  const children: ChildProcess[] = Array.from({ length: workers }, () =>
    fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }),
  );
  const merged = new Map<number, Merged>();
  const cpu = new Map<number, number>();
  const errors: string[] = [];
  const killAll = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  const onSecond = (w: number, s: WorkerSecond, connections: number): void => {
    let m = merged.get(s.t);
    if (m === undefined) {
      m = { published: 0, delivered: 0, acked: 0, hist: new LatencyHistogram(), connections: new Map() };
      merged.set(s.t, m);
    }
    m.published += s.published;
    m.delivered += s.delivered;
    m.acked += s.acked;
    m.hist.add(s.hist);
    m.connections.set(w, connections);
  };
  const expect = (type: RateWorkerReply['type'], timeoutMs: number): Array<Promise<RateWorkerReply>> =>
    children.map(
      (child, i) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => finish(new Error(`rate worker ${i}: no '${type}' within ${timeoutMs} ms`)), timeoutMs);
          const onMessage = (m: RateWorkerReply): void => {
            if (m.type === type) finish(undefined, m);
          };
          const onExit = (): void => finish(new Error(`rate worker ${i} exited`));
          function finish(err: Error | undefined, m?: RateWorkerReply): void {
            clearTimeout(timer);
            child.off('message', onMessage);
            child.off('exit', onExit);
            if (err === undefined) resolve(m!);
            else reject(err);
          }
          child.on('message', onMessage);
          child.once('exit', onExit);
        }),
    );

  children.forEach((c, i) => {
    c.on('message', (m: RateWorkerReply) => {
      if (m.type === 'second') onSecond(i, m.second, m.connections);
    });
  });
  const startedAt = new Date();
  let dones: Done[];
  let startAtMs = 0;
  let cpuTimer: NodeJS.Timeout | undefined;
  try {
    await Promise.all(expect('ready', 10_000));
    const subscribed = expect('subscribed', 60_000);
    children.forEach((c, i) => {
      c.send({ type: 'setup', options: o, worker: i, workers } satisfies RateWorkerRequest);
    });
    await Promise.all(subscribed);
    const runMs = (o.rampS + o.durationS) * 1000;
    const done = expect('done', runMs + 60_000);
    startAtMs = performance.timeOrigin + performance.now() + 100;
    for (const c of children) c.send({ type: 'start', startAtMs } satisfies RateWorkerRequest);
    if (o.brokerPid !== undefined) {
      const pid = o.brokerPid;
      let t = 0;
      const sample = (): void => {
        const v = cpuSeconds(pid);
        if (v !== undefined) cpu.set(t, v);
        t++;
        cpuTimer = setTimeout(sample, startAtMs + t * 1000 - (performance.timeOrigin + performance.now()));
      };
      cpuTimer = setTimeout(sample, startAtMs - (performance.timeOrigin + performance.now()));
    }
    dones = (await Promise.all(done)) as Done[];
  } catch (err) {
    clearTimeout(cpuTimer);
    killAll();
    throw err;
  }
  clearTimeout(cpuTimer);
  for (const c of children) if (c.connected) c.send({ type: 'close' } satisfies RateWorkerRequest);
  setTimeout(killAll, 3_000).unref();
  return buildResult(o, workers, startedAt, startAtMs, merged, cpu, dones, errors);
}

function buildResult(
  o: RateOptions,
  workers: number,
  startedAt: Date,
  startAtMs: number,
  merged: Map<number, Merged>,
  cpu: Map<number, number>,
  dones: Done[],
  errors: string[],
): RateResult {
  const last = Math.max(0, ...merged.keys());
  const timeline: RateSecond[] = [];
  const all = new LatencyHistogram();
  const lastConnections = new Map<number, number>();
  let delivered = 0;
  let acked = 0;
  for (let t = 0; t <= last; t++) {
    const m = merged.get(t);
    if (m !== undefined) for (const [w, n] of m.connections) lastConnections.set(w, n);
    const connections = [...lastConnections.values()].reduce((a, n) => a + n, 0);
    const c0 = cpu.get(t);
    const c1 = cpu.get(t + 1);
    timeline.push({
      t,
      connections,
      published: m?.published ?? 0,
      delivered: m?.delivered ?? 0,
      acked: m?.acked ?? 0,
      p50: m === undefined ? null : ms(m.hist.percentile(50)),
      p90: m === undefined ? null : ms(m.hist.percentile(90)),
      p99: m === undefined ? null : ms(m.hist.percentile(99)),
      brokerCpu: c0 !== undefined && c1 !== undefined ? round(c1 - c0) : null,
    });
    if (m !== undefined) {
      all.add(m.hist.pairs());
      delivered += m.delivered;
      acked += m.acked;
    }
  }
  // the steady window: whole seconds after the ramp, up to the end of publishing
  const from = Math.ceil(o.rampS);
  const to = Math.floor(o.rampS + o.durationS);
  const steady = timeline.filter((s) => s.t >= from && s.t < to);
  const steadyS = steady.length;
  const steadyPublished = steady.reduce((a, s) => a + s.published, 0);
  const steadyDelivered = steady.reduce((a, s) => a + s.delivered, 0);
  const cpuFrom = cpu.get(from);
  const cpuTo = cpu.get(to);
  const steadyCpu = cpuFrom !== undefined && cpuTo !== undefined && steadyS > 0 ? (cpuTo - cpuFrom) / steadyS : null;
  const cpuFirst = cpu.get(0);
  const cpuLast = Math.max(...cpu.keys());
  const published = dones.reduce((a, d) => a + d.published, 0);
  const connected = dones.reduce((a, d) => a + d.connected, 0);
  const dropped = dones.reduce((a, d) => a + d.dropped, 0);
  const rampS = Math.max(0, (Math.max(...dones.map((d) => d.lastConnackMs)) - Math.min(...dones.map((d) => d.firstConnectMs))) / 1000);
  errors.push(...new Set(dones.flatMap((d) => d.errors)));
  const expectedDeliveries = published * o.subscribers;
  return {
    options: o,
    startedAt: startedAt.toISOString(),
    processes: workers,
    connections: {
      requested: o.connections,
      connected,
      failed: dones.reduce((a, d) => a + d.failed, 0),
      dropped,
      rampS: round(rampS),
      connectRate: rampS > 0 ? Math.round(connected / rampS) : 0,
    },
    publish: {
      targetRate: o.rate,
      published,
      achievedRate: steadyS > 0 ? round(steadyPublished / steadyS, 1) : 0,
      steadyS,
      skipped: dones.reduce((a, d) => a + d.skipped, 0),
      acked,
    },
    delivered,
    expectedDeliveries,
    lossRatio: expectedDeliveries > 0 ? round(Math.max(0, 1 - delivered / expectedDeliveries), 6) : 0,
    latencyMs: {
      p50: ms(all.percentile(50)) ?? 0,
      p90: ms(all.percentile(90)) ?? 0,
      p99: ms(all.percentile(99)) ?? 0,
      max: ms(all.maxUs) ?? 0,
      samples: all.total,
    },
    brokerCpuS: cpuFirst !== undefined && cpu.size > 1 ? round(cpu.get(cpuLast)! - cpuFirst) : null,
    brokerCpuPer1kMsgs:
      steadyCpu !== null && steadyDelivered > 0 ? round(steadyCpu / (steadyDelivered / steadyS / 1000), 4) : null,
    timeline,
    errors: startAtMs > 0 ? errors : ['never started', ...errors],
  };
}
