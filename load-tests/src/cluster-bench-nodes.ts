// Processes for `npm run bench:cluster`: a redis-server (no persistence) on a free port, and
// cluster nodes on it: ours (services/broker/dist/src/main.js with REDIS_URL and NODE_ID) or
// clustered Aedes (cluster-bench-aedes.js). Each node is ready when it completes an MQTT
// CONNECT. Redis is read with redis-cli (INFO, CLIENT LIST). Processes, ports and readiness come
// from @mqtt-broker/test-support (every process is killed on exit).

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { freePorts, type ManagedProcess, onFreshPorts, redisCli, startProcess, startRedis as startTestRedis, waitReady } from '@mqtt-broker/test-support';
import { BenchClient } from './bench-client.js';
import { OURS_MAIN } from './brokers.js';

export { redisCli } from '@mqtt-broker/test-support';

const AEDES_CLUSTER = join(fileURLToPath(new URL('.', import.meta.url)), 'cluster-bench-aedes.js');

export type ClusterKind = 'ours' | 'aedes';

const exec = promisify(execFile);

/**
 * Moves `pid` and all its threads to the CPU list `cpus` (`taskset -a -cp`); threads it starts
 * later inherit it. Used after a process is up, so the pid measured stays the process itself.
 */
export async function pinTo(pid: number, cpus: string): Promise<void> {
  await exec('taskset', ['-a', '-cp', cpus, String(pid)], { timeout: 5_000 });
}

export interface NodeOptions {
  /** taskset CPU list for the node (undefined: not pinned). */
  cpu?: string;
  /** A directory: the node runs with `--cpu-prof --cpu-prof-dir <dir>` (profile written on exit). */
  cpuProfDir?: string;
  /**
   * ours: the node's default settings (only DRAIN_SECONDS=1), as a new user runs it, instead of
   * the bench's limits (queue 100,000 as for the other brokers, log level warn, no $SYS).
   */
  defaults?: boolean;
}

export interface Proc {
  pid: number;
  port: number;
  /** ours: the HTTP port (/metrics). */
  httpPort?: number;
  readonly exited: boolean;
  output(): string;
  stop(): Promise<void>;
}

function procOf(p: ManagedProcess, port: number, httpPort?: number): Proc {
  return {
    pid: p.pid,
    port,
    ...(httpPort !== undefined ? { httpPort } : {}),
    get exited() {
      return p.exited;
    },
    output: () => p.output().slice(-4_000),
    async stop() {
      await p.stop(3_000);
    },
  };
}

export interface RunningRedis extends Proc {
  /** total_commands_processed (INFO stats). */
  commands(): Promise<number>;
  /** Connected clients (INFO clients). */
  clients(): Promise<number>;
  /** Clients Redis disconnected for passing their output buffer limit (pub/sub links under a flood). */
  outputBufferDisconnections(): Promise<number>;
}

export async function startRedis(cpu?: string): Promise<RunningRedis> {
  // Redis logs each client it closes for passing its output buffer limit (INFO has no counter in 7.0)
  let cut = 0;
  const redis = await startTestRedis({
    onOutput: (text) => {
      for (const line of text.split('\n')) {
        if (!line.includes('overcoming of output buffer limits')) continue;
        cut++;
        process.stderr.write(`redis: ${line.trim()}\n`); // which connection (name, addr, cmd, omem)
      }
    },
  });
  const port = redis.port;
  if (cpu !== undefined) await pinTo(redis.pid, cpu);
  const stat = async (section: string, field: string) => Number(new RegExp(`^${field}:(\\d+)`, 'm').exec(await redisCli(port, 'INFO', section))?.[1] ?? Number.NaN);
  return {
    pid: redis.pid,
    port,
    get exited() {
      return redis.exited;
    },
    output: () => redis.output().slice(-4_000),
    commands: () => stat('stats', 'total_commands_processed'),
    clients: () => stat('clients', 'connected_clients'),
    outputBufferDisconnections: async () => cut,
    stop: () => redis.stop(),
  };
}

async function mqttReady(port: number): Promise<boolean> {
  try {
    (await BenchClient.connect({ host: '127.0.0.1', port, clientId: `ready-${process.pid}-${port}`, version: 4 }, 1_000)).close();
    return true;
  } catch {
    return false;
  }
}

/** One cluster node on `redisPort`, ready when it completes a CONNECT (retried on fresh ports on a clash). */
export async function startNode(kind: ClusterKind, nodeId: string, redisPort: number, options: NodeOptions = {}): Promise<Proc> {
  const p = await onFreshPorts(() => launchNode(kind, nodeId, redisPort, options));
  if (options.cpu !== undefined) await pinTo(p.pid, options.cpu);
  return p;
}

async function launchNode(kind: ClusterKind, nodeId: string, redisPort: number, options: NodeOptions): Promise<Proc> {
  // Node 20 does not expand ${pid} in --cpu-prof-name: the start time keeps the runs of one node id apart
  const prof = options.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir, '--cpu-prof-name', `${nodeId}-${Date.now()}.cpuprofile`];
  const [port, httpPort] = await freePorts(2);
  let p: Proc;
  let proc: ManagedProcess;
  if (kind === 'ours') {
    const limits = options.defaults === true ? { DRAIN_SECONDS: '1' } : { LOG_LEVEL: 'warn', SYS_INTERVAL_SECONDS: '0', DRAIN_SECONDS: '0', MAX_INFLIGHT: '100', MAX_QUEUED_MESSAGES: '100000' };
    const env = {
      ...process.env,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      NODE_ID: nodeId,
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(port),
      MQTT_WS_PORT: 'off',
      HTTP_PORT: String(httpPort),
      GRPC_PORT: 'off',
      ...limits,
    };
    proc = startProcess(process.execPath, [...prof, OURS_MAIN], { env, keepChars: 100_000 });
    p = procOf(proc, port, httpPort);
  } else {
    proc = startProcess(process.execPath, [...prof, AEDES_CLUSTER, '--port', String(port), '--redis-port', String(redisPort), '--id', nodeId], { keepChars: 100_000 });
    p = procOf(proc, port);
  }
  await waitReady(proc, () => mqttReady(port), `${kind} node ${nodeId} on port ${port}`, { timeoutMs: 15_000, intervalMs: 100 });
  return p;
}
