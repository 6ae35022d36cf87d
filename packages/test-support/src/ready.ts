/**
 * Waiting for a started child process to become ready: poll a probe (HTTP /readyz, TCP connect,
 * redis PING, an MQTT CONNECT) with a bound, failing early and with the child's output when it
 * exits first. An exit whose output says the address was in use is flagged `portClash` so that
 * `onFreshPorts` can retry on other ports.
 */
import type { ManagedProcess } from './process.js';
import { sleep } from './wait.js';

const PORT_CLASH = /EADDRINUSE|address already in use/i;

export class ExitedBeforeReadyError extends Error {
  /** The child's output says a port it was given was already taken. */
  readonly portClash: boolean;
  constructor(
    readonly what: string,
    readonly exitValue: number | string | null,
    readonly output: string,
  ) {
    super(`${what}: exited (${exitValue}) before ready; output: ${output.slice(-2000)}`);
    this.name = 'ExitedBeforeReadyError';
    this.portClash = PORT_CLASH.test(output);
  }
}

export class NotReadyError extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    readonly output: string,
  ) {
    super(`${what}: not ready within ${timeoutMs} ms; output: ${output.slice(-2000)}`);
    this.name = 'NotReadyError';
  }
}

export interface ReadyOptions {
  /** Bound on the whole wait (default 15 s). */
  timeoutMs?: number;
  /** Pause between probes (default 50 ms). */
  intervalMs?: number;
}

/**
 * Resolves once `probe` returns true. Throws ExitedBeforeReadyError if the process exits first,
 * NotReadyError after the bound (the process is then SIGKILLed and awaited).
 */
export async function waitReady(proc: ManagedProcess, probe: () => Promise<boolean>, what: string, options: ReadyOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exited) throw new ExitedBeforeReadyError(what, proc.exitValue, proc.output());
    let ok = false;
    try {
      ok = await probe();
    } catch {
      ok = false;
    }
    if (ok) return;
    if (proc.exited) throw new ExitedBeforeReadyError(what, proc.exitValue, proc.output());
    if (Date.now() > deadline) {
      await proc.killAndWait();
      throw new NotReadyError(what, timeoutMs, proc.output());
    }
    await sleep(options.intervalMs ?? 50);
  }
}
