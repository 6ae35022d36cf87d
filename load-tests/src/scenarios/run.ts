import { runIdle } from './idle.js';
import { runLatency } from './latency.js';
import { runMqttSnIdle } from './mqttsn-idle.js';
import { runMqttSnThroughput } from './mqttsn-throughput.js';
import { runThroughput } from './throughput.js';
import type { Mode, ScenarioName, ScenarioOptions, ScenarioResult } from './types.js';

/** Runs one scenario (throughput ones in `mode`; slow-subscribers floods; latency and idle ignore it). */
export async function runScenario(name: ScenarioName, mode: Mode, o: ScenarioOptions): Promise<ScenarioResult> {
  switch (name) {
    case 'fan-in':
    case 'fan-out':
    case 'qos1':
      return runThroughput(name, mode, o);
    case 'slow-subscribers':
      return runThroughput(name, 'flood', o);
    case 'latency':
      return runLatency(o);
    case 'idle':
      return runIdle(o);
    case 'mqttsn':
    case 'mqttsn-qos1':
      return runMqttSnThroughput(name, mode, o);
    case 'mqttsn-idle':
      return runMqttSnIdle(o);
  }
}
