// Starting and stopping the brokers under comparison, each as its own process on fresh free
// ports, optionally pinned to a CPU with `taskset -c` (taskset execs the broker, so the pid we
// hold is the broker's own and /proc/<pid> measures it):
// - ours: services/broker/dist/src/main.js, configured by environment, ready when GET /readyz
//   answers 200 and the MQTT port completes a CONNECT; `ours-uws` and `ours-ws` are the same
//   broker with WS_ENGINE forced (uWebSockets.js or ws), for MQTT over WebSocket only;
// - mosquitto: `mosquitto -c` a generated conf with the same in-flight and queue limits;
// - aedes: load-tests/dist/src/aedes-server.js (aedes 1.x over net.createServer, and over the `ws`
//   server with createWebSocketStream for WebSocket);
// - echo: load-tests/dist/src/scenarios/echo-server.js, PUBLISH bytes forwarded unchanged to every
//   subscriber (no matching, no state): the floor set by the generator, Node and the machine.
// With transport `ws` each also opens a WebSocket listener (path /mqtt) beside its TCP one and is
// ready once a CONNECT over it completes too.
// Ports, processes, readiness polling and the retry on a port taken meanwhile come from
// @mqtt-broker/test-support; every started process is SIGKILLed on process exit as a last resort.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, httpStatus, killAllProcesses, onFreshPorts, startProcess, waitReady } from '@mqtt-broker/test-support';
import { loadUws } from '@mqtt-broker/transport';
import { BenchClient } from './bench-client.js';
import type { Transport } from './bench-link.js';

export { freePort } from '@mqtt-broker/test-support';

export type BrokerName = 'ours' | 'ours-uws' | 'ours-ws' | 'mosquitto' | 'aedes' | 'echo';
/** The brokers compared by default over TCP. */
export const BROKERS: readonly BrokerName[] = ['ours', 'mosquitto', 'aedes'];
/** The brokers compared by default over WebSocket: ours once per engine. */
export const WS_BROKERS: readonly BrokerName[] = ['ours-uws', 'ours-ws', 'mosquitto', 'aedes'];
/** Every broker `--brokers` accepts. */
export const ALL_BROKERS: readonly BrokerName[] = ['ours', 'ours-uws', 'ours-ws', 'mosquitto', 'aedes', 'echo'];

/** WS_ENGINE of ours' variants (ours itself runs the default, auto). */
const OURS_ENGINE: Partial<Record<BrokerName, 'uws' | 'ws'>> = { 'ours-uws': 'uws', 'ours-ws': 'ws' };

/** Whether `name` is benchmarked over `transport`: the engine variants only matter over WebSocket, echo speaks TCP only. */
export function servesTransport(name: BrokerName, transport: Transport): boolean {
  if (name === 'echo') return transport === 'tcp';
  if (OURS_ENGINE[name] !== undefined) return transport === 'ws';
  return true;
}

export interface BrokerConfig {
  /** CPU list for taskset -c (e.g. "0"); undefined: not pinned. */
  cpu?: string;
  /** Outgoing QoS 1/2 messages in flight per client. */
  maxInflight: number;
  /** Messages queued per client behind the in-flight window. */
  maxQueued: number;
  /** ms to wait for readiness. */
  readyTimeoutMs?: number;
  /** ws: also listen for MQTT over WebSocket (RunningBroker.wsPort); default tcp. */
  transport?: Transport;
}

export const DEFAULT_BROKER_CONFIG: BrokerConfig = { maxInflight: 100, maxQueued: 100_000 };

