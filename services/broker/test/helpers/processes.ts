/**
 * Starts the broker under test as a real child process on free ports: either our service
 * (`services/broker/dist/src/main.js`, configured by environment variables) or Debian's
 * `mosquitto` (configured by a generated conf file), with the same returned shape so that a test
 * can run against both. `startTarget` picks one from E2E_TARGET (`ours`, the default, or
 * `mosquitto`); tests whose expected behaviour is ours only skip themselves under mosquitto.
 *
 * Free ports are found by listening on port 0, reading the port and closing; a tiny race with
 * other processes remains, so readiness is always awaited with a bound and failures name the
 * port. Every process started here is registered and killed at process exit as a last resort;
 * tests still stop their brokers in `after()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { get } from 'node:http';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type TargetKind = 'ours' | 'mosquitto';

export interface BrokerPorts {
  mqtt: number;
  ws: number;
  http: number;
  grpc: number;
  tls?: number;
  wss?: number;
}

export interface RunningBroker {
  kind: TargetKind;
  pid: number;
  ports: BrokerPorts;
  /** mqtt://127.0.0.1:<mqtt port> */
  url: string;
  /** ws://127.0.0.1:<ws port>/mqtt */
  wsUrl: string;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, wait (bounded) for exit, then SIGKILL; resolves with the exit code or signal. */
  stop(timeoutMs?: number): Promise<number | string | null>;
  /** SIGKILL now. */
  kill(): void;
  readonly exited: boolean;
}

export interface TargetOptions {
  /** Extra environment for our broker (MAX_QUEUED_MESSAGES, PASSWORD_FILE, ...). */
  env?: Record<string, string>;
  /** Extra mosquitto.conf lines for the same behaviour (global options before listeners). */
  mosquitto?: string[];
  /** mosquitto.conf lines for the TCP MQTT listener only (listener options: max_connections, ...). */
  mosquittoListener?: string[];
  /** Enable TLS and WSS listeners with this PEM certificate and key. */
  tls?: { cert: string; key: string };
}

const here = fileURLToPath(new URL('.', import.meta.url));
/** services/broker/dist/test/helpers -> services/broker/dist/src/main.js */
export const BROKER_MAIN = join(here, '..', '..', 'src', 'main.js');

export function targetKind(): TargetKind {
  return process.env.E2E_TARGET === 'mosquitto' ? 'mosquitto' : 'ours';
}

export function brokerBuilt(): boolean {
  return existsSync(BROKER_MAIN);
}

/** Reason to skip the whole e2e suite, or false when it can run. */
export function suiteSkipReason(): string | false {
  if (targetKind() === 'ours' && !brokerBuilt()) return `broker not built (${BROKER_MAIN} missing)`;
  return false;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function httpStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path, timeout: 1000 }, (res) => {
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

export function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1', () => done(true));
  });
}

function wrap(kind: TargetKind, child: ChildProcess, ports: BrokerPorts): RunningBroker {
  let out = '';
  let err = '';
  let exited = false;
  let exitValue: number | string | null = null;
  const exitPromise = new Promise<number | string | null>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      exitValue = code ?? signal;
      running.delete(child);
      resolve(exitValue);
    });
  });
  child.stdout?.on('data', (d: Buffer) => {
    if (out.length < 1_000_000) out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    if (err.length < 1_000_000) err += d.toString();
  });
  running.add(child);
  return {
    kind,
    pid: child.pid ?? -1,
    ports,
    url: `mqtt://127.0.0.1:${ports.mqtt}`,
    wsUrl: `ws://127.0.0.1:${ports.ws}/mqtt`,
    stdout: () => out,
    stderr: () => err,
    get exited() {
      return exited;
    },
    async stop(timeoutMs = 5000) {
      if (exited) return exitValue;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const value = await exitPromise;
      clearTimeout(timer);
      return value;
    },
    kill() {
      if (!exited) child.kill('SIGKILL');
    },
  };
}

async function waitReady(broker: RunningBroker, probe: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (broker.exited) {
      throw new Error(`${broker.kind} exited before ready (${what}); stderr: ${broker.stderr().slice(-2000)}`);
    }
    if (await probe()) return;
    await sleep(50);
  }
  broker.kill();
  throw new Error(`${broker.kind} not ready within 15 s (${what}); stderr: ${broker.stderr().slice(-2000)}`);
}

