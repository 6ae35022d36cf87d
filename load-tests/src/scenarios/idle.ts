// idle: open K connections (CONNECT/CONNACK, then silence) as fast as the broker accepts them,
// with at most `connectConcurrency` handshakes outstanding, and report the connect rate and the
// broker's memory per connection: (VmRSS after all are connected and settled - VmRSS before) / K.
// Keep alive is 0 so that no PINGREQ is needed while they sit idle.
//
// Against a loopback broker each connection binds a source address among 127.0.<2..65>.x: one
// source address has 28k ephemeral ports here, and the TIME_WAIT sockets that earlier runs (and
// other test suites) leave behind made connect() search for a free port, capping the rate at
// ~3k/s at 19,000 connections (10k/s with the same code at 10,000).
//
// The connections are not BenchClients: an idle one needs only its CONNECT written and its
// CONNACK checked, so `IdleConnection` does just that (one link, TCP or WebSocket, one shared
// timeout sweep, no per-connection promise chain or timer). The generator, not the broker,
// was the limit of this scenario here: at 11k conn/s it used ~80 µs of its core per connection
// with BenchClient, more than the broker's ~58.
//
// With `generatorProcesses` > 1 the connections are opened by that many forked worker processes
// (idle-worker.ts), each with its share of the connections and of the concurrency: one process
// has the same file-descriptor limit as the broker (`ulimit -Hn`, 20,000 here), so more than
// ~19,900 connections need several. The workers are started together once all are up; the rate
// is all connections over (last finish - first start). Up to 19,000 one process is faster here
// (11-12k conn/s vs 7k/s with 4 processes sharing the generator's core).

import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { type ByteLink, type LinkTarget, openLink } from '../bench-link.js';
import { encodeConnect } from '../packets.js';
import { cpuSeconds, processAlive, rssBytes } from '../proc-stats.js';
import { runQueueWaitNs } from './monitor.js';
import { emptyResult, type ScenarioOptions, type ScenarioResult } from './types.js';

const SETTLE_MS = 1_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One idle MQTT connection: CONNECT sent, CONNACK accepted, then silence until destroyed. */
export class IdleConnection {
  closed = false;
  /** Why it failed or ended, when it did. */
  error: string | undefined;
  readonly link: ByteLink;
  private settle: ((err: string | undefined) => void) | undefined;
  private readonly deadline: number;
  /** The first bytes of a CONNACK that came in pieces. */
  private head: Buffer = NO_BYTES;

  private constructor(target: LinkTarget, deadline: number, settle: (err: string | undefined) => void) {
    this.deadline = deadline;
    this.settle = settle;
    this.link = openLink(target, {
      // A CONNACK is 4 bytes (3.1.1) or more (5.0); byte 3 is the return / reason code. It may
      // come in pieces (Aedes over a WebSocket stream sends header and body as two messages).
      onData: (buf) => {
        if (this.settle === undefined) return;
        const head = this.head.length === 0 ? buf : Buffer.concat([this.head, buf]);
        if (head[0] !== 0x20) this.finish('unexpected packet instead of CONNACK');
        else if (head.length < 4) this.head = Buffer.from(head);
        else this.finish(head[3] === 0 ? undefined : `CONNACK refused: ${head[3]}`);
      },
      onClose: (reason) => {
        this.closed = true;
        this.finish(reason);
      },
    });
  }

  /** Resolves once the CONNACK accepted the connection; rejects with the reason otherwise. */
  static open(target: LinkTarget, clientId: string, version: 4 | 5, timeoutMs: number): Promise<IdleConnection> {
    return new Promise((resolve, reject) => {
      const conn: IdleConnection = new IdleConnection(target, Date.now() + timeoutMs, (err) => {
        if (err === undefined) resolve(conn);
        else reject(new Error(err));
      });
      conn.link.write(encodeConnect({ clientId, version, keepaliveSeconds: 0 }));
      pending.add(conn);
      if (sweep === undefined) sweep = setInterval(sweepPending, 250);
    });
  }

  destroy(): void {
    this.closed = true;
    this.finish('destroyed');
    this.link.destroy();
  }

  /** @internal */
  finish(err: string | undefined): void {
    const settle = this.settle;
    if (settle === undefined) return;
    this.settle = undefined;
    pending.delete(this);
    if (pending.size === 0 && sweep !== undefined) {
      clearInterval(sweep);
      sweep = undefined;
    }
    if (err !== undefined) {
      this.error = err;
      this.closed = true;
      this.link.destroy();
    }
    settle(err);
  }

  /** @internal */
  expired(now: number): boolean {
    return now >= this.deadline;
  }
}

