/**
 * Time as the engine sees it. Every timer in the core (connect timeout, keep alive, will delay,
 * session expiry, publish-rate windows, $SYS) goes through a Clock so tests can drive time
 * without sleeping (see `ManualClock` in ./testing).
 */

/** An opaque handle returned by `Clock.setTimer`. */
export interface TimerHandle {
  readonly __timer?: never;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `callback` once after `delayMs`; timers must not keep the process alive. */
  setTimer(delayMs: number, callback: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** Node's setTimeout caps delays at 2^31-1 ms; longer delays are chained. */
const MAX_DELAY = 0x7fffffff;

interface SystemTimer extends TimerHandle {
  timeout: NodeJS.Timeout | undefined;
}

function arm(timer: SystemTimer, delayMs: number, callback: () => void): void {
  const step = Math.min(Math.max(0, delayMs), MAX_DELAY);
  const rest = delayMs - step;
  timer.timeout = setTimeout(() => {
    if (rest > 0) arm(timer, rest, callback);
    else {
      timer.timeout = undefined;
      callback();
    }
  }, step);
  timer.timeout.unref();
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(delayMs, callback) {
    const timer: SystemTimer = { timeout: undefined };
    arm(timer, delayMs, callback);
    return timer;
  },
  clearTimer(handle) {
    const timer = handle as SystemTimer;
    if (timer.timeout !== undefined) clearTimeout(timer.timeout);
    timer.timeout = undefined;
  },
};
