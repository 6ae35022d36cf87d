// Aggregating repeated runs (medians) and rendering the comparison table. Ratios always read
// "how many times better the reference broker (ours; over WebSocket ours-uws) is": higher
// throughput and connect rate divide ours by theirs; lower CPU, latency and memory divide theirs
// by ours. So > 1.00x means ours wins.

import type { Transport } from './bench-link.js';
import type { BrokerName } from './brokers.js';
import { fmtBytes, fmtNum, fmtRate } from './format.js';
import { IDLE_SCENARIOS, type Mode, type ScenarioName, type ScenarioResult } from './scenarios/types.js';
import { median } from './stats.js';

export interface CellSummary {
  broker: BrokerName;
  transport: Transport;
  scenario: ScenarioName;
  mode: Mode | null;
  runs: number;
  crashedRuns: number;
  collapsedRuns: number;
  deliveredPerSec: number | null;
  /** Delivered in the slowest measured second (median over the runs). */
  slowestSecond: number | null;
  cpuUsPerMsg: number | null;
  generatorCpu: number | null;
  brokerCpuShare: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  connectRate: number | null;
  bytesPerConnection: number | null;
  errors: string[];
}

export function summarize(broker: BrokerName, scenario: ScenarioName, mode: Mode | null, runs: ScenarioResult[], transport: Transport = 'tcp'): CellSummary {
  const isIdle = IDLE_SCENARIOS.includes(scenario);
  return {
    broker,
    transport,
    scenario,
    mode,
    runs: runs.length,
    crashedRuns: runs.filter((r) => r.crashed).length,
    collapsedRuns: runs.filter((r) => r.collapsed).length,
    deliveredPerSec: isIdle ? null : median(runs.map((r) => r.deliveredPerSec)),
    slowestSecond: isIdle ? null : median(runs.map((r) => (r.timeline.length === 0 ? null : Math.min(...r.timeline)))),
    cpuUsPerMsg: isIdle ? null : median(runs.map((r) => r.cpuUsPerMsg)),
    generatorCpu: median(runs.map((r) => r.generatorCpu)),
    brokerCpuShare: median(runs.map((r) => r.brokerCpuShare)),
    p50: median(runs.map((r) => r.latency?.p50)),
    p90: median(runs.map((r) => r.latency?.p90)),
    p99: median(runs.map((r) => r.latency?.p99)),
    connectRate: median(runs.map((r) => r.idle?.connectRate)),
    bytesPerConnection: median(runs.map((r) => r.idle?.bytesPerConnection)),
    errors: [...new Set(runs.flatMap((r) => r.errors))].slice(0, 5),
  };
}

interface Metric {
  label: string;
  value: (c: CellSummary) => number | null;
  format: (n: number | null) => string;
  higherIsBetter: boolean;
}

const THROUGHPUT: Metric[] = [
  { label: 'delivered msg/s', value: (c) => c.deliveredPerSec, format: fmtRate, higherIsBetter: true },
  { label: 'CPU µs/msg', value: (c) => c.cpuUsPerMsg, format: (n) => fmtNum(n, 2), higherIsBetter: false },
];
const SLOW_SUBSCRIBERS: Metric[] = [
  { label: 'healthy subscriber msg/s', value: (c) => c.deliveredPerSec, format: fmtRate, higherIsBetter: true },
  { label: 'its slowest second msg/s', value: (c) => c.slowestSecond, format: fmtRate, higherIsBetter: true },
  THROUGHPUT[1],
];
const LATENCY: Metric[] = [
  { label: 'p50 latency µs', value: (c) => c.p50, format: (n) => fmtNum(n, 0), higherIsBetter: false },
  { label: 'p99 latency µs', value: (c) => c.p99, format: (n) => fmtNum(n, 0), higherIsBetter: false },
  { label: 'CPU µs/msg', value: (c) => c.cpuUsPerMsg, format: (n) => fmtNum(n, 2), higherIsBetter: false },
];
const IDLE: Metric[] = [
  { label: 'connect rate conn/s', value: (c) => c.connectRate, format: fmtRate, higherIsBetter: true },
  { label: 'memory per conn', value: (c) => c.bytesPerConnection, format: fmtBytes, higherIsBetter: false },
];

export function ratio(ours: number | null, theirs: number | null, higherIsBetter: boolean): string {
  if (ours === null || theirs === null || ours <= 0 || theirs <= 0) return '-';
  return `${(higherIsBetter ? ours / theirs : theirs / ours).toFixed(2)}x`;
}

function flags(c: CellSummary): string {
  const f: string[] = [];
  if (c.crashedRuns > 0) f.push(`crashed ${c.crashedRuns}/${c.runs}`);
  if (c.collapsedRuns > 0) f.push(`collapsed ${c.collapsedRuns}/${c.runs}`);
  return f.length === 0 ? '' : ` (${f.join(', ')})`;
}

/**
 * A Markdown table of one transport's cells: one row per scenario, mode and metric; one column
 * per broker; ratios of `reference` against each other broker.
 */
export function renderTable(cells: CellSummary[], brokers: BrokerName[], reference: BrokerName = 'ours'): string {
  const others = brokers.includes(reference) ? brokers.filter((b) => b !== reference) : [];
  const header = ['scenario', 'mode', 'metric', ...brokers, ...others.map((b) => `${reference} vs ${b}`)];
  const rows: string[][] = [];
  const keys: Array<[ScenarioName, Mode | null]> = [];
  for (const c of cells) if (!keys.some(([s, m]) => s === c.scenario && m === c.mode)) keys.push([c.scenario, c.mode]);
  for (const [scenario, mode] of keys) {
    const metrics = IDLE_SCENARIOS.includes(scenario) ? IDLE : scenario === 'latency' ? LATENCY : scenario === 'slow-subscribers' ? SLOW_SUBSCRIBERS : THROUGHPUT;
    const find = (b: BrokerName) => cells.find((c) => c.broker === b && c.scenario === scenario && c.mode === mode);
    metrics.forEach((m, i) => {
      const row = [scenario, mode ?? '-', m.label];
      for (const b of brokers) {
        const c = find(b);
        row.push(c === undefined ? 'n/a' : `${m.format(m.value(c))}${i === 0 ? flags(c) : ''}`);
      }
      const ours = find(reference);
      for (const b of others) {
        const c = find(b);
        row.push(ours === undefined || c === undefined ? '-' : ratio(m.value(ours), m.value(c), m.higherIsBetter));
      }
      rows.push(row);
    });
  }
  const lines = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`);
  return lines.join('\n');
}
