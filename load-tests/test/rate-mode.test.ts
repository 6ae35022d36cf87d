// The rate/ramp mode end to end: `loadgen --scenario rate` against our broker (a real process on
// free ports), two worker processes, a ramp and a QoS 1 target rate; the JSON result must hold
// what a user reads from it (connections, achieved rate within 10% of the target, no acknowledged
// message lost, ordered percentiles, a timeline) and the SVG must parse as XML (Python's expat,
// a real parser) with the six expected series. Plus the pieces: histogram accuracy, arguments.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { brokerAvailable, type RunningBroker, startBroker } from '../src/brokers.js';
import { renderPlot } from '../src/plot-svg.js';
import { isRateMode, parseRateArgs } from '../src/rate-args.js';
import { LatencyHistogram } from '../src/rate-histogram.js';
import type { RateResult } from '../src/rate-types.js';

const run = promisify(execFile);
const LOADGEN = fileURLToPath(new URL('../src/loadgen.js', import.meta.url));

function hasPython(): boolean {
  try {
    execFileSync('python3', ['-c', 'import xml.parsers.expat']);
    return true;
  } catch {
    return false;
  }
}

/** Series names (data-series of <g class="series">) of an SVG file, parsed by expat; throws if not well-formed. */
function svgSeries(path: string): string[] {
  const script = [
    'import sys, json, xml.etree.ElementTree as ET',
    'root = ET.parse(sys.argv[1]).getroot()',
    "assert root.tag == '{http://www.w3.org/2000/svg}svg', root.tag",
    "print(json.dumps([g.get('data-series') for g in root.iter('{http://www.w3.org/2000/svg}g') if g.get('class') == 'series']))",
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' })) as string[];
}

describe('loadgen --scenario rate against our broker', { skip: brokerAvailable('ours') ? false : 'broker not built', timeout: 60_000 }, () => {
  let broker: RunningBroker;
  const dir = mkdtempSync(join(tmpdir(), 'rate-test-'));

  before(async () => {
    broker = await startBroker('ours');
  });
  after(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ramps 400 connections over 1 s from 2 processes, holds 2,000 QoS 1 msg/s, writes JSON and SVG', async () => {
    const out = join(dir, 'result.json');
    const svg = join(dir, 'plot.svg');
    const args = [
      LOADGEN, '--scenario', 'rate', '--port', String(broker.port), '--pid', String(broker.pid),
      '--connections', '400', '--ramp', '1', '--duration', '3', '--rate', '2000', '--qos', '1',
      '--publishers', '20', '--subscribers', '2', '--procs', '2', '--out', out, '--svg', svg,
    ];
    const { stdout } = await run(process.execPath, args, { timeout: 40_000 });
    assert.match(stdout, /achieved/);
    const r = JSON.parse(readFileSync(out, 'utf8')) as RateResult;
    assert.deepEqual(r.errors, []);
    assert.equal(r.processes, 2);
    assert.equal(r.connections.connected, 400);
    assert.equal(r.connections.failed, 0);
    assert.equal(r.connections.dropped, 0);
    assert.ok(r.connections.rampS >= 0.9 && r.connections.rampS < 2, `ramp took ${r.connections.rampS} s (asked 1 s)`);
    assert.equal(r.publish.steadyS, 3);
    const rate = r.publish.achievedRate;
    console.log(`# achieved ${rate} msg/s (target 2000), latency ${JSON.stringify(r.latencyMs)}, ramp ${r.connections.rampS} s`);
    assert.ok(rate > 1800 && rate < 2200, `achieved ${rate} msg/s, target 2000 (10%)`);
    assert.equal(r.publish.acked, r.publish.published, 'every QoS 1 PUBLISH acknowledged');
    assert.equal(r.expectedDeliveries, r.publish.published * 2);
    assert.equal(r.delivered, r.expectedDeliveries, 'every acknowledged message reached both subscribers');
    assert.equal(r.lossRatio, 0);
    const l = r.latencyMs;
    assert.equal(l.samples, r.delivered);
    assert.ok(l.p50 > 0 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max * 1.02, `percentiles ${JSON.stringify(l)}`);
    assert.ok(r.brokerCpuS !== null && r.brokerCpuS > 0, 'broker CPU read');
    assert.ok(r.timeline.length >= 4, `timeline of ${r.timeline.length} s`);
    const steady = r.timeline.filter((s) => s.t >= 1 && s.t < 4);
    for (const s of steady) {
      assert.equal(s.connections, 400, `all connected at t=${s.t}`);
      assert.ok(Math.abs(s.published - 2000) <= 200, `t=${s.t}: ${s.published} published in one second (evenly, no bursts)`);
    }
    if (hasPython()) assert.deepEqual(svgSeries(svg), ['p50', 'p90', 'p99', 'published', 'delivered', 'connections']);
  });
});

describe('rate mode pieces', () => {
  it('histogram percentiles are within 2% of exact ones', () => {
    const h = new LatencyHistogram();
    const values = Array.from({ length: 10_000 }, (_, i) => 10 + i * 3.7);
    for (const v of values) h.record(v);
    for (const p of [50, 90, 99]) {
      const exact = values[Math.ceil((p / 100) * values.length) - 1];
      const got = h.percentile(p);
      assert.ok(Math.abs(got - exact) / exact < 0.02, `p${p}: ${got} vs ${exact}`);
    }
    const merged = new LatencyHistogram();
    merged.add(h.pairs());
    assert.equal(merged.total, 10_000);
    assert.equal(merged.percentile(99), h.percentile(99));
  });

  it('arguments: --ramp selects the mode; bad values are refused', () => {
    assert.equal(isRateMode(['--port', '1', '--ramp', '5']), true);
    assert.equal(isRateMode(['--scenario', 'rate']), true);
    assert.equal(isRateMode(['--scenario', 'latency', '--rate', '100']), false);
    const p = parseRateArgs(['--scenario', 'rate', '--port', '1883', '--connections', '30000', '--ramp', '10', '--rate', '500']);
    assert.ok(p !== null);
    assert.equal(p.options.connections, 30_000);
    assert.equal(p.options.rampS, 10);
    assert.throws(() => parseRateArgs(['--port', '1', '--qos', '3']), RangeError);
    assert.throws(() => parseRateArgs(['--port', '1', '--connections', '5', '--publishers', '10']), RangeError);
    assert.throws(() => parseRateArgs(['--ramp', '1']), RangeError);
  });

  it('the plot escapes text and breaks lines at missing points', () => {
    const svg = renderPlot({
      title: 'a < b & "c"',
      x: [0, 1, 2, 3],
      panels: [{ title: 'T', unit: 'ms', series: [{ key: 'k', label: 'K', color: '#000', values: [1, null, 2, 3] }] }],
    });
    assert.match(svg, /a &lt; b &amp; &quot;c&quot;/);
    assert.equal((svg.match(/<polyline /g) ?? []).length, 1, 'one line for the two joined points');
    assert.equal((svg.match(/<circle /g) ?? []).length, 1, 'a dot for the lone point');
  });
});
