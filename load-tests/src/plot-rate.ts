// The rate mode's chart: latency percentiles, throughput and open connections per second.

import { renderPlot } from './plot-svg.js';
import type { RateResult } from './rate-types.js';

export function plotRateResult(r: RateResult): string {
  const t = r.timeline;
  const o = r.options;
  return renderPlot({
    title: `${o.connections} connections (ramp ${o.rampS} s), ${o.publishers} publishers at ${o.rate} msg/s QoS ${o.qos}, ${o.subscribers} subscribers`,
    x: t.map((s) => s.t + 0.5),
    panels: [
      {
        title: 'End-to-end latency',
        unit: 'ms',
        series: [
          { key: 'p50', label: 'p50', color: '#1f77b4', values: t.map((s) => s.p50) },
          { key: 'p90', label: 'p90', color: '#ff7f0e', values: t.map((s) => s.p90) },
          { key: 'p99', label: 'p99', color: '#d62728', values: t.map((s) => s.p99) },
        ],
      },
      {
        title: 'Throughput',
        unit: 'msg/s',
        series: [
          { key: 'published', label: 'published/s', color: '#2ca02c', values: t.map((s) => s.published) },
          { key: 'delivered', label: 'delivered/s', color: '#9467bd', values: t.map((s) => s.delivered) },
        ],
      },
      {
        title: 'Open connections',
        unit: 'connections',
        series: [{ key: 'connections', label: 'connections', color: '#8c564b', values: t.map((s) => s.connections) }],
      },
    ],
  });
}
