// The benchmark harness: for each transport, scenario and mode, N runs of each broker (ours,
// Mosquitto, Aedes; over WebSocket ours once per engine, ours-uws and ours-ws; runs interleaved
// between brokers): start the broker fresh on free ports pinned to one CPU, run the load
// generator as a child pinned to another CPU (`taskset -c`), collect its JSON result, stop the
// broker. Medians over the runs go into one Markdown table per transport with ours-vs-them ratios.
// Everything is bounded: a per-run timeout kills a hung generator, a broker that dies mid-run is
// recorded as crashed and the next run goes on, and Ctrl-C kills whatever is running.

import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TRANSPORTS, type Transport } from './bench-link.js';
import {
  ALL_BROKERS,
  BROKERS,
  type BrokerName,
  brokerUnavailable,
  DEFAULT_BROKER_CONFIG,
  killAllBrokers,
  servesTransport,
  startBroker,
  WS_BROKERS,
} from './brokers.js';
import { fmtRate } from './format.js';
import {
  emptyResult,
  MQTTSN_SCENARIOS,
  type Mode,
  SCENARIOS,
  type ScenarioName,
  type ScenarioResult,
  THROUGHPUT_SCENARIOS,
} from './scenarios/types.js';
import { type CellSummary, renderTable, summarize } from './summary.js';

const LOADGEN = join(fileURLToPath(new URL('.', import.meta.url)), 'loadgen.js');

/** Scenarios run over WebSocket unless --scenarios says otherwise: the issue's four measures (idle gives memory and connect rate). */
const WS_SCENARIOS: readonly ScenarioName[] = ['fan-in', 'fan-out', 'idle'];

const HELP = `usage: node load-tests/dist/src/bench.js [options]   (or: npm run bench -- [options])

  --transports <list>    tcp,ws (default: both; ws = MQTT over WebSocket, binary messages, path /mqtt)
  --scenarios <list>     ${SCENARIOS.join(',')} (default: all over tcp, ${WS_SCENARIOS.join(',')} over ws)
  --modes <list>         flood,closed (default: both; for fan-in, fan-out, qos1)
  --brokers <list>       ${ALL_BROKERS.join(',')} (default: ${BROKERS.join(',')} over tcp,
                         ${WS_BROKERS.join(',')} over ws; ours-uws/ours-ws are ours with WS_ENGINE=uws/ws
                         and run over ws only; a broker that is not built or cannot load is skipped;
                         echo forwards PUBLISH bytes unchanged, tcp only: the generator's and the machine's floor)
  --runs <n>             runs per cell, the median is reported (default 3)
  --duration <s>         seconds measured per run (default 5)
  --warmup <s>           seconds of load before measuring (default 0.5)
  --connections <n>      idle connections and mqttsn-idle sessions (default 19000)
  --max-inflight <n>     brokers' outgoing QoS 1 in-flight limit (default ${DEFAULT_BROKER_CONFIG.maxInflight})
  --max-queued <n>       brokers' per-client queue limit (default ${DEFAULT_BROKER_CONFIG.maxQueued})
  --broker-cpu <list>    taskset CPU list for the broker (default 0)
  --generator-cpu <list> taskset CPU list for the generator (default 1)
  --no-pin               do not use taskset
  --json <file>          also write every run and the medians as JSON
  --help                 this text
  Any other --option value is passed to the generator (e.g. --publishers 20 --payload 256).
`;

interface BenchArgs {
  transports: Transport[];
  /** Undefined: each transport's default list. */
  scenarios: ScenarioName[] | undefined;
  modes: Mode[];
  /** Undefined: each transport's default list. */
  brokers: BrokerName[] | undefined;
  runs: number;
  durationS: number;
  warmupS: number;
  connections: number;
  maxInflight: number;
  maxQueued: number;
  brokerCpu: string | undefined;
  generatorCpu: string | undefined;
  json: string | undefined;
  passthrough: string[];
}

const list = <T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T[] => {
  if (value === undefined) return [...allowed];
  const items = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const i of items) if (!allowed.includes(i as T)) throw new RangeError(`--${name}: unknown '${i}' (one of ${allowed.join(', ')})`);
  return items as T[];
};

