/**
 * Bounded waits. Tests wait for an observable condition (a metric, a PING answer, a message),
 * never for a fixed time: on a loaded 2-core CI machine any fixed sleep is eventually too short.
 */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class WaitTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    readonly lastError?: unknown,
  ) {
    super(`${what}: not within ${timeoutMs} ms${lastError === undefined ? '' : ` (last probe failed: ${String(lastError)})`}`);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Polls `probe` every `intervalMs` (20 ms) until it returns true; resolves with the time it took,
 * throws a WaitTimeoutError naming `what` after `timeoutMs`. A probe that throws counts as false
 * (a node restarting does not answer for a while); the last such error is in the timeout error.
 */
export async function waitUntil(
  probe: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
  intervalMs = 20,
): Promise<number> {
  const t0 = Date.now();
  let lastError: unknown;
  for (;;) {
    let ok = false;
    try {
      ok = await probe();
    } catch (error) {
      lastError = error;
    }
    if (ok) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new WaitTimeoutError(what, timeoutMs, lastError);
    await sleep(intervalMs);
  }
}
