/**
 * CONNECT_RATE_PER_ADDRESS: CONNECTs per second from one source address, a token bucket per
 * address (burst QUOTA_BURST_SECONDS of it). Buckets that have filled up again are forgotten by
 * a sweep at most every SWEEP_MS, so memory follows the addresses seen recently.
 */
import { TokenBucket } from './token-bucket.js';

const SWEEP_MS = 10_000;

export class ConnectRate {
  private readonly buckets = new Map<string, TokenBucket>();
  private lastSweep: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burstSeconds: number,
    now: number,
  ) {
    this.lastSweep = now;
  }

  /** True when a CONNECT from `address` fits in its rate (and counts it); false when over. */
  admit(address: string, now: number): boolean {
    if (now - this.lastSweep >= SWEEP_MS) this.sweep(now);
    let bucket = this.buckets.get(address);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.ratePerSecond, this.ratePerSecond * this.burstSeconds, now);
      this.buckets.set(address, bucket);
    }
    bucket.refill(now);
    if (!bucket.has(1)) return false;
    bucket.take(1);
    return true;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [address, bucket] of this.buckets) {
      bucket.refill(now);
      if (bucket.isFull()) this.buckets.delete(address);
    }
  }
}
