// The options of the scenario tests' short runs (about a second, a few clients) against a broker
// started by the test.
import type { RunningBroker } from '../src/brokers.js';
import { DEFAULT_OPTIONS, type ScenarioOptions } from '../src/scenarios/types.js';

let seq = 0;

/** A short run against `broker` (its WebSocket port with transport ws), fresh ids and topic root each call. */
export function shortRunOptions(broker: RunningBroker, extra: Partial<ScenarioOptions> = {}): ScenarioOptions {
  const n = seq++;
  const ws = extra.transport === 'ws';
  return {
    ...DEFAULT_OPTIONS,
    port: ws ? (broker.wsPort ?? 0) : broker.port,
    brokerPid: broker.pid,
    durationS: 0.8,
    warmupS: 0.2,
    publishers: 3,
    subscribers: 3,
    inflight: 200,
    window: 100,
    rate: 2_000,
    connections: 300,
    connectConcurrency: 50,
    clientPrefix: `t${n}`,
    // a topic root per run: a previous flood's publishers may still have PUBLISHes in the
    // broker's socket buffers when the next run subscribes, and those must not count
    topicRoot: `bench${n}`,
    ...extra,
  };
}