async function allocatePorts(tls: boolean): Promise<BrokerPorts> {
  const ports: BrokerPorts = { mqtt: await freePort(), ws: await freePort(), http: await freePort(), grpc: await freePort() };
  if (tls) {
    ports.tls = await freePort();
    ports.wss = await freePort();
  }
  return ports;
}

/**
 * Ports are picked by binding port 0 and closing it, so a test running beside this one may take
 * one of them before the broker binds it: a start that fails with "address already in use" is
 * retried on fresh ports (a start given explicit ports fails the same way each time and throws).
 */
async function withPortRetry(start: () => Promise<RunningBroker>): Promise<RunningBroker> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= 3 || !/address already in use/i.test(String(error))) throw error;
    }
  }
}

/** Our broker: `node services/broker/dist/src/main.js`, ready when GET /readyz answers 200. */
export function startBroker(options: TargetOptions = {}): Promise<RunningBroker> {
  return withPortRetry(() => launchBroker(options));
}

async function launchBroker(options: TargetOptions): Promise<RunningBroker> {
  const ports = await allocatePorts(options.tls !== undefined);
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: String(ports.mqtt),
    MQTT_WS_PORT: String(ports.ws),
    HTTP_PORT: String(ports.http),
    GRPC_PORT: String(ports.grpc),
    LOG_LEVEL: 'warn',
    DRAIN_SECONDS: '0',
  };
  if (options.tls) {
    env.MQTT_TLS_PORT = String(ports.tls);
    env.MQTT_WSS_PORT = String(ports.wss);
    env.TLS_CERT = options.tls.cert;
    env.TLS_KEY = options.tls.key;
  }
  Object.assign(env, options.env ?? {});
  const child = spawn(process.execPath, [BROKER_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const broker = wrap('ours', child, ports);
  await waitReady(broker, async () => (await httpStatus(ports.http, '/readyz')) === 200, `readyz on ${ports.http}`);
  return broker;
}

/** Debian's mosquitto with a generated conf; ready when every listener accepts TCP. */
export function startMosquitto(conf: string[] = [], options: { tls?: { cert: string; key: string }; listener?: string[] } = {}): Promise<RunningBroker> {
  return withPortRetry(() => launchMosquitto(conf, options));
}

async function launchMosquitto(conf: string[], options: { tls?: { cert: string; key: string }; listener?: string[] }): Promise<RunningBroker> {
  const ports = await allocatePorts(options.tls !== undefined);
  const dir = mkdtempSync(join(tmpdir(), 'e2e-mosquitto-'));
  const lines = [
    'per_listener_settings false',
    ...(conf.some((line) => line.startsWith('allow_anonymous')) ? [] : ['allow_anonymous true']),
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    ...conf,
    `listener ${ports.mqtt} 127.0.0.1`,
    ...(options.listener ?? []),
    `listener ${ports.ws} 127.0.0.1`,
    'protocol websockets',
  ];
  if (options.tls) {
    lines.push(`listener ${ports.tls} 127.0.0.1`, `certfile ${options.tls.cert}`, `keyfile ${options.tls.key}`);
    lines.push(`listener ${ports.wss} 127.0.0.1`, 'protocol websockets', `certfile ${options.tls.cert}`, `keyfile ${options.tls.key}`);
  }
  const confPath = join(dir, 'mosquitto.conf');
  writeFileSync(confPath, `${lines.join('\n')}\n`);
  const child = spawn('mosquitto', ['-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const broker = wrap('mosquitto', child, ports);
  const all = [ports.mqtt, ports.ws, ...(options.tls ? [ports.tls!, ports.wss!] : [])];
  await waitReady(broker, async () => (await Promise.all(all.map(tcpOpen))).every(Boolean), `listeners ${all.join(',')}`);
  return broker;
}

/** The broker selected by E2E_TARGET, configured with the options' env or mosquitto lines. */
export function startTarget(options: TargetOptions = {}): Promise<RunningBroker> {
  if (targetKind() === 'mosquitto') {
    return startMosquitto(options.mosquitto ?? [], { ...(options.tls ? { tls: options.tls } : {}), listener: options.mosquittoListener ?? [] });
  }
  return startBroker(options);
}

/** Resident set size of a process in kB, from /proc/<pid>/status. */
export async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}
