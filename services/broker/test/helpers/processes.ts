/**
 * Starts the broker under test as a real child process on free ports: either our service
 * (`services/broker/dist/src/main.js`, configured by environment variables) or Debian's
 * `mosquitto` (configured by a generated conf file), with the same returned shape so that a test
 * can run against both. `startTarget` picks one from E2E_TARGET (`ours`, the default, or
 * `mosquitto`); tests whose expected behaviour is ours only skip themselves under mosquitto.
 *
 * Ports, processes and readiness come from @mqtt-broker/test-support: free ports are picked by
 * listening on port 0, a start whose port was taken meanwhile is retried on fresh ports
 * (onFreshPorts), readiness is always awaited with a bound (waitReady) and failures name the port.
 * Every process started here is killed at process exit as a last resort; tests still stop their
 * brokers in `after()`.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, type ManagedProcess, onFreshPorts, readyStatus, startProcess, tcpOpen, waitReady } from '@mqtt-broker/test-support';

export { freePort, sleep, tcpOpen } from '@mqtt-broker/test-support';

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

function wrap(kind: TargetKind, proc: ManagedProcess, ports: BrokerPorts): RunningBroker {
  return {
    kind,
    pid: proc.pid,
    ports,
    url: `mqtt://127.0.0.1:${ports.mqtt}`,
    wsUrl: `ws://127.0.0.1:${ports.ws}/mqtt`,
    stdout: () => proc.stdout(),
    stderr: () => proc.stderr(),
    get exited() {
      return proc.exited;
    },
    stop: (timeoutMs = 5000) => proc.stop(timeoutMs),
    kill: () => proc.kill(),
  };
}

async function allocatePorts(tls: boolean): Promise<BrokerPorts> {
  const [mqtt, ws, http, grpc, tlsPort, wss] = await freePorts(tls ? 6 : 4);
  return { mqtt, ws, http, grpc, ...(tls ? { tls: tlsPort, wss } : {}) };
}

/** Our broker: `node services/broker/dist/src/main.js`, ready when GET /readyz answers 200. */
export function startBroker(options: TargetOptions = {}): Promise<RunningBroker> {
  return onFreshPorts(() => launchBroker(options));
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
  const proc = startProcess(process.execPath, [BROKER_MAIN], { env });
  await waitReady(proc, async () => (await readyStatus(ports.http)) === 200, `our broker: readyz on ${ports.http}`);
  return wrap('ours', proc, ports);
}

/** Debian's mosquitto with a generated conf; ready when every listener accepts TCP. */
export function startMosquitto(conf: string[] = [], options: { tls?: { cert: string; key: string }; listener?: string[] } = {}): Promise<RunningBroker> {
  return onFreshPorts(() => launchMosquitto(conf, options));
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
  const proc = startProcess('mosquitto', ['-c', confPath], { onExit: () => rmSync(dir, { recursive: true, force: true }) });
  const all = [ports.mqtt, ports.ws, ...(options.tls ? [ports.tls!, ports.wss!] : [])];
  await waitReady(proc, async () => (await Promise.all(all.map((p) => tcpOpen(p)))).every(Boolean), `mosquitto: listeners ${all.join(',')}`);
  return wrap('mosquitto', proc, ports);
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
