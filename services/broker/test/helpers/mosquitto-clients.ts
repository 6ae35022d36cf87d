/**
 * Debian's `mosquitto_sub` / `mosquitto_pub` as clients of the broker under test. A subscriber
 * runs with `-d` so that its "received SUBACK" debug line tells when it is subscribed, and with
 * `-F` so that each message prints as one `MSG|topic|qos|retain|payload` line, distinct from
 * debug output. It runs under `stdbuf -oL` so its lines arrive as they are printed.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';

export interface SubMessage {
  topic: string;
  qos: number;
  retain: boolean;
  payload: string;
}

export interface RunningSub {
  child: ChildProcess;
  /** Resolves once the SUBACK arrived (rejects if the process exits first or after 5 s). */
  subscribed: Promise<void>;
  /** Resolves with the messages once the process exits (after -C count or -W timeout). */
  done: Promise<{ messages: SubMessage[]; code: number | null; output: string }>;
  kill(signal?: NodeJS.Signals): void;
}

export function mosquittoSub(args: string[]): RunningSub {
  // stdbuf: mosquitto_sub block-buffers stdout into a pipe, hiding the SUBACK line until exit.
  const child = spawn('stdbuf', ['-oL', 'mosquitto_sub', '-d', '-F', 'MSG|%t|%q|%r|%p', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let onSuback: (() => void) | undefined;
  let onExit: ((err: Error) => void) | undefined;
  const subscribed = new Promise<void>((resolve, reject) => {
    onSuback = resolve;
    onExit = reject;
    setTimeout(() => reject(new Error(`mosquitto_sub not subscribed within 5 s: ${output}`)), 5000).unref();
  });
  subscribed.catch(() => {});
  const append = (d: Buffer) => {
    output += d.toString();
    if (/received SUBACK/i.test(output)) onSuback?.();
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const done = new Promise<{ messages: SubMessage[]; code: number | null; output: string }>((resolve) => {
    // 'close', not 'exit': the last lines may still be in the pipe when the process exits
    child.once('close', (code) => {
      onExit?.(new Error(`mosquitto_sub exited (${code}) before SUBACK: ${output}`));
      const messages = output
        .split('\n')
        .filter((line) => line.startsWith('MSG|'))
        .map((line) => {
          const [, topic, qos, retain, ...payload] = line.split('|');
          return { topic, qos: Number(qos), retain: retain === '1', payload: payload.join('|') };
        });
      resolve({ messages, code, output });
    });
  });
  return { child, subscribed, done, kill: (signal = 'SIGTERM') => child.kill(signal) };
}

export function mosquittoPub(args: string[], timeoutMs = 5000): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('mosquitto_pub', args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, output: stdout + stderr });
    });
  });
}
