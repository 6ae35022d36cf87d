// Types of the rate/ramp mode of the load generator (rate-run.ts): its options, the result it
// writes as JSON, and the messages between the coordinator and its forked workers (rate-worker.ts).

import type { ProtocolVersion } from './packets.js';

export interface RateOptions {
  host: string;
  /** Broker MQTT ports on `host` (several nodes of a cluster: connection i goes to ports[i % n]). */
  ports: number[];
  version: ProtocolVersion;
  /** Connections in total: subscribers first, then publishers, then idle ones. */
  connections: number;
  /** Seconds over which the connections are opened, evenly spaced; 0: as fast as the broker accepts. */
  rampS: number;
  /** Connections that publish (the first `publishers` after the subscribers). */
  publishers: number;
  /** Connections that subscribe to `<topicRoot>/p/#` (each message reaches all of them). */
  subscribers: number;
  /** Target publish rate over all publishers, messages per second, spread evenly over time. */
  rate: number;
  /** QoS of the PUBLISHes and of the subscriptions (QoS 2: no window, PUBREC/PUBREL/PUBCOMP answered by the client). */
  qos: 0 | 1 | 2;
  /** Seconds of steady load after the ramp; publishing also runs during the ramp. */
  durationS: number;
  payloadBytes: number;
  /** Handshakes awaiting CONNACK at most, per worker process. */
  connectConcurrency: number;
  /** Worker processes (raised so that none holds more than `maxPerProcess` connections). */
  processes: number;
  /** Connections per worker process at most (under `ulimit -n`, 20,000 here). */
  maxPerProcess: number;
  /** QoS 1: PUBLISHes awaiting PUBACK per publisher at most; a due message beyond it is skipped. */
  window: number;
  /** Keep alive in seconds (0: none, so idle connections cost no PINGREQ). */
  keepaliveS: number;
  clientPrefix: string;
  topicRoot: string;
  /** The broker's pid: its CPU per second from /proc; optional. */
  brokerPid?: number;
}

export const DEFAULT_RATE_OPTIONS: Omit<RateOptions, 'ports'> = {
  host: '127.0.0.1',
  version: 4,
  connections: 20,
  rampS: 0,
  publishers: 10,
  subscribers: 1,
  rate: 1_000,
  qos: 0,
  durationS: 10,
  payloadBytes: 64,
  connectConcurrency: 200,
  processes: 1,
  maxPerProcess: 19_000,
  window: 1_000,
  keepaliveS: 0,
  clientPrefix: 'rate',
  topicRoot: 'rate',
};

/** Milliseconds. */
export interface LatencyPercentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  samples: number;
}

/** One second of the run (t = seconds since the start of the ramp, 0-based). */
export interface RateSecond {
  t: number;
  /** Connections open at the end of the second. */
  connections: number;
  published: number;
  delivered: number;
  /** QoS 1: PUBACKs received. */
  acked: number;
  /** Latency of the messages delivered in this second (ms); null when none. */
  p50: number | null;
  p90: number | null;
  p99: number | null;
  /** Broker CPU seconds used in this second (1 = one core); null without a pid. */
  brokerCpu: number | null;
}

export interface RateResult {
  options: RateOptions;
  startedAt: string;
  processes: number;
  connections: {
    requested: number;
    connected: number;
    failed: number;
    /** Closed by the broker after they were opened. */
    dropped: number;
    /** Seconds from the first CONNECT to the last CONNACK. */
    rampS: number;
    /** CONNACKs per second while ramping. */
    connectRate: number;
  };
  publish: {
    targetRate: number;
    /** Messages written over the whole run. */
    published: number;
    /** Messages written per second in the steady window (after the ramp). */
    achievedRate: number;
    /** Steady window, seconds. */
    steadyS: number;
    /** Messages due but not written: no publisher connected yet, or the QoS 1 window was full. */
    skipped: number;
    acked: number;
  };
  delivered: number;
  /** published x subscribers. */
  expectedDeliveries: number;
  /** 1 - delivered / expected over the whole run (after the final drain). */
  lossRatio: number;
  latencyMs: LatencyPercentiles;
  brokerCpuS: number | null;
  /** Broker CPU seconds per second per 1,000 delivered messages/s, steady window; null without a pid. */
  brokerCpuPer1kMsgs: number | null;
  timeline: RateSecond[];
  errors: string[];
}

/** Per-second counters of one worker; the histogram is sparse [bucket, count] pairs. */
export interface WorkerSecond {
  t: number;
  published: number;
  delivered: number;
  acked: number;
  hist: Array<[number, number]>;
}

export type RateWorkerRequest =
  | { type: 'setup'; options: RateOptions; worker: number; workers: number }
  | { type: 'start'; startAtMs: number }
  | { type: 'close' };

export type RateWorkerReply =
  | { type: 'ready' }
  | { type: 'subscribed' }
  | { type: 'second'; second: WorkerSecond; connections: number }
  | {
      type: 'done';
      connected: number;
      failed: number;
      dropped: number;
      firstConnectMs: number;
      lastConnackMs: number;
      published: number;
      skipped: number;
      errors: string[];
    };
