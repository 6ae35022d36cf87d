// Human-readable rendering of results: one scenario (loadgen) and the comparison table (bench).

import type { ScenarioResult } from './scenarios/types.js';

export function fmtRate(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return '-';
  if (n >= 10_000) return `${(n / 1000).toFixed(0)}k`;
  if (n >= 1_000) return `${(n / 1000).toFixed(1)}k`;
  return n.toFixed(0);
}

export function fmtNum(n: number | null, digits = 1): string {
  return n === null || !Number.isFinite(n) ? '-' : n.toFixed(digits);
}

export function fmtBytes(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return '-';
  return n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n.toFixed(0)} B`;
}

export function describeResult(r: ScenarioResult): string {
  const lines = [`scenario ${r.scenario}${r.mode === null ? '' : ` (${r.mode})`}`];
  if (r.idle !== null) {
    const i = r.idle;
    lines.push(
      `  connected ${i.connected}/${i.requested} (failed ${i.failed}) in ${r.measuredS.toFixed(2)} s: ${fmtRate(i.connectRate)} conn/s`,
      `  broker memory per connection: ${fmtBytes(i.bytesPerConnection)} (RSS ${fmtBytes(i.rssBeforeBytes)} -> ${fmtBytes(i.rssAfterBytes)})`,
    );
  } else {
    lines.push(
      `  measured ${r.measuredS.toFixed(2)} s: published ${r.published} (${fmtRate(r.publishedPerSec)}/s), delivered ${r.delivered} (${fmtRate(r.deliveredPerSec)}/s) to ${r.fanout} subscriber(s)`,
      `  broker CPU ${fmtNum(r.brokerCpuS, 2)} s (${r.brokerCpuShare === null ? '-' : (r.brokerCpuShare * 100).toFixed(0)}% of a core) = ${fmtNum(r.cpuUsPerMsg, 2)} µs per delivered message; generator CPU ${(r.generatorCpu * 100).toFixed(0)}% of a core`,
      `  delivered/s per second: ${r.timeline.map((x) => fmtRate(x)).join(' ')}${r.collapsed ? '  COLLAPSED' : ''}`,
      `  totals incl. warm-up and drain: published ${r.totalPublished}, delivered ${r.totalDelivered}${r.stalls > 0 ? `, closed-loop stalls ${r.stalls}` : ''}`,
    );
  }
  if (r.latency !== null) {
    const l = r.latency;
    lines.push(
      `  latency µs: p50 ${fmtNum(l.p50)} p90 ${fmtNum(l.p90)} p99 ${fmtNum(l.p99)} max ${fmtNum(l.max)} (${l.samples} samples)`,
    );
  }
  if (r.crashed) lines.push('  BROKER CRASHED');
  for (const e of r.errors) lines.push(`  error: ${e}`);
  return lines.join('\n');
}
