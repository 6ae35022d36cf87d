/**
 * Test harness: real `redis-server` processes on free ports (never a mock). `startRedis()` runs
 * one with no persistence; `startRedisCluster()` runs three with `--cluster-enabled yes` and joins
 * them with `redis-cli --cluster create` (three masters, no replicas), waiting until every node
 * reports `cluster_state:ok`. Every process is killed at process exit as a last resort.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await exec('redis-cli', ['-p', String(port), ...args], { timeout: 10_000 });
  return stdout;
}

export interface RunningRedis {
  port: number;
  url: string;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** Starts a fresh (empty) server on the same port after kill(). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function waitPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await redisCli(port, 'PING')).trim() === 'PONG') return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING in ${timeoutMs} ms`);
    await sleep(50);
  }
}

function spawnRedis(port: number, extra: string[], dir: string): ChildProcess {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra], {
    stdio: 'ignore',
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/**
 * A free port is picked by binding port 0 and closing it, so a process started beside this one may
 * take it before redis-server binds it: redis-server then exits, and the start is retried on a
 * fresh port.
 */
async function startOne(extra: string[] = []): Promise<RunningRedis & { dir: string }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'redis-test-'));
    const child = spawnRedis(port, extra, dir);
    try {
      await waitPing(port, 5000);
      return handleOf(port, dir, child, extra);
    } catch (error) {
      const exited = child.exitCode !== null || child.signalCode !== null;
      await killChild(child);
      rmSync(dir, { recursive: true, force: true });
      if (!exited || attempt >= 3) throw error;
    }
  }
}

function handleOf(port: number, dir: string, first: ChildProcess, extra: string[]): RunningRedis & { dir: string } {
  let child = first;
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      await killChild(child);
    },
    async restart() {
      await killChild(child);
      child = spawnRedis(port, extra, dir);
      await waitPing(port, 5000);
    },
    async stop() {
      await killChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One redis-server on a free port, no persistence. */
export async function startRedis(): Promise<RunningRedis> {
  return startOne();
}

export interface RunningRedisCluster {
  nodes: Array<{ host: string; port: number }>;
  /** host:port,host:port,... (the REDIS_CLUSTER_NODES form). */
  spec: string;
  stop(): Promise<void>;
}

/** Three masters joined into a Redis Cluster (all 16384 slots covered). */
export async function startRedisCluster(): Promise<RunningRedisCluster> {
  const servers: Array<RunningRedis & { dir: string }> = [];
  try {
    for (let i = 0; i < 3; i++) {
      servers.push(await startOne(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000']));
    }
    const addrs = servers.map((s) => `127.0.0.1:${s.port}`);
    await exec('redis-cli', ['--cluster', 'create', ...addrs, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 20_000 });
    const deadline = Date.now() + 15_000;
    for (const s of servers) {
      while (!(await redisCli(s.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error('Redis Cluster did not reach cluster_state:ok');
        await sleep(100);
      }
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
