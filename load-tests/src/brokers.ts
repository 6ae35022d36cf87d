// Starting and stopping the brokers under comparison, each as its own process on fresh free
// ports, optionally pinned to a CPU with `taskset -c` (taskset execs the broker, so the pid we
// hold is the broker's own and /proc/<pid> measures it):
// - ours: services/broker/dist/src/main.js, configured by environment, ready when GET /readyz
//   answers 200 and the MQTT port completes a CONNECT;
// - mosquitto: `mosquitto -c` a generated conf with the same in-flight and queue limits;
// - aedes: load-tests/dist/src/aedes-server.js (aedes 1.x over net.createServer);
// - echo: load-tests/dist/src/scenarios/echo-server.js, PUBLISH bytes forwarded unchanged to every
//   subscriber (no matching, no state): the floor set by the generator, Node and the machine.
// Every started process is remembered and SIGKILLed on process exit as a last resort.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchClient } from './bench-client.js';

export type BrokerName = 'ours' | 'mosquitto' | 'aedes' | 'echo';
/** The brokers compared by default. */
export const BROKERS: readonly BrokerName[] = ['ours', 'mosquitto', 'aedes'];
/** Every broker `--brokers` accepts. */
export const ALL_BROKERS: readonly BrokerName[] = ['ours', 'mosquitto', 'aedes', 'echo'];

export interface BrokerConfig {
  /** CPU list for taskset -c (e.g. "0"); undefined: not pinned. */
  cpu?: string;
  /** Outgoing QoS 1/2 messages in flight per client. */
  maxInflight: number;
  /** Messages queued per client behind the in-flight window. */
  maxQueued: number;
  /** ms to wait for readiness. */
  readyTimeoutMs?: number;
}

export const DEFAULT_BROKER_CONFIG: BrokerConfig = { maxInflight: 100, maxQueued: 100_000 };

export interface RunningBroker {
  name: BrokerName;
  pid: number;
  port: number;
  /** True once the process has exited. */
  readonly exited: boolean;
  exitStatus(): string | null;
  /** Last lines of its stderr/stdout, for error reports. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(here, '..', '..', '..');
export const OURS_MAIN = join(repoRoot, 'services', 'broker', 'dist', 'src', 'main.js');
export const AEDES_SERVER = join(here, 'aedes-server.js');
export const ECHO_SERVER = join(here, 'scenarios', 'echo-server.js');

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Kills every broker still running (SIGKILL); for Ctrl-C. */
export function killAllBrokers(): void {
  for (const c of live) c.kill('SIGKILL');
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port from listen(0)');
  return address.port;
}

export function brokerAvailable(name: BrokerName): boolean {
  if (name === 'ours') return existsSync(OURS_MAIN);
  if (name === 'aedes') return existsSync(AEDES_SERVER);
  if (name === 'echo') return existsSync(ECHO_SERVER);
  return true;
}

export function mosquittoConf(port: number, c: BrokerConfig): string {
  return [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    `max_inflight_messages ${c.maxInflight}`,
    `max_queued_messages ${c.maxQueued}`,
    'max_queued_bytes 0',
    'set_tcp_nodelay true',
    'connection_messages false',
    'log_dest stderr',
    'log_type error',
    '',
  ].join('\n');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function httpStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path, timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => {
      req.destroy();
      resolve(0);
    });
  });
}

async function mqttReady(port: number): Promise<boolean> {
  try {
    const c = await BenchClient.connect(
      { host: '127.0.0.1', port, clientId: `ready-probe-${process.pid}`, version: 4 },
      1_000,
    );
    c.close();
    return true;
  } catch {
    return false;
  }
}

/** Starts `name` on fresh free ports and resolves once it accepts MQTT connections. */
export async function startBroker(name: BrokerName, config: BrokerConfig = DEFAULT_BROKER_CONFIG): Promise<RunningBroker> {
  const port = await freePort();
  let cmd: string;
  let args: string[];
  let env: NodeJS.ProcessEnv = process.env;
  let httpPort: number | undefined;
  let tmp: string | undefined;
  if (name === 'mosquitto') {
    tmp = mkdtempSync(join(tmpdir(), 'bench-mosquitto-'));
    const conf = join(tmp, 'mosquitto.conf');
    writeFileSync(conf, mosquittoConf(port, config));
    cmd = 'mosquitto';
    args = ['-c', conf];
  } else if (name === 'aedes' || name === 'echo') {
    cmd = process.execPath;
    args = [name === 'aedes' ? AEDES_SERVER : ECHO_SERVER, '--port', String(port)];
  } else {
    httpPort = await freePort();
    cmd = process.execPath;
    args = [OURS_MAIN];
    env = {
      ...process.env,
      MQTT_PORT: String(port),
      MQTT_WS_PORT: 'off',
      HTTP_PORT: String(httpPort),
      GRPC_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
      SYS_INTERVAL_SECONDS: '0',
      DRAIN_SECONDS: '0',
      MAX_INFLIGHT: String(config.maxInflight),
      MAX_QUEUED_MESSAGES: String(config.maxQueued),
    };
  }
  if (config.cpu !== undefined) {
    args = ['-c', config.cpu, cmd, ...args];
    cmd = 'taskset';
  }
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  let status: string | null = null;
  const gone = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      status = signal ?? `exit ${code}`;
      live.delete(child);
      if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
      resolve();
    });
  });
  child.once('error', (err) => {
    keep(Buffer.from(`spawn error: ${err.message}\n`));
  });

  const broker: RunningBroker = {
    name,
    pid: child.pid ?? -1,
    port,
    get exited() {
      return exited;
    },
    exitStatus: () => status,
    output: () => out,
    async stop(graceMs = 3_000) {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await gone;
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + (config.readyTimeoutMs ?? 15_000);
  while (Date.now() < deadline && !exited) {
    const httpOk = httpPort === undefined || (await httpStatus(httpPort, '/readyz')) === 200;
    if (httpOk && (await mqttReady(port))) return broker;
    await sleep(50);
  }
  await broker.stop(500);
  throw new Error(`${name} not ready on port ${port} (${status ?? 'timeout'}): ${out.slice(-500)}`);
}
