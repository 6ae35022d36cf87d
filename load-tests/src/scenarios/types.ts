import type { Transport } from '../bench-link.js';
import type { ProtocolVersion } from '../packets.js';

export type ScenarioName =
  | 'fan-in'
  | 'fan-out'
  | 'qos1'
  | 'slow-subscribers'
  | 'latency'
  | 'idle'
  | 'mqttsn'
  | 'mqttsn-qos1'
  | 'mqttsn-idle';
export type Mode = 'flood' | 'closed';

export const SCENARIOS: readonly ScenarioName[] = [
  'fan-in', 'fan-out', 'qos1', 'slow-subscribers', 'latency', 'idle', 'mqttsn', 'mqttsn-qos1', 'mqttsn-idle',
];
/** Scenarios measured in both modes (flood and closed loop). */
export const THROUGHPUT_SCENARIOS: readonly ScenarioName[] = ['fan-in', 'fan-out', 'qos1', 'mqttsn', 'mqttsn-qos1'];
/** Scenarios that need the broker's MQTT-SN gateway (`mqttsnPort`): skipped for brokers without one. */
export const MQTTSN_SCENARIOS: readonly ScenarioName[] = ['mqttsn', 'mqttsn-qos1', 'mqttsn-idle'];
/** Scenarios that open connections and measure memory (their result has `idle`). */
export const IDLE_SCENARIOS: readonly ScenarioName[] = ['idle', 'mqttsn-idle'];

export interface ScenarioOptions {
  /** tcp, or ws: every connection is MQTT over WebSocket (binary messages, path /mqtt). */
  transport: Transport;
  host: string;
  port: number;
  /** The broker's MQTT-SN gateway (UDP) port, for the mqttsn scenarios. */
  mqttsnPort?: number;
  /** mqttsn and mqttsn-qos1: simulated MQTT-SN clients, each with its own UDP socket. */
  snClients: number;
  /** The broker's pid, for CPU, memory and crash detection; optional. */
  brokerPid?: number;
  version: ProtocolVersion;
  /** Seconds measured. */
  durationS: number;
  /** Seconds of load before the measurement starts. */
  warmupS: number;
  /** fan-in and qos1: publishers. */
  publishers: number;
  /** fan-out: subscribers. */
  subscribers: number;
  payloadBytes: number;
  /** Closed loop: messages in flight end to end at most. */
  inflight: number;
  /** qos1: unacknowledged PUBLISHes per publisher at most (also capped by the server's Receive Maximum). */
  window: number;
  /** 5.0 subscribers: the Receive Maximum they advertise (>= 16). */
  receiveMaximum: number;
  /** latency: messages per second. */
  rate: number;
  /** idle: connections to open; mqttsn-idle: MQTT-SN sessions. */
  connections: number;
  /** idle: CONNECTs awaiting CONNACK at most (shared among the generator processes). */
  connectConcurrency: number;
  /** idle: processes that open the connections (each has its own file-descriptor limit). */
  generatorProcesses: number;
  clientPrefix: string;
  /** First topic level: fan-in publishes to <root>/p<i> and subscribes <root>/#. */
  topicRoot: string;
}

export const DEFAULT_OPTIONS: Omit<ScenarioOptions, 'port'> = {
  transport: 'tcp',
  host: '127.0.0.1',
  snClients: 1_000,
  version: 4,
  durationS: 5,
  warmupS: 1,
  publishers: 10,
  subscribers: 10,
  payloadBytes: 64,
  inflight: 1_000,
  window: 1_000,
  receiveMaximum: 1_000,
  rate: 5_000,
  connections: 19_000,
  connectConcurrency: 200,
  generatorProcesses: 1,
  clientPrefix: 'lg',
  topicRoot: 'bench',
};

export interface LatencySummary {
  /** Microseconds. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  samples: number;
}

export interface IdleSummary {
  requested: number;
  connected: number;
  failed: number;
  /** CONNACKs per second while ramping. */
  connectRate: number;
  /** Broker RSS growth divided by connections, bytes; null without a pid. */
  bytesPerConnection: number | null;
  rssBeforeBytes: number | null;
  rssAfterBytes: number | null;
}

export interface ScenarioResult {
  scenario: ScenarioName;
  mode: Mode | null;
  /** Seconds actually measured (shorter when the broker crashed). */
  measuredS: number;
  /** PUBLISH frames written by publishers during the measurement. */
  published: number;
  /** PUBLISH frames received by subscribers during the measurement. */
  delivered: number;
  deliveredPerSec: number;
  publishedPerSec: number;
  /** Totals over the whole run including warm-up and drain, for the "nothing invented" check. */
  totalPublished: number;
  totalDelivered: number;
  /** Subscribers each message should reach. */
  fanout: number;
  /** Broker CPU seconds during the measurement; null without a pid. */
  brokerCpuS: number | null;
  /**
   * Broker CPU seconds per measured second (1 = one core busy). Well below 1 means the broker was
   * not the bottleneck: the generator, a latency-bound window, or other load on its CPU was.
   */
  brokerCpuShare: number | null;
  /** Broker CPU microseconds per delivered message; null without a pid or deliveries. */
  cpuUsPerMsg: number | null;
  /** Generator CPU as a fraction of one core during the measurement. */
  generatorCpu: number;
  /** Delivered per second, one value per second of the measurement. */
  timeline: number[];
  /**
   * Milliseconds per measured second that the broker's / the generator's main thread was
   * runnable but waiting for its CPU (other processes on it); null when not readable.
   */
  brokerWaitMsPerS?: number | null;
  generatorWaitMsPerS?: number | null;
  /** The machine's 1-minute load average at the end of the measurement. */
  loadAverage?: number;
  collapsed: boolean;
  crashed: boolean;
  /** Closed loop: times the loop stalled (in-flight messages written off as lost after 1 s). */
  stalls: number;
  latency: LatencySummary | null;
  idle: IdleSummary | null;
  errors: string[];
}

export function emptyResult(scenario: ScenarioName, mode: Mode | null): ScenarioResult {
  return {
    scenario,
    mode,
    measuredS: 0,
    published: 0,
    delivered: 0,
    deliveredPerSec: 0,
    publishedPerSec: 0,
    totalPublished: 0,
    totalDelivered: 0,
    fanout: 1,
    brokerCpuS: null,
    brokerCpuShare: null,
    cpuUsPerMsg: null,
    generatorCpu: 0,
    timeline: [],
    collapsed: false,
    crashed: false,
    stalls: 0,
    latency: null,
    idle: null,
    errors: [],
  };
}
