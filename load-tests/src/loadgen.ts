// The load generator CLI: runs one scenario against a broker and prints the result (text, or
// JSON with --json for the benchmark harness). `--scenario rate` (or any --ramp) is the rate/ramp
// mode (rate-run.ts): a target publish rate and a connection ramp over several processes, with a
// JSON result and an SVG plot. See load-tests/README.md.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TRANSPORTS, type Transport } from './bench-link.js';
import { describeResult } from './format.js';
import { plotRateResult } from './plot-rate.js';
import { describeRate, isRateMode, parseRateArgs, RATE_HELP } from './rate-args.js';
import { runRate } from './rate-run.js';
import { runScenario } from './scenarios/run.js';
import { DEFAULT_OPTIONS, type Mode, SCENARIOS, type ScenarioName, type ScenarioOptions } from './scenarios/types.js';

const HELP = `usage: node load-tests/dist/src/loadgen.js --port <port> [options]

  --scenario <name>       ${SCENARIOS.join(' | ')} | rate (default fan-in; rate: --scenario rate --help)
  --mode <mode>           flood | closed (throughput scenarios; default flood)
  --transport <tcp|ws>    raw TCP, or MQTT over WebSocket (ws://host:port/mqtt, binary messages) (default ${DEFAULT_OPTIONS.transport})
  --host <host>           broker host (default ${DEFAULT_OPTIONS.host})
  --port <port>           broker MQTT port, the WebSocket port with --transport ws (required)
  --sn-port <port>        broker MQTT-SN (UDP) port: mqttsn, mqttsn-qos1, mqttsn-idle
  --sn-clients <n>        mqttsn, mqttsn-qos1: simulated MQTT-SN clients (default ${DEFAULT_OPTIONS.snClients})
  --pid <pid>             broker pid: CPU per message, memory per connection, crash detection
  --protocol <4|5>        MQTT 3.1.1 (4) or 5.0 (5) (default ${DEFAULT_OPTIONS.version})
  --duration <s>          seconds measured (default ${DEFAULT_OPTIONS.durationS})
  --warmup <s>            seconds of load before measuring (default ${DEFAULT_OPTIONS.warmupS})
  --publishers <n>        fan-in / qos1 publishers (default ${DEFAULT_OPTIONS.publishers})
  --subscribers <n>       fan-out subscribers (default ${DEFAULT_OPTIONS.subscribers})
  --payload <bytes>       payload size (default ${DEFAULT_OPTIONS.payloadBytes})
  --inflight <n>          closed loop: messages in flight end to end (default ${DEFAULT_OPTIONS.inflight})
  --window <n>            qos1: unacknowledged PUBLISHes per publisher (default ${DEFAULT_OPTIONS.window})
  --receive-maximum <n>   5.0 subscribers' Receive Maximum (default ${DEFAULT_OPTIONS.receiveMaximum})
  --rate <msg/s>          latency: publish rate (default ${DEFAULT_OPTIONS.rate})
  --connections <n>       idle: connections, mqttsn-idle: sessions (default ${DEFAULT_OPTIONS.connections})
  --concurrency <n>       idle: handshakes in progress at most (default ${DEFAULT_OPTIONS.connectConcurrency})
  --generator-procs <n>   idle: processes opening the connections (default ${DEFAULT_OPTIONS.generatorProcesses})
  --client-prefix <s>     client id prefix (default ${DEFAULT_OPTIONS.clientPrefix})
  --topic-root <s>        first topic level: fan-in uses <root>/p<i> -> <root>/# (default ${DEFAULT_OPTIONS.topicRoot})
  --json                  print the result as JSON
  --help                  this text
`;

function int(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new RangeError(`--${name} must be a number >= ${min}, got '${value}'`);
  return n;
}

