/** Test helpers: temp dirs, free ports, the real mosquitto broker and its command line clients. */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const exec = promisify(execFile);

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'mqtt-auth-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

export interface RunningMosquitto {
  port: number;
  stop(): Promise<void>;
}

/** Starts the real mosquitto with the given extra config lines; resolves once it accepts TCP. */
export async function startMosquitto(dir: string, lines: string[]): Promise<RunningMosquitto> {
  const port = await freePort();
  const config = join(dir, `mosquitto-${port}.conf`);
  const user = userInfo().username;
  await writeFile(config, [`listener ${port} 127.0.0.1`, `user ${user}`, ...lines, ''].join('\n'));
  const child = spawn('mosquitto', ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const deadline = Date.now() + 5000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`mosquitto did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    port,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Runs mosquitto_pub; resolves with its exit code (0 = connected and published). */
export async function mosquittoPub(port: number, args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await exec('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}