const num = (name: string, value: string | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`--${name} must be a non-negative number`);
  return n;
};

function parseBenchArgs(argv: string[]): BenchArgs | null {
  const { values, tokens } = parseArgs({
    args: argv,
    strict: false,
    tokens: true,
    options: {
      transports: { type: 'string' },
      scenarios: { type: 'string' },
      modes: { type: 'string' },
      brokers: { type: 'string' },
      runs: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'max-inflight': { type: 'string' },
      'max-queued': { type: 'string' },
      'broker-cpu': { type: 'string' },
      'generator-cpu': { type: 'string' },
      'no-pin': { type: 'boolean' },
      json: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) return null;
  const known = new Set([
    'transports', 'scenarios', 'modes', 'brokers', 'runs', 'duration', 'warmup', 'connections', 'max-inflight',
    'max-queued', 'broker-cpu', 'generator-cpu', 'no-pin', 'json', 'help',
  ]);
  const passthrough: string[] = [];
  for (const t of tokens ?? []) {
    if (t.kind === 'option' && !known.has(t.name)) {
      passthrough.push(`--${t.name}`);
      if (t.value !== undefined) passthrough.push(t.value);
    } else if (t.kind === 'positional' && passthrough.length > 0) {
      passthrough.push(t.value);
    }
  }
  const pin = values['no-pin'] !== true;
  const str = (v: string | boolean | undefined) => (typeof v === 'string' ? v : undefined);
  const explicit = <T extends string>(name: string, allowed: readonly T[]): T[] | undefined => {
    const v = str(values[name]);
    return v === undefined ? undefined : list(name, v, allowed);
  };
  return {
    transports: list('transports', str(values.transports), TRANSPORTS),
    scenarios: explicit('scenarios', SCENARIOS),
    modes: list('modes', str(values.modes), ['flood', 'closed'] as const),
    brokers: explicit('brokers', ALL_BROKERS),
    runs: Math.max(1, Math.floor(num('runs', str(values.runs), 3))),
    durationS: num('duration', str(values.duration), 5),
    warmupS: num('warmup', str(values.warmup), 0.5),
    connections: Math.max(1, Math.floor(num('connections', str(values.connections), 19_000))),
    maxInflight: num('max-inflight', str(values['max-inflight']), DEFAULT_BROKER_CONFIG.maxInflight),
    maxQueued: num('max-queued', str(values['max-queued']), DEFAULT_BROKER_CONFIG.maxQueued),
    brokerCpu: pin ? (str(values['broker-cpu']) ?? '0') : undefined,
    generatorCpu: pin ? (str(values['generator-cpu']) ?? '1') : undefined,
    json: str(values.json),
    passthrough,
  };
}

let aborted = false;
let currentGenerator: ChildProcess | undefined;

/** Runs the generator once; resolves with its result, or a failed result on timeout/garbage. */
async function runGenerator(args: string[], cpu: string | undefined, timeoutMs: number): Promise<ScenarioResult | string> {
  const cmd = cpu === undefined ? process.execPath : 'taskset';
  const argv = cpu === undefined ? [LOADGEN, ...args] : ['-c', cpu, process.execPath, LOADGEN, ...args];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  currentGenerator = child;
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString('utf8');
  });
  child.stderr.on('data', (b: Buffer) => {
    err = (err + b.toString('utf8')).slice(-2_000);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  await new Promise<void>((resolve) => child.once('close', () => resolve()));
  clearTimeout(timer);
  currentGenerator = undefined;
  if (timedOut) return `generator timed out after ${timeoutMs} ms`;
  const line = out.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ScenarioResult;
  } catch {
    return `generator failed: ${err.trim().slice(-500) || out.slice(-500)}`;
  }
}

/** One cell of the run: every broker of `brokers` runs it `--runs` times. */
interface Cell {
  transport: Transport;
  scenario: ScenarioName;
  mode: Mode | null;
}

async function runOnce(a: BenchArgs, broker: BrokerName, { transport, scenario, mode }: Cell, run: number): Promise<ScenarioResult> {
  const failed = (why: string, crashed = false): ScenarioResult => {
    const r = emptyResult(scenario, mode);
    r.errors.push(why);
    r.crashed = crashed;
    return r;
  };
  let b: Awaited<ReturnType<typeof startBroker>>;
  try {
    b = await startBroker(broker, { cpu: a.brokerCpu, maxInflight: a.maxInflight, maxQueued: a.maxQueued, transport });
  } catch (err) {
    return failed(`start: ${(err as Error).message}`);
  }
  try {
    const args = [
      '--json', '--transport', transport, '--port', String(transport === 'ws' ? b.wsPort : b.port), '--pid', String(b.pid), '--scenario', scenario,
      '--mode', mode ?? 'flood', '--duration', String(a.durationS), '--warmup', String(a.warmupS),
      '--connections', String(a.connections), '--client-prefix', `b${run}`,
      ...(b.mqttsnPort !== undefined ? ['--sn-port', String(b.mqttsnPort)] : []), ...a.passthrough,
    ];
    const timeoutMs = (a.warmupS + a.durationS) * 1000 + (scenario === 'idle' || scenario === 'mqttsn-idle' ? 90_000 : 30_000);
    const r = await runGenerator(args, a.generatorCpu, timeoutMs);
    if (typeof r === 'string') return failed(r, b.exited);
    if (b.exited && !r.crashed) {
      r.crashed = true;
      r.errors.unshift(`broker exited (${b.exitStatus()})`);
    }
    if (r.crashed) {
      const lines = b.output().trim().split('\n');
      const why = lines.find((l) => /Error|FATAL|out of memory/.test(l)) ?? lines.slice(-3).join(' | ');
      if (why.length > 0) r.errors.push(`broker output: ${why.trim()}`);
    }
    return r;
  } finally {
    await b.stop();
  }
}

function progressLine(broker: BrokerName, { transport, scenario, mode }: Cell, run: number, r: ScenarioResult): string {
  const what = r.idle !== null
    ? `${fmtRate(r.idle.connectRate)} conn/s, ${r.idle.bytesPerConnection === null ? '-' : (r.idle.bytesPerConnection / 1024).toFixed(1)} KiB/conn, ${r.cpuUsPerMsg === null ? '-' : r.cpuUsPerMsg.toFixed(0)} µs CPU/conn, broker ${r.brokerCpuShare === null ? '-' : (r.brokerCpuShare * 100).toFixed(0)}% / generator ${(r.generatorCpu * 100).toFixed(0)}% of a core`
    : r.latency !== null
      ? `p50 ${r.latency.p50.toFixed(0)} µs p99 ${r.latency.p99.toFixed(0)} µs`
      : `${fmtRate(r.deliveredPerSec)} msg/s, ${r.cpuUsPerMsg === null ? '-' : r.cpuUsPerMsg.toFixed(2)} µs/msg, broker ${r.brokerCpuShare === null ? '-' : (r.brokerCpuShare * 100).toFixed(0)}% / generator ${(r.generatorCpu * 100).toFixed(0)}% of a core`;
  const flags = [r.crashed ? 'CRASHED' : '', r.collapsed ? 'collapsed' : '', ...r.errors.slice(0, 1)].filter((s) => s !== '');
  // How long each main thread sat runnable waiting for its CPU: the machine's share of the result.
  const ms = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(0));
  const waits = r.loadAverage === undefined ? '' : `; run-queue wait broker ${ms(r.brokerWaitMsPerS)} / generator ${ms(r.generatorWaitMsPerS)} ms/s, load ${r.loadAverage.toFixed(2)}`;
  return `[${broker}] ${transport === 'ws' ? 'ws ' : ''}${scenario}${mode === null ? '' : `/${mode}`} run ${run + 1}: ${what}${waits}${flags.length > 0 ? ` (${flags.join('; ')})` : ''}`;
}

