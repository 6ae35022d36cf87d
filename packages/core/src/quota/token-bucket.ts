/**
 * A token bucket: `ratePerSecond` tokens flow in, at most `capacity` are kept (the burst). It is
 * refilled lazily from the time passed since the last call, so it needs no timer, and checking
 * a message allocates nothing: two numbers per bucket.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly perMs: number;

  constructor(
    ratePerSecond: number,
    private readonly capacity: number,
    now: number,
  ) {
    this.perMs = ratePerSecond / 1000;
    this.tokens = capacity;
    this.last = now;
  }

  /** Adds what flowed in since the last call; call before `has` / `take`. */
  refill(now: number): void {
    const elapsed = now - this.last;
    if (elapsed <= 0) return;
    this.last = now;
    this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.perMs);
  }

  has(n: number): boolean {
    return this.tokens >= n;
  }

  take(n: number): void {
    this.tokens -= n;
  }

  /** Full again: as if never used (a holder may forget it). */
  isFull(): boolean {
    return this.tokens >= this.capacity;
  }
}

/** A bucket of `ratePerSecond` with `burstSeconds` of it as capacity; undefined when the rate is 0 (unlimited). */
export function bucketFor(ratePerSecond: number, burstSeconds: number, now: number): TokenBucket | undefined {
  return ratePerSecond > 0 ? new TokenBucket(ratePerSecond, ratePerSecond * burstSeconds, now) : undefined;
}
