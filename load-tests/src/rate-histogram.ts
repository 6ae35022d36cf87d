// A latency histogram with logarithmic buckets (each 2% wider than the one before), so that
// worker processes can send one second of latencies to the coordinator as a few hundred
// [bucket, count] pairs instead of every sample, and the coordinator can merge them exactly.
// Values are microseconds; a percentile is read back as its bucket's midpoint (error < 1%).

const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);

export class LatencyHistogram {
  readonly counts = new Map<number, number>();
  total = 0;
  maxUs = 0;

  static bucketOf(us: number): number {
    return us < 1 ? 0 : 1 + Math.floor(Math.log(us) / LOG_GROWTH);
  }

  /** Midpoint of a bucket in microseconds. */
  static valueOf(bucket: number): number {
    if (bucket === 0) return 0.5;
    return GROWTH ** (bucket - 1) * (1 + GROWTH) * 0.5;
  }

  record(us: number): void {
    const b = LatencyHistogram.bucketOf(us);
    this.counts.set(b, (this.counts.get(b) ?? 0) + 1);
    this.total++;
    if (us > this.maxUs) this.maxUs = us;
  }

  add(pairs: Iterable<[number, number]>): void {
    for (const [b, n] of pairs) {
      this.counts.set(b, (this.counts.get(b) ?? 0) + n);
      this.total += n;
      const top = LatencyHistogram.valueOf(b);
      if (top > this.maxUs) this.maxUs = top;
    }
  }

  pairs(): Array<[number, number]> {
    return [...this.counts];
  }

  /** Nearest-rank percentile (p in 0..100) in microseconds; NaN when empty. */
  percentile(p: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (const b of [...this.counts.keys()].sort((x, y) => x - y)) {
      seen += this.counts.get(b)!;
      if (seen >= rank) return LatencyHistogram.valueOf(b);
    }
    return this.maxUs;
  }
}