export interface RunningBroker {
  name: BrokerName;
  pid: number;
  /** The MQTT TCP port. */
  port: number;
  /** The MQTT-SN gateway's UDP port: ours only (Mosquitto and Aedes have no MQTT-SN). */
  mqttsnPort: number | undefined;
  /** The MQTT-over-WebSocket port (path /mqtt), when started with transport ws. */
  wsPort: number | undefined;
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

/** Kills every broker still running (SIGKILL); for Ctrl-C. */
export function killAllBrokers(): void {
  killAllProcesses();
}

/** Why `name` cannot be started here, or null when it can. */
export function brokerUnavailable(name: BrokerName): string | null {
  if (name === 'aedes') return existsSync(AEDES_SERVER) ? null : `${AEDES_SERVER} not built`;
  if (name === 'echo') return existsSync(ECHO_SERVER) ? null : `${ECHO_SERVER} not built`;
  if (name === 'mosquitto') return null;
  if (!existsSync(OURS_MAIN)) return `${OURS_MAIN} not built`;
  // The broker runs on this process's Node.js (process.execPath), so the same builds load there.
  if (OURS_ENGINE[name] === 'uws' && loadUws().build === undefined) return `no uWebSockets.js build loads on Node.js ${process.version} (${loadUws().failures.join('; ')})`;
  return null;
}

export function brokerAvailable(name: BrokerName): boolean {
  return brokerUnavailable(name) === null;
}

/**
 * The conf for `mosquitto -c`. Its WebSocket listener needs the TCP one beside it: Mosquitto
 * 2.0.11 with only a websockets listener exits with "Unable to start any listening sockets".
 */
export function mosquittoConf(port: number, c: BrokerConfig, wsPort?: number): string {
  return [
    `listener ${port} 127.0.0.1`,
    ...(wsPort === undefined ? [] : [`listener ${wsPort} 127.0.0.1`, 'protocol websockets']),
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

async function mqttReady(port: number, transport: Transport = 'tcp'): Promise<boolean> {
  try {
    const c = await BenchClient.connect(
      { transport, host: '127.0.0.1', port, clientId: `ready-probe-${process.pid}-${transport}`, version: 4 },
      1_000,
    );
    c.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `name` on fresh free ports and resolves once it accepts MQTT connections (and, ours,
 * GET /readyz answers 200); a start whose port was taken meanwhile is retried on fresh ports.
 */
export function startBroker(name: BrokerName, config: BrokerConfig = DEFAULT_BROKER_CONFIG): Promise<RunningBroker> {
  return onFreshPorts(() => launch(name, config));
}

async function launch(name: BrokerName, config: BrokerConfig): Promise<RunningBroker> {
  const [port, httpPort, grpcPort, freeWsPort, mqttsnPort] = await freePorts(5);
  const wsPort = config.transport === 'ws' && name !== 'echo' ? freeWsPort : undefined;
  let cmd: string;
  let args: string[];
  let env: NodeJS.ProcessEnv = process.env;
  let tmp: string | undefined;
  if (name === 'mosquitto') {
    tmp = mkdtempSync(join(tmpdir(), 'bench-mosquitto-'));
    const conf = join(tmp, 'mosquitto.conf');
    writeFileSync(conf, mosquittoConf(port, config, wsPort));
    cmd = 'mosquitto';
    args = ['-c', conf];
  } else if (name === 'aedes' || name === 'echo') {
    cmd = process.execPath;
    args = [name === 'aedes' ? AEDES_SERVER : ECHO_SERVER, '--port', String(port), ...(wsPort === undefined ? [] : ['--ws-port', String(wsPort)])];
  } else {
    cmd = process.execPath;
    args = [OURS_MAIN];
    env = {
      ...process.env,
      MQTT_PORT: String(port),
      MQTT_WS_PORT: wsPort === undefined ? 'off' : String(wsPort),
      WS_ENGINE: OURS_ENGINE[name] ?? 'auto',
      HTTP_PORT: String(httpPort),
      GRPC_PORT: String(grpcPort),
      LOG_LEVEL: 'warn',
      SYS_INTERVAL_SECONDS: '0',
      DRAIN_SECONDS: '0',
      MAX_INFLIGHT: String(config.maxInflight),
      MAX_QUEUED_MESSAGES: String(config.maxQueued),
      // The MQTT-SN scenarios' clients all come from 127.0.0.1, one UDP port each: the gateway's
      // per-address protection (500 datagrams/s and 1,000 clients per source IP) would measure
      // the limiter, not the gateway, so it is off here (0 = no rate limit).
      MQTTSN_PORT: String(mqttsnPort),
      MQTTSN_RATE_PER_ADDRESS: '0',
      MQTTSN_MAX_CLIENTS_PER_ADDRESS: '1000000',
    };
  }
  if (config.cpu !== undefined) {
    args = ['-c', config.cpu, cmd, ...args];
    cmd = 'taskset';
  }
  const dir = tmp;
  const proc = startProcess(cmd, args, { env, keepChars: 100_000, ...(dir !== undefined ? { onExit: () => rmSync(dir, { recursive: true, force: true }) } : {}) });
  const broker: RunningBroker = {
    name,
    pid: proc.pid,
    port,
    mqttsnPort: name === 'ours' ? mqttsnPort : undefined,
    wsPort,
    get exited() {
      return proc.exited;
    },
    exitStatus: () => (proc.exited ? (typeof proc.exitValue === 'number' ? `exit ${proc.exitValue}` : proc.exitValue) : null),
    output: () => proc.output().slice(-4_000),
    async stop(graceMs = 3_000) {
      await proc.stop(graceMs);
    },
  };
  const ours = name.startsWith('ours');
  const ready = async () =>
    (!ours || (await httpStatus(httpPort, '/readyz')) === 200) && (await mqttReady(port)) && (wsPort === undefined || (await mqttReady(wsPort, 'ws')));
  await waitReady(proc, ready, `${name} on port ${port}`, { timeoutMs: config.readyTimeoutMs ?? 15_000 });
  return broker;
}
