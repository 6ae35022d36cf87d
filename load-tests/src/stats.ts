// Small statistics helpers: percentiles, medians, and collapse detection over a throughput
// timeline.

/** Nearest-rank percentile (p in 0..100) of an ascending-sorted array; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Median of the finite values; null when there are none. */
export function median(values: Array<number | null | undefined>): number | null {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * Throughput collapsed when, after the first window, the last window's rate fell below
 * `fraction` of the best window's: the broker took the load at first and then stopped keeping up
 * (queues growing, GC thrash, swap). A flat low rate is slow, not collapsed.
 */
export function detectCollapse(windowRates: number[], fraction = 0.25): boolean {
  if (windowRates.length < 3) return false;
  const peak = Math.max(...windowRates);
  const last = windowRates[windowRates.length - 1];
  return peak > 0 && last < fraction * peak;
}
