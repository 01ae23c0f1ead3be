/** Small statistics over latency samples. */

/** Percentiles of a sample, in milliseconds; null when there were no samples. */
export interface Percentiles {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentiles (no interpolation: every value reported was observed). */
export function percentiles(samples: readonly number[]): Percentiles | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  return { n: sorted.length, p50: rank(0.5), p99: rank(0.99), max: sorted[sorted.length - 1]! };
}

/** `later[id] - earlier[id]` (minus `offset`) for every run present in both. */
export function gaps(earlier: ReadonlyMap<string, number>, later: ReadonlyMap<string, number>, offset = 0): number[] {
  const out: number[] = [];
  for (const [id, at] of later) {
    const from = earlier.get(id);
    if (from !== undefined) out.push(at - from - offset);
  }
  return out;
}

/**
 * Runs finished per second from `startAt` (the first run picked up, the first
 * signal sent) to the last finish: the rate at which the fleet drained the
 * work, ramp-up and tail included. (A percentile window would hide them, but
 * says nothing when every run is in flight at once, as in fanout-100.)
 */
export function drainRate(startAt: number, finishedAt: Iterable<number>): number {
  let count = 0;
  let last = -Infinity;
  for (const at of finishedAt) {
    count++;
    last = Math.max(last, at);
  }
  const span = last - startAt;
  return count > 0 && span > 0 ? (count * 1000) / span : 0;
}

/** The smallest value (no spread: a million samples would overflow the stack). */
export function earliest(values: Iterable<number>): number {
  let min = Infinity;
  for (const v of values) if (v < min) min = v;
  return min;
}

/** Milliseconds to `n` decimals, for tables. */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
