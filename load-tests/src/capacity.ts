// `npm run capacity`: measures what docs/capacity.md is built on (capacity-measure.ts) and prints
// the measured figures and the sizing derived from them (capacity-model.ts) as Markdown.
// --from <json> re-derives the sizing from an earlier run's measurements without measuring.

import { execFile } from 'node:child_process';
import { cpus } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs, promisify } from 'node:util';
import { type CapacityMeasurements, clusterFilters, measureCluster, measureStandalone, standaloneFilters } from './capacity-measure.js';
import { DEFAULT_WORKLOAD, renderCapacity } from './capacity-model.js';

const HELP = `usage: node load-tests/dist/src/capacity.js [options]

  --connections <n>   idle connections per measurement (default 10000)
  --filters <n>       subscribed filters per measurement, a multiple of 500 (default 300000; fixed
                      heap growth is spread over more filters, see capacity-measure.ts)
  --rates <a,b>       standalone publish rates for CPU per QoS (default 5000,20000)
  --cluster-rate <n>  cross-node publish rate (default 5000)
  --duration <s>      seconds per rate run (default 5)
  --out <file>        write the measurements as JSON
  --from <file>       skip measuring: derive the sizing from this JSON
  --filters-only      measure only RSS per 100k filters (standalone, subscribing node, peer, Redis), print JSON
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string' },
      filters: { type: 'string' },
      rates: { type: 'string' },
      'cluster-rate': { type: 'string' },
      duration: { type: 'string' },
      out: { type: 'string' },
      from: { type: 'string' },
      'filters-only': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    return;
  }
  if (values['filters-only'] === true) {
    const filters = Math.round(Number(values.filters ?? 300_000) / 500) * 500;
    const log = (s: string): void => {
      process.stderr.write(`${s}\n`);
    };
    const standalone = await standaloneFilters(filters);
    log(`standalone: ${filters} filters, ${Math.round(standalone / 1048576)} MiB RSS per 100k`);
    const cluster = await clusterFilters(filters, log);
    process.stdout.write(`${JSON.stringify({ filters, standaloneRssPer100kFilters: standalone, ...cluster }, null, 2)}\n`);
    return;
  }
  let m: CapacityMeasurements;
  if (values.from !== undefined) {
    m = JSON.parse(readFileSync(values.from, 'utf8')) as CapacityMeasurements;
  } else {
    const connections = Number(values.connections ?? 10_000);
    const filters = Math.round(Number(values.filters ?? 300_000) / 500) * 500;
    const rates = (values.rates ?? '5000,20000').split(',').map(Number);
    const durationS = Number(values.duration ?? 5);
    const log = (s: string): void => {
      process.stderr.write(`${s}\n`);
    };
    const errors: string[] = [];
    const standalone = await measureStandalone({ connections, filters, rates, durationS }, log);
    const measured = await measureCluster({ connections, filters, rate: Number(values['cluster-rate'] ?? 5_000), durationS }, log);
    const resync = await measureResync(filters, log, errors);
    const cluster: CapacityMeasurements['cluster'] = resync === undefined ? measured : { ...measured, resyncPeakBytesPerRoute: resync };
    m = {
      machine: { cpus: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, date: new Date().toISOString() },
      standalone,
      cluster,
      errors,
    };
  }
  if (values.out !== undefined) writeFileSync(values.out, `${JSON.stringify(m, null, 2)}\n`);
  process.stdout.write(renderCapacity(m, DEFAULT_WORKLOAD));
}

/** capacity-resync.ts in a child (it needs --expose-gc): peak RSS of a route resync per route. */
async function measureResync(routes: number, log: (s: string) => void, errors: string[]): Promise<number | undefined> {
  const script = new URL('./capacity-resync.js', import.meta.url).pathname;
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', script, '--routes', String(routes), '--json'], { timeout: 300_000 });
    const r = JSON.parse(stdout) as { resyncPeakRssBytesPerRoute: number; steadyHeapBytesPerRoute: number };
    log(`cluster: a resync of ${routes} routes: peak RSS +${Math.round(r.resyncPeakRssBytesPerRoute)} B per route, steady heap ${Math.round(r.steadyHeapBytesPerRoute)} B per route`);
    return r.resyncPeakRssBytesPerRoute;
  } catch (e) {
    errors.push(`resync measurement: ${String(e)}`);
    return undefined;
  }
}

await main();