export function parseLoadgenArgs(argv: string[]): { options: ScenarioOptions; scenario: ScenarioName; mode: Mode; json: boolean } | null {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      scenario: { type: 'string' },
      mode: { type: 'string' },
      transport: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'sn-port': { type: 'string' },
      'sn-clients': { type: 'string' },
      pid: { type: 'string' },
      protocol: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      publishers: { type: 'string' },
      subscribers: { type: 'string' },
      payload: { type: 'string' },
      inflight: { type: 'string' },
      window: { type: 'string' },
      'receive-maximum': { type: 'string' },
      rate: { type: 'string' },
      connections: { type: 'string' },
      concurrency: { type: 'string' },
      'generator-procs': { type: 'string' },
      'client-prefix': { type: 'string' },
      'topic-root': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) return null;
  const scenario = (values.scenario ?? 'fan-in') as ScenarioName;
  if (!SCENARIOS.includes(scenario)) throw new RangeError(`--scenario must be one of ${SCENARIOS.join(', ')}`);
  const mode = (values.mode ?? 'flood') as Mode;
  if (mode !== 'flood' && mode !== 'closed') throw new RangeError('--mode must be flood or closed');
  if (values.port === undefined) throw new RangeError('--port is required');
  const transport = (values.transport ?? DEFAULT_OPTIONS.transport) as Transport;
  if (!TRANSPORTS.includes(transport)) throw new RangeError(`--transport must be one of ${TRANSPORTS.join(', ')}`);
  const version = int('protocol', values.protocol, DEFAULT_OPTIONS.version, 4);
  if (version !== 4 && version !== 5) throw new RangeError('--protocol must be 4 or 5');
  const d = DEFAULT_OPTIONS;
  return {
    scenario,
    mode,
    json: values.json === true,
    options: {
      transport,
      host: values.host ?? d.host,
      port: int('port', values.port, 0, 1),
      ...(values['sn-port'] !== undefined ? { mqttsnPort: int('sn-port', values['sn-port'], 0, 1) } : {}),
      snClients: int('sn-clients', values['sn-clients'], d.snClients, 1),
      brokerPid: values.pid === undefined ? undefined : int('pid', values.pid, 0, 1),
      version,
      durationS: int('duration', values.duration, d.durationS, 0.1),
      warmupS: int('warmup', values.warmup, d.warmupS, 0),
      publishers: int('publishers', values.publishers, d.publishers, 1),
      subscribers: int('subscribers', values.subscribers, d.subscribers, 1),
      payloadBytes: int('payload', values.payload, d.payloadBytes, 8),
      inflight: int('inflight', values.inflight, d.inflight, 1),
      window: int('window', values.window, d.window, 1),
      receiveMaximum: int('receive-maximum', values['receive-maximum'], d.receiveMaximum, 16),
      rate: int('rate', values.rate, d.rate, 1),
      connections: int('connections', values.connections, d.connections, 1),
      connectConcurrency: int('concurrency', values.concurrency, d.connectConcurrency, 1),
      generatorProcesses: int('generator-procs', values['generator-procs'], d.generatorProcesses, 1),
      clientPrefix: values['client-prefix'] ?? d.clientPrefix,
      topicRoot: values['topic-root'] ?? d.topicRoot,
    },
  };
}

async function rateMain(argv: string[]): Promise<void> {
  let parsed: ReturnType<typeof parseRateArgs>;
  try {
    parsed = parseRateArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${RATE_HELP}`);
    process.exitCode = 2;
    return;
  }
  if (parsed === null) {
    process.stdout.write(RATE_HELP);
    return;
  }
  const result = await runRate(parsed.options);
  if (parsed.out !== undefined) writeFileSync(parsed.out, `${JSON.stringify(result, null, 2)}\n`);
  if (parsed.svg !== undefined) writeFileSync(parsed.svg, plotRateResult(result));
  process.stdout.write(parsed.json ? `${JSON.stringify(result)}\n` : `${describeRate(result)}\n`);
  if (result.connections.connected === 0) process.exitCode = 1;
}

async function main(): Promise<void> {
  if (isRateMode(process.argv.slice(2))) return rateMain(process.argv.slice(2));
  let parsed: ReturnType<typeof parseLoadgenArgs>;
  try {
    parsed = parseLoadgenArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}`);
    process.exitCode = 2;
    return;
  }
  if (parsed === null) {
    process.stdout.write(HELP);
    return;
  }
  const result = await runScenario(parsed.scenario, parsed.mode, parsed.options);
  process.stdout.write(parsed.json ? `${JSON.stringify(result)}\n` : `${describeResult(result)}\n`);
  if (result.crashed || result.errors.some((e) => e.startsWith('setup:'))) process.exitCode = 1;
}

await main();
