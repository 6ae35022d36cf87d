// Every scenario for about a second, at small scale, against a real Mosquitto on a free port:
// the numbers must be sane (something delivered, nothing invented, percentiles ordered, CPU and
// memory read from /proc) and a broker that dies must be reported as crashed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningBroker, startBroker } from '../src/brokers.js';
import { runScenario } from '../src/scenarios/run.js';
import { DEFAULT_OPTIONS, type Mode, type ScenarioName, type ScenarioOptions, type ScenarioResult } from '../src/scenarios/types.js';
import { shortRunOptions } from './short-run.js';

let broker: RunningBroker;
const options = (extra: Partial<ScenarioOptions> = {}): ScenarioOptions => shortRunOptions(broker, extra);

function checkThroughput(r: ScenarioResult, fanout: number): void {
  assert.deepEqual(r.errors, [], 'no errors');
  assert.equal(r.crashed, false);
  assert.equal(r.fanout, fanout);
  assert.ok(r.delivered > 0, `delivered ${r.delivered} > 0`);
  assert.ok(r.deliveredPerSec > 0);
  assert.ok(r.totalPublished > 0);
  assert.ok(
    r.totalDelivered <= r.totalPublished * fanout,
    `nothing invented: delivered ${r.totalDelivered} <= published ${r.totalPublished} x ${fanout}`,
  );
  assert.ok(r.measuredS > 0.7 && r.measuredS < 2, `measured ${r.measuredS} s`);
  assert.ok(r.brokerCpuS !== null && r.brokerCpuS >= 0, 'broker CPU read from /proc');
  assert.ok(r.cpuUsPerMsg !== null && r.cpuUsPerMsg >= 0 && r.cpuUsPerMsg < 10_000, `CPU per message ${r.cpuUsPerMsg}`);
  assert.ok(r.generatorCpu > 0 && r.generatorCpu < 1.5, `generator CPU ${r.generatorCpu}`);
}

describe('aedes server', { timeout: 30_000 }, () => {
  it('starts, carries a closed-loop fan-in and stops', async () => {
    const aedes = await startBroker('aedes', { maxInflight: 100, maxQueued: 1_000 });
    try {
      const r = await runScenario('fan-in', 'closed', {
        ...DEFAULT_OPTIONS,
        port: aedes.port,
        brokerPid: aedes.pid,
        durationS: 0.5,
        warmupS: 0.1,
        publishers: 2,
      });
      assert.deepEqual(r.errors, []);
      assert.ok(r.delivered > 0 && r.totalDelivered <= r.totalPublished);
    } finally {
      await aedes.stop();
    }
    assert.equal(aedes.exited, true, 'stopped');
  });
});

describe('echo server', { timeout: 30_000 }, () => {
  it('forwards PUBLISH bytes unchanged: latency run with run-queue waits read from /proc', async () => {
    const echo = await startBroker('echo', { maxInflight: 100, maxQueued: 1_000 });
    try {
      const r = await runScenario('latency', 'flood', { ...DEFAULT_OPTIONS, port: echo.port, brokerPid: echo.pid, durationS: 0.6, warmupS: 0.1, rate: 2_000 });
      assert.deepEqual(r.errors, []);
      assert.ok(r.latency !== null && r.latency.samples > 600, `samples ${r.latency?.samples}`);
      assert.ok(r.latency.p50 > 0 && r.latency.p50 <= r.latency.p99);
      assert.ok(typeof r.brokerWaitMsPerS === 'number' && r.brokerWaitMsPerS >= 0, 'broker run-queue wait read');
      assert.ok(typeof r.generatorWaitMsPerS === 'number' && r.generatorWaitMsPerS >= 0, 'generator run-queue wait read');
      assert.ok(typeof r.loadAverage === 'number');
    } finally {
      await echo.stop();
    }
  });
});

describe('scenarios against mosquitto', { timeout: 60_000 }, () => {
  before(async () => {
    broker = await startBroker('mosquitto', { maxInflight: 100, maxQueued: 100_000 });
  });
  after(async () => {
    await broker?.stop();
  });

  const cases: Array<[ScenarioName, Mode, number, Partial<ScenarioOptions>]> = [
    ['fan-in', 'flood', 1, {}],
    ['fan-in', 'closed', 1, {}],
    ['fan-out', 'flood', 3, {}],
    ['fan-out', 'closed', 3, {}],
    ['qos1', 'flood', 1, {}],
    ['qos1', 'closed', 1, { version: 5, receiveMaximum: 32 }],
    ['slow-subscribers', 'flood', 1, {}],
  ];
  for (const [scenario, mode, fanout, extra] of cases) {
    it(`${scenario} ${mode}${extra.version === 5 ? ' (MQTT 5)' : ''}`, async () => {
      const r = await runScenario(scenario, mode, options(extra));
      checkThroughput(r, fanout);
      if (mode === 'closed') {
        // the cap holds end to end: nothing can be outstanding beyond it once drained
        assert.ok(r.totalPublished - r.totalDelivered / fanout <= 200, 'closed loop stays within its cap');
        assert.equal(r.stalls, 0);
      }
    });
  }

  it('latency: fixed rate, ordered percentiles', async () => {
    const r = await runScenario('latency', 'flood', options());
    checkThroughput(r, 1);
    assert.ok(Math.abs(r.publishedPerSec - 2_000) < 400, `published at ~2000/s: ${r.publishedPerSec}`);
    const l = r.latency;
    assert.ok(l !== null && l.samples > 1_000, `samples ${l?.samples}`);
    assert.ok(l.p50 > 0 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max, JSON.stringify(l));
    assert.ok(l.p50 < 1_000_000, 'p50 below a second');
  });

  it('idle from 3 forked generator processes: every connection is accepted', async () => {
    const r = await runScenario('idle', 'flood', options({ generatorProcesses: 3, connections: 300 }));
    assert.equal(r.crashed, false);
    assert.equal(r.idle?.connected, 300);
    assert.equal(r.idle?.failed, 0);
  });

  it('idle: every connection is accepted and memory is measured', async () => {
    const r = await runScenario('idle', 'flood', options());
    assert.equal(r.crashed, false);
    const i = r.idle;
    assert.ok(i !== null);
    assert.equal(i.connected, 300);
    assert.equal(i.failed, 0);
    assert.ok(i.connectRate > 100, `connect rate ${i.connectRate}`);
    assert.ok(i.rssBeforeBytes !== null && i.rssAfterBytes !== null && i.rssAfterBytes > 0);
    assert.ok(i.bytesPerConnection !== null && i.bytesPerConnection < 1_000_000, `bytes/conn ${i.bytesPerConnection}`);
  });

  it('reports a broker killed mid-run as crashed', async () => {
    const victim = await startBroker('mosquitto', { maxInflight: 100, maxQueued: 1_000 });
    try {
      const run = runScenario('fan-in', 'flood', { ...options(), port: victim.port, brokerPid: victim.pid, durationS: 3 });
      setTimeout(() => process.kill(victim.pid, 'SIGKILL'), 600);
      const r = await run;
      assert.equal(r.crashed, true);
      assert.ok(r.measuredS < 2.5, `run ended early (${r.measuredS} s)`);
      assert.ok(r.errors.length > 0);
    } finally {
      await victim.stop();
    }
  });
});
