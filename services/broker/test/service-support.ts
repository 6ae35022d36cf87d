/**
 * Spawns the real `mqtt-broker` entry point (dist/src/main.js) on port 0 everywhere and learns
 * the bound ports from its startup log line. Every child is killed at exit as a last resort.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type HttpAnswer, httpGet as get, sleep, waitUntil } from '@mqtt-broker/test-support';

export const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export interface Spawned {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Parsed JSON log lines so far. */
  logs(): Array<Record<string, unknown>>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnCli(args: string[], env: Record<string, string> = {}, input?: string): Spawned {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  if (input !== undefined) child.stdin?.end(input);
  else child.stdin?.end();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close': the output pipes are read to the end too (tests read the last log lines after exit)
    child.once('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    logs: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    exit,
  };
}

export interface RunningBroker extends Spawned {
  tcp: number;
  ws: number | undefined;
  tls: number | undefined;
  wss: number | undefined;
  http: number;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start a broker on 127.0.0.1 with every enabled port 0; resolves once it logged "started". */
export async function startBroker(env: Record<string, string> = {}, timeoutMs = 10_000): Promise<RunningBroker> {
  const s = spawnCli([], {
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: '0',
    MQTT_WS_PORT: '0',
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    DRAIN_SECONDS: '1',
    SYS_INTERVAL_SECONDS: '0',
    ...env,
  });
  const deadline = Date.now() + timeoutMs;
  let started: Record<string, unknown> | undefined;
  while (started === undefined) {
    started = s.logs().find((l) => l.event === 'started');
    if (started !== undefined) break;
    if (s.child.exitCode !== null || Date.now() > deadline) {
      s.child.kill('SIGKILL');
      throw new Error(`broker did not start: ${s.stderr()} ${s.stdout()}`);
    }
    await sleep(20);
  }
  const listeners = started.listeners as Array<{ transport: string; port: number }>;
  const port = (t: string): number | undefined => listeners.find((l) => l.transport === t)?.port;
  return {
    ...s,
    tcp: port('tcp') ?? -1,
    ws: port('ws'),
    tls: port('tls'),
    wss: port('wss'),
    http: started.httpPort as number,
    async stop() {
      if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGTERM');
      const timer = setTimeout(() => s.child.kill('SIGKILL'), 8000);
      const result = await s.exit;
      clearTimeout(timer);
      return result;
    },
  };
}

/** GET on 127.0.0.1 (3 s bound): status, body and content type. */
export function httpGet(port: number, path: string): Promise<HttpAnswer> {
  return get(port, path, 3000);
}

/** Value of one sample in Prometheus text, e.g. metric('mqtt_messages_published_total{qos="1"}'). */
export function metricValue(text: string, sample: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return undefined;
}

/** Bounded poll (20 ms) of `predicate`; throws naming `what` after timeoutMs. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  await waitUntil(predicate, timeoutMs, `timed out waiting for ${what}`);
}