const NO_BYTES = Buffer.alloc(0);
const pending = new Set<IdleConnection>();
let sweep: NodeJS.Timeout | undefined;

function sweepPending(): void {
  const now = Date.now();
  for (const c of pending) if (c.expired(now)) c.finish('no CONNACK in time');
}

export interface OpenedConnections {
  clients: IdleConnection[];
  failed: number;
  errors: string[];
  /** Epoch ms (sub-ms precision) when the first CONNECT went out and when the last one ended. */
  startMs: number;
  endMs: number;
}

/** Opens `count` connections with ids `<prefix>-idle-<i>`, at most `concurrency` handshakes at once. */
export async function openConnections(
  o: ScenarioOptions,
  count: number,
  prefix: string,
  concurrency: number,
): Promise<OpenedConnections> {
  const pid = o.brokerPid;
  const clients: IdleConnection[] = [];
  let failed = 0;
  let next = 0;
  const firstErrors = new Set<string>();
  const deadline = Date.now() + Math.max(30_000, o.durationS * 4_000);
  const loopback = o.host.startsWith('127.');
  const startMs = performance.timeOrigin + performance.now();
  const worker = async (): Promise<void> => {
    while (next < count && Date.now() < deadline) {
      const i = next++;
      try {
        const localAddress = loopback ? `127.0.${2 + (i & 63)}.${1 + ((i >> 6) & 127)}` : undefined;
        const target: LinkTarget = { transport: o.transport, host: o.host, port: o.port, localAddress };
        clients.push(await IdleConnection.open(target, `${prefix}-idle-${i}`, o.version, 10_000));
      } catch (err) {
        failed++;
        if (firstErrors.size < 3) firstErrors.add((err as Error).message);
        if (pid !== undefined && !processAlive(pid)) return;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
  return { clients, failed, errors: [...firstErrors], startMs, endMs: performance.timeOrigin + performance.now() };
}

/** What a way of opening idle connections (or MQTT-SN sessions) reports to measureIdle. */
export interface Tally {
  opened: number;
  failed: number;
  errors: string[];
  rampS: number;
  alive: () => Promise<number>;
  close: () => void;
}

export function runIdle(o: ScenarioOptions): Promise<ScenarioResult> {
  const procs = Math.max(1, Math.min(o.generatorProcesses, Math.ceil(o.connections / 100)));
  return measureIdle('idle', o, () => (procs > 1 ? forked(o, procs) : inProcess(o)));
}

/**
 * The memory and connect-rate measurement around `open`: broker RSS before, CPU and run-queue
 * waits over the ramp, RSS again once settled; also the mqttsn-idle scenario's.
 */
export async function measureIdle(scenario: 'idle' | 'mqttsn-idle', o: ScenarioOptions, open: () => Promise<Tally>): Promise<ScenarioResult> {
  const result = emptyResult(scenario, null);
  const pid = o.brokerPid;
  const rssBefore = pid === undefined ? undefined : rssBytes(pid);
  const cpu0 = pid === undefined ? undefined : cpuSeconds(pid);
  const bwait0 = pid === undefined ? undefined : runQueueWaitNs(pid);
  const gwait0 = runQueueWaitNs('self');
  const gen0 = process.cpuUsage();
  let tally: Tally;
  try {
    tally = await open();
  } catch (err) {
    result.errors.push(`setup: ${(err as Error).message}`);
    return result;
  }
  // The ramp's cost: broker CPU per accepted connection (cpuUsPerMsg), run-queue waits, load.
  const cpu1 = pid === undefined ? undefined : cpuSeconds(pid);
  const bwait1 = pid === undefined ? undefined : runQueueWaitNs(pid);
  const gwait1 = runQueueWaitNs('self');
  const gen = process.cpuUsage(gen0);
  if (cpu0 !== undefined && cpu1 !== undefined && tally.rampS > 0) {
    result.brokerCpuS = cpu1 - cpu0;
    result.brokerCpuShare = result.brokerCpuS / tally.rampS;
    if (tally.opened > 0) result.cpuUsPerMsg = (result.brokerCpuS * 1e6) / tally.opened;
  }
  if (tally.rampS > 0) {
    result.generatorCpu = (gen.user + gen.system) / 1e6 / tally.rampS;
    result.brokerWaitMsPerS = bwait0 === undefined || bwait1 === undefined ? null : (bwait1 - bwait0) / 1e6 / tally.rampS;
    result.generatorWaitMsPerS = gwait0 === undefined || gwait1 === undefined ? null : (gwait1 - gwait0) / 1e6 / tally.rampS;
  }
  result.loadAverage = loadavg()[0];
  await sleep(SETTLE_MS);
  const alive = await tally.alive();
  const rssAfter = pid === undefined ? undefined : rssBytes(pid);
  result.crashed = pid !== undefined && rssAfter === undefined;
  result.errors.push(...tally.errors);
  if (result.crashed) result.errors.unshift('broker process exited');
  if (alive < tally.opened) result.errors.push(`${tally.opened - alive} connections closed while idle`);
  result.measuredS = tally.rampS;
  result.idle = {
    requested: o.connections,
    connected: alive,
    failed: tally.failed,
    connectRate: tally.rampS > 0 ? tally.opened / tally.rampS : 0,
    bytesPerConnection:
      rssBefore !== undefined && rssAfter !== undefined && alive > 0 ? (rssAfter - rssBefore) / alive : null,
    rssBeforeBytes: rssBefore ?? null,
    rssAfterBytes: rssAfter ?? null,
  };
  tally.close();
  return result;
}

async function inProcess(o: ScenarioOptions): Promise<Tally> {
  return tallyOf(await openConnections(o, o.connections, o.clientPrefix, o.connectConcurrency), (c) => c.destroy());
}

/** The Tally of connections (or MQTT-SN sessions) opened in this process; `end` closes one. */
export function tallyOf<C extends { readonly closed: boolean }>(
  r: { clients: C[]; failed: number; errors: string[]; startMs: number; endMs: number },
  end: (c: C) => void,
): Tally {
  return {
    opened: r.clients.length,
    failed: r.failed,
    errors: r.errors,
    rampS: (r.endMs - r.startMs) / 1000,
    alive: async () => r.clients.filter((c) => !c.closed).length,
    close: () => {
      for (const c of r.clients) end(c);
    },
  };
}

/** Messages between runIdle and idle-worker.ts (over the fork IPC channel). */
export type IdleWorkerRequest =
  | { type: 'start'; options: ScenarioOptions; count: number; prefix: string; concurrency: number }
  | { type: 'alive' }
  | { type: 'close' };
export type IdleWorkerReply =
  | { type: 'ready' }
  | { type: 'opened'; opened: number; failed: number; errors: string[]; startMs: number; endMs: number }
  | { type: 'alive'; alive: number };

async function forked(o: ScenarioOptions, procs: number): Promise<Tally> {
  const script = new URL('./idle-worker.js', import.meta.url);
  const children = Array.from({ length: procs }, () => fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  const killAll = (): void => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  };
  const next = (i: number, type: IdleWorkerReply['type'], timeoutMs: number): Promise<IdleWorkerReply> =>
    new Promise((resolve, reject) => {
      const child = children[i];
      const timer = setTimeout(() => done(new Error(`idle worker ${i}: no '${type}' within ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (m: IdleWorkerReply): void => {
        if (m.type === type) done(undefined, m);
      };
      const onExit = (): void => done(new Error(`idle worker ${i} exited`));
      function done(err: Error | undefined, m?: IdleWorkerReply): void {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (err !== undefined) reject(err);
        else resolve(m!);
      }
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  try {
    await Promise.all(children.map((_, i) => next(i, 'ready', 10_000)));
    const opened = children.map((_, i) => next(i, 'opened', 120_000));
    const per = Math.floor(o.connections / procs);
    children.forEach((c, i) => {
      const count = i === procs - 1 ? o.connections - per * (procs - 1) : per;
      const request: IdleWorkerRequest = {
        type: 'start',
        options: o,
        count,
        prefix: `${o.clientPrefix}-w${i}`,
        concurrency: Math.max(1, Math.round(o.connectConcurrency / procs)),
      };
      c.send(request);
    });
    const replies = (await Promise.all(opened)) as Array<Extract<IdleWorkerReply, { type: 'opened' }>>;
    const startMs = Math.min(...replies.map((r) => r.startMs));
    const endMs = Math.max(...replies.map((r) => r.endMs));
    return {
      opened: replies.reduce((a, r) => a + r.opened, 0),
      failed: replies.reduce((a, r) => a + r.failed, 0),
      errors: [...new Set(replies.flatMap((r) => r.errors))].slice(0, 3),
      rampS: (endMs - startMs) / 1000,
      alive: async () => {
        const counts = children.map((_, i) => next(i, 'alive', 10_000));
        for (const c of children) c.send({ type: 'alive' } satisfies IdleWorkerRequest);
        const r = (await Promise.all(counts)) as Array<Extract<IdleWorkerReply, { type: 'alive' }>>;
        return r.reduce((a, x) => a + x.alive, 0);
      },
      close: () => {
        for (const c of children) if (c.connected) c.send({ type: 'close' } satisfies IdleWorkerRequest);
        const t = setTimeout(killAll, 5_000);
        t.unref();
      },
    };
  } catch (err) {
    killAll();
    throw err;
  }
}
