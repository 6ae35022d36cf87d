// The WebSocket path of the benchmark: fan-in, fan-out and idle for about a second over MQTT over
// WebSocket against ours with each engine (uws skipped with the loader's reason where no build
// loads), Mosquitto's websockets listener and Aedes over the ws server. The numbers must be sane:
// something delivered, nothing invented, every idle connection accepted and its memory measured.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BrokerName, brokerUnavailable, type RunningBroker, startBroker } from '../src/brokers.js';
import { runScenario } from '../src/scenarios/run.js';
import type { ScenarioOptions } from '../src/scenarios/types.js';
import { shortRunOptions } from './short-run.js';

const BROKERS: BrokerName[] = ['ours-uws', 'ours-ws', 'mosquitto', 'aedes'];

for (const name of BROKERS) {
  const skip = brokerUnavailable(name) ?? false;
  describe(`${name} over WebSocket`, { skip, timeout: 60_000 }, () => {
    let broker: RunningBroker;
    before(async () => {
      broker = await startBroker(name, { maxInflight: 100, maxQueued: 10_000, transport: 'ws' });
    });
    after(async () => {
      await broker?.stop();
    });
    const options = (extra: Partial<ScenarioOptions> = {}): ScenarioOptions => shortRunOptions(broker, { transport: 'ws', connections: 200, ...extra });

    it('has a WebSocket port beside the TCP one', () => {
      assert.ok(broker.wsPort !== undefined && broker.wsPort !== broker.port);
    });

    // Aedes dies of a stack overflow in a fan-in flood, over TCP as over WebSocket: closed loop for it.
    const fanInMode = name === 'aedes' ? 'closed' : 'flood';
    for (const [scenario, mode, fanout] of [['fan-in', fanInMode, 1], ['fan-out', 'closed', 3]] as const) {
      it(`${scenario} ${mode}`, async () => {
        const r = await runScenario(scenario, mode, options());
        assert.deepEqual(r.errors, [], 'no errors');
        assert.equal(r.crashed, false);
        assert.ok(r.delivered > 0, `delivered ${r.delivered}`);
        assert.ok(r.totalDelivered <= r.totalPublished * fanout, `nothing invented: ${r.totalDelivered} <= ${r.totalPublished} x ${fanout}`);
        assert.ok(r.cpuUsPerMsg !== null && r.cpuUsPerMsg > 0 && r.cpuUsPerMsg < 10_000, `CPU per message ${r.cpuUsPerMsg}`);
        if (mode === 'closed') assert.ok(r.totalPublished - r.totalDelivered / fanout <= 200, 'closed loop within its cap');
      });
    }

    it('idle: every connection accepted, memory per connection measured', async () => {
      const r = await runScenario('idle', 'flood', options());
      assert.equal(r.crashed, false);
      assert.equal(r.idle?.connected, 200, JSON.stringify(r.errors));
      assert.equal(r.idle?.failed, 0);
      assert.ok((r.idle?.connectRate ?? 0) > 10, `connect rate ${r.idle?.connectRate}`);
      const perConn = r.idle?.bytesPerConnection ?? null;
      assert.ok(perConn !== null && perConn < 1_000_000, `bytes/conn ${perConn}`);
    });
  });
}
