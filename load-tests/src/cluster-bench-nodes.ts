// Processes for `npm run bench:cluster`: a redis-server (no persistence) on a free port, and
// cluster nodes on it: ours (services/broker/dist/src/main.js with REDIS_URL and NODE_ID) or
// clustered Aedes (cluster-bench-aedes.js). Each node is ready when it completes an MQTT
// CONNECT. Redis is read with redis-cli (INFO, CLIENT LIST). Every process is killed on exit.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BenchClient } from './bench-client.js';
import { freePort, OURS_MAIN } from './brokers.js';

const exec = promisify(execFile);
const AEDES_CLUSTER = join(fileURLToPath(new URL('.', import.meta.url)), 'cluster-bench-aedes.js');
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export type ClusterKind = 'ours' | 'aedes';

export interface Proc {
  pid: number;
  port: number;
  /** ours: the HTTP port (/metrics). */
  httpPort?: number;
  readonly exited: boolean;
  output(): string;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, port: number, httpPort?: number, onOutput?: (text: string) => void): Proc {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  const keep = (b: Buffer) => {
    const text = b.toString('utf8');
    onOutput?.(text);
    out = (out + text).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      live.delete(child);
      resolve();
    }),
  );
  return {
    pid: child.pid ?? -1,
    port,
    ...(httpPort !== undefined ? { httpPort } : {}),
    get exited() {
      return exited;
    },
    output: () => out,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await exec('redis-cli', ['-p', String(port), ...args], { timeout: 10_000 });
  return stdout;
}

export interface RunningRedis extends Proc {
  /** total_commands_processed (INFO stats). */
  commands(): Promise<number>;
  /** Connected clients (INFO clients). */
  clients(): Promise<number>;
  /** Clients Redis disconnected for passing their output buffer limit (pub/sub links under a flood). */
  outputBufferDisconnections(): Promise<number>;
}

export async function startRedis(): Promise<RunningRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
  // Redis logs each client it closes for passing its output buffer limit (INFO has no counter in 7.0)
  let cut = 0;
  const p = run('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], process.env, port, undefined, (text) => {
    for (const line of text.split('\n')) {
      if (!line.includes('overcoming of output buffer limits')) continue;
      cut++;
      process.stderr.write(`redis: ${line.trim()}\n`); // which connection (name, addr, cmd, omem)
    }
  });
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      if ((await redisCli(port, 'PING')).trim() === 'PONG') break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || p.exited) throw new Error(`redis-server did not start: ${p.output()}`);
    await sleep(50);
  }
  const stat = async (section: string, field: string) => Number(new RegExp(`^${field}:(\\d+)`, 'm').exec(await redisCli(port, 'INFO', section))?.[1] ?? Number.NaN);
  return {
    ...p,
    get exited() {
      return p.exited;
    },
    commands: () => stat('stats', 'total_commands_processed'),
    clients: () => stat('clients', 'connected_clients'),
    outputBufferDisconnections: async () => cut,
    async stop() {
      await p.stop();
      rmSync(dir, { recursive: true, force: true });
    },
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

/** One cluster node on `redisPort`, ready when it completes a CONNECT. */
export async function startNode(kind: ClusterKind, nodeId: string, redisPort: number): Promise<Proc> {
  const port = await freePort();
  let p: Proc;
  if (kind === 'ours') {
    const httpPort = await freePort();
    const env = {
      ...process.env,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      NODE_ID: nodeId,
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(port),
      MQTT_WS_PORT: 'off',
      HTTP_PORT: String(httpPort),
      GRPC_PORT: 'off',
      LOG_LEVEL: 'warn',
      SYS_INTERVAL_SECONDS: '0',
      DRAIN_SECONDS: '0',
      MAX_INFLIGHT: '100',
      MAX_QUEUED_MESSAGES: '100000',
    };
    p = run(process.execPath, [OURS_MAIN], env, port, httpPort);
  } else {
    p = run(process.execPath, [AEDES_CLUSTER, '--port', String(port), '--redis-port', String(redisPort), '--id', nodeId], process.env, port);
  }
  const deadline = Date.now() + 15_000;
  while (!(await mqttReady(port))) {
    if (p.exited || Date.now() > deadline) {
      await p.stop();
      throw new Error(`${kind} node ${nodeId} not ready: ${p.output()}`);
    }
    await sleep(100);
  }
  return p;
}
