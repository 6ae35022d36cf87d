// Options of the scenario tests' short runs against a started broker.
import type { RunningBroker } from '../src/brokers.js';
import { DEFAULT_OPTIONS, type ScenarioOptions } from '../src/scenarios/types.js';

let seq = 0;

/**
 * 0.8 s measured after 0.2 s of warm-up, with a fresh client prefix and topic root per run: a
 * previous flood's publishers may still have PUBLISHes in the broker's socket buffers when the
 * next run subscribes, and those must not count.
 */
export function shortRunOptions(broker: RunningBroker, prefix: string, extra: Partial<ScenarioOptions>): ScenarioOptions {
  const n = seq++;
  return {
    ...DEFAULT_OPTIONS,
    port: broker.port,
    brokerPid: broker.pid,
    durationS: 0.8,
    warmupS: 0.2,
    clientPrefix: `${prefix}${n}`,
    topicRoot: `${prefix}bench${n}`,
    ...extra,
  };
}