async function main(): Promise<void> {
  let a: BenchArgs | null;
  try {
    a = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}`);
    process.exitCode = 2;
    return;
  }
  if (a === null) {
    process.stdout.write(HELP);
    return;
  }
  const onSignal = () => {
    aborted = true;
    currentGenerator?.kill('SIGKILL');
    killAllBrokers();
    process.exitCode = 130;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const skipped = new Map<BrokerName, string | null>();
  const usable = (b: BrokerName): boolean => {
    if (!skipped.has(b)) {
      const why = brokerUnavailable(b);
      skipped.set(b, why);
      if (why !== null) process.stderr.write(`skipping ${b}: ${why}\n`);
    }
    return skipped.get(b) === null;
  };
  const plan = a.transports.map((transport) => {
    const brokers = (a.brokers ?? (transport === 'ws' ? WS_BROKERS : BROKERS)).filter((b) => servesTransport(b, transport) && usable(b));
    const cells: Cell[] = [];
    for (const scenario of a.scenarios ?? (transport === 'ws' ? WS_SCENARIOS : SCENARIOS)) {
      if (THROUGHPUT_SCENARIOS.includes(scenario)) for (const mode of a.modes) cells.push({ transport, scenario, mode });
      else cells.push({ transport, scenario, mode: null });
    }
    return { transport, brokers, cells };
  });
  const started = Date.now();
  const results: Array<Cell & { broker: BrokerName; runs: ScenarioResult[] }> = [];
  const summaries: CellSummary[] = [];
  // Runs are interleaved (cell by cell, run 1 of every broker, then run 2 ...): on a shared
  // machine the load drifts over minutes, and back-to-back runs of one broker would hand one
  // broker a quiet period and the next a busy one.
  for (const { brokers, cells } of plan) {
    for (const cell of cells) {
      // Only ours has an MQTT-SN gateway (Mosquitto, Aedes and the echo floor have none).
      const cellBrokers = MQTTSN_SCENARIOS.includes(cell.scenario) ? brokers.filter((b) => b === 'ours') : brokers;
      for (const b of brokers) {
        if (!cellBrokers.includes(b)) process.stderr.write(`skipping ${b} for ${cell.scenario}: no MQTT-SN gateway\n`);
      }
      const runs = new Map<BrokerName, ScenarioResult[]>(cellBrokers.map((b) => [b, []]));
      for (let run = 0; run < a.runs && !aborted; run++) {
        for (const broker of cellBrokers) {
          const r = await runOnce(a, broker, cell, run);
          if (aborted) break;
          runs.get(broker)!.push(r);
          process.stderr.write(`${progressLine(broker, cell, run, r)}\n`);
        }
      }
      for (const broker of cellBrokers) {
        const done = runs.get(broker)!;
        if (done.length === 0) continue;
        results.push({ ...cell, broker, runs: done });
        summaries.push(summarize(broker, cell.scenario, cell.mode, done, cell.transport));
      }
      if (aborted) break;
    }
    if (aborted) break;
  }
  const elapsedS = (Date.now() - started) / 1000;
  if (aborted) process.stderr.write('aborted by signal: the table holds the cells that finished\n');
  const cpuModel = cpus()[0]?.model ?? 'unknown';
  const tables = plan
    .filter(({ transport }) => summaries.some((s) => s.transport === transport))
    .map(({ transport, brokers }) => {
      const cells = summaries.filter((s) => s.transport === transport);
      const reference = brokers.find((b) => b.startsWith('ours')) ?? 'ours';
      const title = transport === 'ws' ? `MQTT over WebSocket (ws://127.0.0.1:<port>/mqtt, binary messages)` : 'MQTT over TCP';
      return `${title}\n\n${renderTable(cells, brokers, reference)}`;
    });
  process.stdout.write(
    `\n${tables.join('\n\n')}\n\nmedians of ${a.runs} run(s), ${a.durationS} s each` +
      ` (+${a.warmupS} s warm-up); broker on CPU ${a.brokerCpu ?? 'any'}, generator on CPU ${a.generatorCpu ?? 'any'};` +
      ` ${cpus().length} x ${cpuModel}; node ${process.version}; took ${elapsedS.toFixed(0)} s\n`,
  );
  for (const s of summaries) {
    if (s.errors.length > 0) process.stdout.write(`  ${s.broker} ${s.transport === 'ws' ? 'ws ' : ''}${s.scenario}${s.mode === null ? '' : `/${s.mode}`}: ${s.errors.join('; ')}\n`);
  }
  if (a.json !== undefined) {
    const doc = { args: a, cpu: cpuModel, cpus: cpus().length, node: process.version, elapsedS, summaries, results };
    writeFileSync(a.json, `${JSON.stringify(doc, null, 2)}\n`);
  }
}

await main();
