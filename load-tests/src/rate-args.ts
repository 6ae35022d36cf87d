// Command-line options of the load generator's rate/ramp mode (`loadgen --scenario rate`, or any
// run given --ramp). See the "Rate mode" section of load-tests/README.md.

import { parseArgs } from 'node:util';
import { DEFAULT_RATE_OPTIONS, type RateOptions, type RateResult } from './rate-types.js';

const d = DEFAULT_RATE_OPTIONS;

export const RATE_HELP = `usage: node load-tests/dist/src/loadgen.js --scenario rate --port <port> [options]

  --rate <msg/s>          target publish rate over all publishers, spread evenly (default ${d.rate})
  --connections <n>       connections in total: subscribers, publishers, then idle ones (default ${d.connections})
  --ramp <s>              open the connections evenly over this many seconds (default ${d.rampS}: at once)
  --duration <s>          seconds of steady load after the ramp (default ${d.durationS})
  --publishers <n>        publishing connections (default ${d.publishers})
  --subscribers <n>       connections subscribed to <root>/p/# (default ${d.subscribers})
  --qos <0|1|2>           publish and subscribe QoS (default ${d.qos}; QoS 2 has no --window)
  --payload <bytes>       payload size, >= 8 (the send timestamp) (default ${d.payloadBytes})
  --procs <n>             worker processes (default ${d.processes}; raised to keep <= --per-proc each)
  --per-proc <n>          connections per worker process at most (default ${d.maxPerProcess})
  --concurrency <n>       handshakes in progress per process at most (default ${d.connectConcurrency})
  --window <n>            QoS 1: unacknowledged PUBLISHes per publisher (default ${d.window})
  --keepalive <s>         keep alive (default ${d.keepaliveS})
  --host <host>           broker host (default ${d.host})
  --port <port[,port..]>  broker MQTT port(s) (required; several: connection i to port i mod n)
  --pid <pid>             broker pid: its CPU per second
  --protocol <4|5>        MQTT 3.1.1 (4) or 5.0 (5) (default ${d.version})
  --client-prefix <s>     client id prefix (default ${d.clientPrefix})
  --topic-root <s>        first topic level (default ${d.topicRoot})
  --out <file>            write the JSON result here
  --svg <file>            write the SVG plot here
  --json                  print the JSON result instead of a summary
`;

export interface RateCli {
  options: RateOptions;
  out?: string;
  svg?: string;
  json: boolean;
}

/** True when argv asks for the rate mode: `--scenario rate` or a `--ramp`. */
export function isRateMode(argv: string[]): boolean {
  return argv.some((a, i) => a === '--scenario=rate' || (a === '--scenario' && argv[i + 1] === 'rate') || a === '--ramp' || a.startsWith('--ramp='));
}

function num(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new RangeError(`--${name} must be a number >= ${min}, got '${value}'`);
  return n;
}

/** Parses the rate mode's options; null for --help. Throws RangeError on a bad value. */
export function parseRateArgs(argv: string[]): RateCli | null {
  const s = { type: 'string' } as const;
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      scenario: s,
      rate: s,
      connections: s,
      ramp: s,
      duration: s,
      publishers: s,
      subscribers: s,
      qos: s,
      payload: s,
      procs: s,
      'generator-procs': s,
      'per-proc': s,
      concurrency: s,
      window: s,
      keepalive: s,
      host: s,
      port: s,
      pid: s,
      protocol: s,
      'client-prefix': s,
      'topic-root': s,
      out: s,
      svg: s,
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) return null;
  if (values.scenario !== undefined && values.scenario !== 'rate') throw new RangeError('--ramp goes with --scenario rate only');
  if (values.port === undefined) throw new RangeError('--port is required');
  const version = num('protocol', values.protocol, d.version, 4);
  if (version !== 4 && version !== 5) throw new RangeError('--protocol must be 4 or 5');
  const qos = num('qos', values.qos, d.qos, 0);
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError('--qos must be 0, 1 or 2');
  const publishers = num('publishers', values.publishers, d.publishers, 0);
  const subscribers = num('subscribers', values.subscribers, d.subscribers, 0);
  const connections = num('connections', values.connections, Math.max(d.connections, publishers + subscribers), 1);
  if (publishers + subscribers > connections) throw new RangeError('--publishers + --subscribers must not exceed --connections');
  const options: RateOptions = {
    host: values.host ?? d.host,
    ports: values.port.split(',').map((v) => num('port', v, 0, 1)),
    version,
    connections,
    rampS: num('ramp', values.ramp, d.rampS, 0),
    publishers,
    subscribers,
    rate: num('rate', values.rate, d.rate, 0),
    qos,
    durationS: num('duration', values.duration, d.durationS, 1),
    payloadBytes: num('payload', values.payload, d.payloadBytes, 8),
    connectConcurrency: num('concurrency', values.concurrency, d.connectConcurrency, 1),
    processes: num('procs', values.procs ?? values['generator-procs'], d.processes, 1),
    maxPerProcess: num('per-proc', values['per-proc'], d.maxPerProcess, 1),
    window: num('window', values.window, d.window, 1),
    keepaliveS: num('keepalive', values.keepalive, d.keepaliveS, 0),
    clientPrefix: values['client-prefix'] ?? d.clientPrefix,
    topicRoot: values['topic-root'] ?? d.topicRoot,
    ...(values.pid !== undefined ? { brokerPid: num('pid', values.pid, 0, 1) } : {}),
  };
  return {
    options,
    json: values.json === true,
    ...(values.out !== undefined ? { out: values.out } : {}),
    ...(values.svg !== undefined ? { svg: values.svg } : {}),
  };
}

/** A few lines for a person reading the terminal. */
export function describeRate(r: RateResult): string {
  const c = r.connections;
  const p = r.publish;
  const l = r.latencyMs;
  return [
    `connections: ${c.connected}/${c.requested} in ${c.rampS} s (${c.connectRate}/s), ${c.failed} failed, ${c.dropped} dropped, ${r.processes} process(es)`,
    `publish: target ${p.targetRate} msg/s, achieved ${p.achievedRate} msg/s over ${p.steadyS} s; ${p.published} sent, ${p.skipped} skipped${r.options.qos === 1 ? `, ${p.acked} acked` : ''}`,
    `delivered: ${r.delivered}/${r.expectedDeliveries} (loss ${(r.lossRatio * 100).toFixed(3)}%)`,
    `latency ms: p50 ${l.p50} p90 ${l.p90} p99 ${l.p99} max ${l.max} (${l.samples} samples)`,
    ...(r.brokerCpuPer1kMsgs !== null ? [`broker CPU: ${r.brokerCpuPer1kMsgs} cores per 1,000 delivered msg/s`] : []),
    ...r.errors.map((e) => `error: ${e}`),
  ].join('\n');
}
