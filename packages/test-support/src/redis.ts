/**
 * Real `redis-server` processes on free ports (never a mock). `startRedis()` runs one with no
 * persistence, ready when it answers PING; `startRedisCluster()` runs three with
 * `--cluster-enabled yes`, joins them with `redis-cli --cluster create` (three masters, no
 * replicas) and waits until every node reports `cluster_state:ok`. A port taken between picking
 * and binding makes redis-server exit with "Address already in use": the start is retried on a
 * fresh port (onFreshPorts).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, freePorts, onFreshPorts } from './ports.js';
import { type ManagedProcess, startProcess } from './process.js';
import { waitReady } from './ready.js';
import { waitUntil } from './wait.js';

const exec = promisify(execFile);

/** `redis-cli -p <port> <args...>` on 127.0.0.1; resolves with its stdout (10 s bound). */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await exec('redis-cli', ['-p', String(port), ...args], { timeout: 10_000 });
  return stdout;
}

async function answersPing(port: number): Promise<boolean> {
  try {
    return (await redisCli(port, 'PING')).trim() === 'PONG';
  } catch {
    return false;
  }
}

export interface RedisOptions {
  /** Extra redis-server arguments. */
  args?: string[];
  /**
   * Cluster mode: `--cluster-enabled yes` with its bus on a second free port given as
   * `--cluster-port` (the default bus port, port + 10000, is past 65535 for a port above 55535 and
   * nobody checked it was free).
   */
  cluster?: boolean;
  /** Each chunk of redis-server's log (its stdout). */
  onOutput?: (text: string) => void;
  /** Bound on the PING wait (default 10 s). */
  readyTimeoutMs?: number;
}

export interface RunningRedis {
  port: number;
  /** redis://127.0.0.1:<port> */
  url: string;
  /** Its --dir (removed by stop()). */
  dir: string;
  /** The current redis-server's pid (changes on restart()). */
  readonly pid: number;
  readonly exited: boolean;
  /** Its log so far (the current process). */
  output(): string;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** Starts a fresh (empty) server on the same port after kill(), resolving once it answers PING. */
  restart(): Promise<void>;
  /** SIGKILL, wait, remove its directory. */
  stop(): Promise<void>;
}

function spawnRedis(port: number, busPort: number | undefined, dir: string, options: RedisOptions): ManagedProcess {
  const cluster = busPort === undefined ? [] : ['--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000'];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...cluster, ...(options.args ?? [])];
  return startProcess('redis-server', args, { keepChars: 100_000, ...(options.onOutput ? { onOutput: options.onOutput } : {}) });
}

async function launch(options: RedisOptions): Promise<RunningRedis> {
  const [port, busPort] = options.cluster ? await freePorts(2) : [await freePort(), undefined];
  const dir = mkdtempSync(join(tmpdir(), 'redis-test-'));
  const timeoutMs = options.readyTimeoutMs ?? 10_000;
  let proc = spawnRedis(port, busPort, dir, options);
  try {
    await waitReady(proc, () => answersPing(port), `redis-server on port ${port}`, { timeoutMs });
  } catch (error) {
    await proc.killAndWait();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return proc.pid;
    },
    get exited() {
      return proc.exited;
    },
    output: () => proc.output(),
    async kill() {
      await proc.killAndWait();
    },
    async restart() {
      await proc.killAndWait();
      proc = spawnRedis(port, busPort, dir, options);
      await waitReady(proc, () => answersPing(port), `redis-server restarted on port ${port}`, { timeoutMs });
    },
    async stop() {
      await proc.killAndWait();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One redis-server on a free port, no persistence; resolves once it answers PING. */
export function startRedis(options: RedisOptions = {}): Promise<RunningRedis> {
  return onFreshPorts(() => launch(options));
}

export interface RunningRedisCluster {
  nodes: Array<{ host: string; port: number }>;
  /** host:port,host:port,... (the REDIS_CLUSTER_NODES form). */
  spec: string;
  stop(): Promise<void>;
}

/** Three masters joined into a Redis Cluster (all 16384 slots covered), every node cluster_state:ok. */
export async function startRedisCluster(): Promise<RunningRedisCluster> {
  const servers: RunningRedis[] = [];
  try {
    for (let i = 0; i < 3; i++) servers.push(await startRedis({ cluster: true }));
    const addrs = servers.map((s) => `127.0.0.1:${s.port}`);
    await exec('redis-cli', ['--cluster', 'create', ...addrs, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    for (const s of servers) {
      await waitUntil(async () => (await redisCli(s.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'), 20_000, `Redis Cluster node ${s.port} cluster_state:ok`, 100);
    }
  } catch (e) {
    await Promise.all(servers.map((s) => s.stop()));
    throw e;
  }
  return {
    nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    spec: servers.map((s) => `127.0.0.1:${s.port}`).join(','),
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
