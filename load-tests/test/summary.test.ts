import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyResult } from '../src/scenarios/types.js';
import { detectCollapse, median, percentile } from '../src/stats.js';
import { ratio, renderTable, summarize } from '../src/summary.js';

describe('stats', () => {
  it('percentile is nearest-rank and median ignores missing values', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(sorted, 50), 50);
    assert.equal(percentile(sorted, 99), 99);
    assert.equal(percentile(sorted, 100), 100);
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.equal(median([3, null, 1, undefined, 2]), 2);
    assert.equal(median([4, 1]), 2.5);
    assert.equal(median([null]), null);
  });

  it('collapse is a fall from the peak, not a low flat rate', () => {
    assert.equal(detectCollapse([65_000, 13_000, 10_000]), true);
    assert.equal(detectCollapse([6_000, 6_100, 5_900]), false);
    assert.equal(detectCollapse([100, 0]), false, 'too short to tell');
  });
});

describe('summary table', () => {
  const run = (broker: 'ours' | 'mosquitto', perSec: number, cpu: number, crashed = false) => {
    const r = emptyResult('fan-in', 'flood');
    r.deliveredPerSec = perSec;
    r.cpuUsPerMsg = cpu;
    r.crashed = crashed;
    return summarize(broker, 'fan-in', 'flood', [r, { ...r, deliveredPerSec: perSec * 2 }, { ...r, deliveredPerSec: perSec / 2 }]);
  };

  it('ratios read "times better ours is" in both directions', () => {
    assert.equal(ratio(200, 100, true), '2.00x');
    assert.equal(ratio(2, 4, false), '2.00x', 'half the CPU is twice as good');
    assert.equal(ratio(null, 4, false), '-');
  });

  it('renders medians, flags and ratios', () => {
    const table = renderTable([run('ours', 300_000, 2), run('mosquitto', 100_000, 6, true)], ['ours', 'mosquitto']);
    const lines = table.split('\n');
    assert.equal(lines[0], '| scenario | mode | metric | ours | mosquitto | ours vs mosquitto |');
    assert.equal(lines[2], '| fan-in | flood | delivered msg/s | 300k | 100k (crashed 3/3) | 3.00x |');
    assert.equal(lines[3], '| fan-in | flood | CPU µs/msg | 2.00 | 6.00 | 3.00x |');
  });

  it('takes its ratios against the reference broker given (ours-uws over WebSocket)', () => {
    const uws = { ...run('ours', 300_000, 2), broker: 'ours-uws' as const, transport: 'ws' as const };
    const ws = { ...run('ours', 100_000, 4), broker: 'ours-ws' as const, transport: 'ws' as const };
    const lines = renderTable([uws, ws], ['ours-uws', 'ours-ws'], 'ours-uws').split('\n');
    assert.equal(lines[0], '| scenario | mode | metric | ours-uws | ours-ws | ours-uws vs ours-ws |');
    assert.equal(lines[3], '| fan-in | flood | CPU µs/msg | 2.00 | 4.00 | 2.00x |');
  });
});
