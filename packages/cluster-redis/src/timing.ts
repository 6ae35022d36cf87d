/**
 * Redis command latency, measured at our own call sites: each port wraps the promise of a
 * command it sends in `timed(timer, op, promise)`, which reports the round trip (seconds) to the
 * `RedisTimer` given in the options, labelled with one of a small fixed set of operation names.
 * No timer: nothing is measured (one `undefined` check). Failed commands are reported too (a slow
 * failure is still latency). Blocking reads (XREADGROUP/XREAD BLOCK) are never timed: their
 * duration is the wait for data, not Redis.
 */

/** What a command was for (the `command` label of mqtt_redis_command_duration_seconds). */
export type RedisOp = 'route' | 'bus' | 'stream' | 'session' | 'retained' | 'registry' | 'heartbeat';

export const REDIS_OPS: readonly RedisOp[] = ['route', 'bus', 'stream', 'session', 'retained', 'registry', 'heartbeat'];

/** Receives one measured round trip. Called once per command: keep it O(1). */
export type RedisTimer = (op: RedisOp, seconds: number) => void;

/** Returns `p` itself (callers keep its result and rejection); reports its duration to `timer`. */
export function timed<T>(timer: RedisTimer | undefined, op: RedisOp, p: Promise<T>): Promise<T> {
  if (timer === undefined) return p;
  const t0 = performance.now();
  const done = (): void => timer(op, (performance.now() - t0) / 1000);
  p.then(done, done);
  return p;
}
