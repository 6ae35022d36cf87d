/** Test helpers: temp dirs, the real mosquitto broker (via @mqtt-broker/test-support) and its command line clients. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, onFreshPorts, startProcess, tcpOpen, waitReady } from '@mqtt-broker/test-support';

export const exec = promisify(execFile);

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'mqtt-auth-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface RunningMosquitto {
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts the real mosquitto with the given extra config lines; resolves once it accepts TCP
 * (bounded by test-support's readiness wait). A port taken by another process between picking and
 * binding makes mosquitto exit with "address already in use": the start is retried on a fresh port.
 */
export function startMosquitto(dir: string, lines: string[]): Promise<RunningMosquitto> {
  return onFreshPorts(() => launchMosquitto(dir, lines));
}

async function launchMosquitto(dir: string, lines: string[]): Promise<RunningMosquitto> {
  const port = await freePort();
  const config = join(dir, `mosquitto-${port}.conf`);
  const user = userInfo().username;
  await writeFile(config, [`listener ${port} 127.0.0.1`, `user ${user}`, ...lines, ''].join('\n'));
  const proc = startProcess('mosquitto', ['-c', config]);
  await waitReady(proc, () => tcpOpen(port), `mosquitto on port ${port}`);
  return {
    port,
    async stop() {
      await proc.stop(2000);
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
