/**
 * Child processes for tests and benchmarks (brokers, redis-server, mosquitto): output kept (bounded)
 * for error reports, stop = SIGTERM then SIGKILL after a grace period, resolving when the process
 * is gone. Every process started here is remembered and SIGKILLed when this process exits, as a
 * last resort when a test forgets (or fails before) its stop.
 */
import { type ChildProcess, spawn } from 'node:child_process';

/** Running children, each with how a signal reaches it (the child, or its whole process group). */
const live = new Map<ChildProcess, (signal: NodeJS.Signals) => void>();
process.on('exit', killAllProcesses);

/** SIGKILLs every process started by startProcess that is still running (for Ctrl-C handlers). */
export function killAllProcesses(): void {
  for (const signal of live.values()) signal('SIGKILL');
}

export interface ProcessOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called with each chunk of stdout or stderr text. */
  onOutput?: (text: string, stream: 'stdout' | 'stderr') => void;
  /** Characters of stdout and of stderr kept (default 1,000,000; the first ones are kept). */
  keepChars?: number;
  /** Called once after exit (cleanup of temporary directories...). */
  onExit?: () => void;
  /** 'pipe' to write to the child's stdin through `child.stdin` (default 'ignore'). */
  stdin?: 'ignore' | 'pipe';
  /**
   * Start the child in a process group of its own and send every signal to the group: a shell
   * command line (`bash -c 'npm ci && npm start'`) and everything it started stop together.
   */
  group?: boolean;
}

export interface ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: boolean;
  /** Exit code, or the signal's name; null while running. */
  readonly exitValue: number | string | null;
  /** Resolves with exitValue once the process is gone. */
  readonly gone: Promise<number | string | null>;
  stdout(): string;
  stderr(): string;
  /** stderr then stdout, for error messages. */
  output(): string;
  /** SIGTERM, SIGKILL after `graceMs` (5 s); resolves with the exit code or signal once gone. */
  stop(graceMs?: number): Promise<number | string | null>;
  /** SIGKILL now (does not wait). */
  kill(): void;
  /** SIGKILL and wait until gone. */
  killAndWait(): Promise<void>;
  /** Sends `signal` (to the group with `group`), e.g. SIGINT for what Ctrl-C does in a terminal. */
  signal(signal: NodeJS.Signals): void;
}

export function startProcess(command: string, args: readonly string[], options: ProcessOptions = {}): ManagedProcess {
  const group = options.group === true;
  const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'], detached: group });
  const signal = (name: NodeJS.Signals): void => {
    if (!group || child.pid === undefined) {
      child.kill(name);
      return;
    }
    try {
      process.kill(-child.pid, name);
    } catch {
      // the group is gone already
    }
  };
  live.set(child, signal);
  const keep = options.keepChars ?? 1_000_000;
  let out = '';
  let err = '';
  let exitValue: number | string | null = null;
  let exited = false;
  child.stdout?.on('data', (d: Buffer) => {
    const text = d.toString('utf8');
    options.onOutput?.(text, 'stdout');
    if (out.length < keep) out += text;
  });
  child.stderr?.on('data', (d: Buffer) => {
    const text = d.toString('utf8');
    options.onOutput?.(text, 'stderr');
    if (err.length < keep) err += text;
  });
  child.once('error', (e) => {
    err += `spawn error: ${e.message}\n`;
  });
  const gone = new Promise<number | string | null>((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      if (exited) return;
      exited = true;
      exitValue = code ?? signal;
      live.delete(child);
      options.onExit?.();
      resolve(exitValue);
    };
    // 'close' comes once the output pipes are read to the end too (log assertions after a stop
    // need the last lines); a pipe held open by someone else must not hang us: 1 s after 'exit'
    child.once('close', done);
    child.once('exit', (code, signal) => setTimeout(() => done(code, signal), 1000).unref());
    // spawn failure (ENOENT): 'error' without 'exit'
    child.once('error', () => done(null, null));
  });
  const handle: ManagedProcess = {
    child,
    pid: child.pid ?? -1,
    get exited() {
      return exited;
    },
    get exitValue() {
      return exitValue;
    },
    gone,
    stdout: () => out,
    stderr: () => err,
    output: () => `${err}${out}`,
    async stop(graceMs = 5_000) {
      if (exited) return exitValue;
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), graceMs);
      const value = await gone;
      clearTimeout(timer);
      return value;
    },
    kill() {
      if (!exited) signal('SIGKILL');
    },
    async killAndWait() {
      if (exited) return;
      signal('SIGKILL');
      await gone;
    },
    signal(name) {
      if (!exited) signal(name);
    },
  };
  return handle;
}
