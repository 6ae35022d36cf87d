// The clock of a measured run: warm up, snapshot counters and the broker's CPU, sample the
// delivered count every 250 ms (for the per-second timeline and collapse detection), watch the
// broker's pid (a crash ends the run early), snapshot again, then let in-flight messages drain.
// It also reads how long the broker's and the generator's main threads sat runnable but waiting
// for a CPU (`/proc/<pid>/schedstat`, run_delay): on a shared machine that wait, not the broker,
// is what the latency tail is made of (load-tests/README.md, "Latency").

import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { cpuSeconds, processAlive } from '../proc-stats.js';

/** Nanoseconds the main thread of `pid` ('self' for this process) has waited on a run queue. */
export function runQueueWaitNs(pid: number | 'self'): number | undefined {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]);
  } catch {
    return undefined;
  }
}

export interface Counters {
  published: number;
  delivered: number;
}

export interface Measurement {
  measuredS: number;
  published: number;
  delivered: number;
  brokerCpuS: number | null;
  generatorCpu: number;
  timeline: number[];
  /** Run-queue wait during the measurement, ms per measured second (schedstat run_delay). */
  brokerWaitMsPerS: number | null;
  generatorWaitMsPerS: number | null;
  /** 1-minute load average at the end of the measurement. */
  loadAverage: number;
  crashed: boolean;
  /** Why the run ended early, if it did. */
  failure: string | undefined;
}

export interface MonitorOptions {
  brokerPid?: number;
  counters: () => Counters;
  /** Returns a reason when the run cannot go on (e.g. every subscriber was disconnected). */
  broken?: () => string | undefined;
  /** Called on every 250 ms tick (closed-loop stall detection lives there). */
  onTick?: () => void;
}

const TICK_MS = 250;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function measure(o: MonitorOptions, warmupS: number, durationS: number): Promise<Measurement> {
  const failed = (): string | undefined => {
    if (o.brokerPid !== undefined && !processAlive(o.brokerPid)) return 'broker process exited';
    return o.broken?.();
  };
  const warmEnd = Date.now() + warmupS * 1000;
  let failure: string | undefined;
  while (Date.now() < warmEnd && failure === undefined) {
    await sleep(Math.min(TICK_MS, Math.max(1, warmEnd - Date.now())));
    o.onTick?.();
    failure = failed();
  }
  const start = o.counters();
  const published0 = start.published;
  const delivered0 = start.delivered;
  const cpu0 = o.brokerPid === undefined ? undefined : cpuSeconds(o.brokerPid);
  const gen0 = process.cpuUsage();
  const bwait0 = o.brokerPid === undefined ? undefined : runQueueWaitNs(o.brokerPid);
  const gwait0 = runQueueWaitNs('self');
  let bwait1 = bwait0;
  const t0 = performance.now();
  const samples: Array<[number, number]> = [[t0, delivered0]];
  const end = t0 + durationS * 1000;
  let cpu1 = cpu0;
  while (failure === undefined && performance.now() < end) {
    await sleep(Math.min(TICK_MS, Math.max(1, end - performance.now())));
    o.onTick?.();
    samples.push([performance.now(), o.counters().delivered]);
    if (o.brokerPid !== undefined) {
      cpu1 = cpuSeconds(o.brokerPid) ?? cpu1;
      bwait1 = runQueueWaitNs(o.brokerPid) ?? bwait1;
    }
    failure = failed();
  }
  const gwait1 = runQueueWaitNs('self');
  const t1 = performance.now();
  const stop = o.counters();
  const gen = process.cpuUsage(gen0);
  const measuredS = (t1 - t0) / 1000;
  // One rate per second of the measurement: from the first sample at or after each second's
  // start to the first at or after its end (ticks may run late when the loop is busy).
  const timeline: number[] = [];
  let a = 0;
  for (let second = 1; ; second++) {
    const b = samples.findIndex(([t]) => t >= t0 + second * 1000 - TICK_MS / 2);
    if (b < 0 || b <= a) break;
    const [ta, da] = samples[a];
    const [tb, db] = samples[b];
    timeline.push(Math.round(((db - da) * 1000) / (tb - ta)));
    a = b;
  }
  return {
    measuredS,
    published: stop.published - published0,
    delivered: stop.delivered - delivered0,
    brokerCpuS: cpu0 === undefined || cpu1 === undefined ? null : cpu1 - cpu0,
    generatorCpu: measuredS > 0 ? (gen.user + gen.system) / 1e6 / measuredS : 0,
    timeline,
    brokerWaitMsPerS: bwait0 === undefined || bwait1 === undefined || measuredS <= 0 ? null : (bwait1 - bwait0) / 1e6 / measuredS,
    generatorWaitMsPerS: gwait0 === undefined || gwait1 === undefined || measuredS <= 0 ? null : (gwait1 - gwait0) / 1e6 / measuredS,
    loadAverage: loadavg()[0],
    crashed: failure === 'broker process exited' || (failure !== undefined && o.brokerPid !== undefined && !processAlive(o.brokerPid)),
    failure,
  };
}

/**
 * Waits until the delivered count has not moved for `quietMs`, at most `maxMs` (default: half
 * the measured duration, between 0.3 and 2 s).
 */
export async function drain(counters: () => Counters, durationS: number, quietMs = 300): Promise<void> {
  const maxMs = Math.min(2_000, Math.max(300, durationS * 500));
  const deadline = Date.now() + maxMs;
  let last = counters().delivered;
  let lastChange = Date.now();
  while (Date.now() < deadline && Date.now() - lastChange < quietMs) {
    await sleep(50);
    const now = counters().delivered;
    if (now !== last) {
      last = now;
      lastChange = Date.now();
    }
  }
}
