// The MQTT-SN scenarios for about a second, at small scale, against our broker (the only one with
// an MQTT-SN gateway) started as the bench starts it: numbers must be sane (something delivered,
// nothing invented, CPU and memory read from /proc), and a broker without MQTT-SN is a setup error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { brokerAvailable, type RunningBroker, startBroker } from '../src/brokers.js';
import { runScenario } from '../src/scenarios/run.js';
import type { ScenarioOptions } from '../src/scenarios/types.js';
import { shortRunOptions } from './short-run.js';

let broker: RunningBroker;
let snRun = 0;

function options(extra: Partial<ScenarioOptions> = {}): ScenarioOptions {
  return shortRunOptions(broker, {
    clientPrefix: `sn${snRun++}`,
    mqttsnPort: broker.mqttsnPort,
    snClients: 50,
    inflight: 200,
    connections: 300,
    connectConcurrency: 50,
    ...extra,
  });
}

describe('MQTT-SN scenarios against ours', { timeout: 90_000, skip: !brokerAvailable('ours') && 'services/broker not built' }, () => {
  before(async () => {
    broker = await startBroker('ours', { maxInflight: 100, maxQueued: 100_000 });
    assert.ok(broker.mqttsnPort !== undefined, 'ours is started with MQTTSN_PORT');
  });
  after(async () => {
    await broker?.stop();
  });

  for (const [scenario, mode] of [['mqttsn', 'flood'], ['mqttsn', 'closed'], ['mqttsn-qos1', 'closed']] as const) {
    it(`${scenario} ${mode}: 50 clients publish into an MQTT subscriber`, async () => {
      const r = await runScenario(scenario, mode, options());
      assert.deepEqual(r.errors, [], 'no errors');
      assert.equal(r.crashed, false);
      assert.ok(r.delivered > 0, `delivered ${r.delivered} > 0`);
      assert.ok(r.totalDelivered <= r.totalPublished, `nothing invented: ${r.totalDelivered} <= ${r.totalPublished}`);
      if (mode === 'closed') assert.ok(r.totalPublished - r.totalDelivered <= 200, 'closed loop stays within its cap');
      assert.ok(r.measuredS > 0.7 && r.measuredS < 2, `measured ${r.measuredS} s`);
      assert.ok(r.cpuUsPerMsg !== null && r.cpuUsPerMsg > 0 && r.cpuUsPerMsg < 10_000, `CPU per message ${r.cpuUsPerMsg}`);
    });
  }

  it('mqttsn-idle: every session is accepted and memory is measured', async () => {
    const r = await runScenario('mqttsn-idle', 'flood', options());
    assert.deepEqual(r.errors, []);
    const i = r.idle;
    assert.ok(i !== null);
    assert.equal(i.connected, 300);
    assert.equal(i.failed, 0);
    assert.ok(i.connectRate > 50, `connect rate ${i.connectRate}`);
    assert.ok(i.bytesPerConnection !== null && i.bytesPerConnection < 1_000_000, `bytes/session ${i.bytesPerConnection}`);
  });

  it('a broker without an MQTT-SN port is a setup error, not a hang', async () => {
    const r = await runScenario('mqttsn', 'closed', { ...options(), mqttsnPort: undefined });
    assert.equal(r.delivered, 0);
    assert.match(r.errors[0] ?? '', /^setup: no MQTT-SN port/);
  });
});
