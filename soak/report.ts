/**
 * The soak's figures from what it collected, as pure functions: memory growth after warm-up per
 * process, percentiles from histogram buckets, and the pass or fail of each target.
 */

/** One reading of a process's memory (bytes) at a time (ms). */
export interface MemorySample {
  readonly timeMs: number;
  readonly value: number;
}

export interface Growth {
  /** Samples the line was fitted to (those after warm-up). */
  readonly samples: number;
  /** Mean over those samples, bytes. */
  readonly meanBytes: number;
  /** What the fitted line grows over their span, as a fraction of the mean (0.05: 5%). */
  readonly growth: number;
}

/**
 * Least-squares line through the samples after `warmupMs` from the first one; its rise over the
 * span, relative to the mean. A process that holds its memory reads near 0 whatever its level; a
 * leak reads its growth. Null with fewer than 3 samples after warm-up.
 */
export function growthAfterWarmup(samples: readonly MemorySample[], warmupMs: number): Growth | null {
  if (samples.length === 0) return null;
  const from = (samples[0] as MemorySample).timeMs + warmupMs;
  const kept = samples.filter((s) => s.timeMs >= from);
  if (kept.length < 3) return null;
  const n = kept.length;
  const mt = kept.reduce((a, s) => a + s.timeMs, 0) / n;
  const mv = kept.reduce((a, s) => a + s.value, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const s of kept) {
    sxy += (s.timeMs - mt) * (s.value - mv);
    sxx += (s.timeMs - mt) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const span = (kept.at(-1) as MemorySample).timeMs - (kept[0] as MemorySample).timeMs;
  return { samples: n, meanBytes: mv, growth: mv === 0 ? 0 : (slope * span) / mv };
}

/** Counts of a histogram: `bucketCounts[i]` counts values up to `bounds[i]`; the last, those above every bound. */
export interface Buckets {
  readonly bounds: readonly number[];
  readonly bucketCounts: readonly number[];
}

/** Adds histograms with the same bounds (the latest point of each process). */
export function addBuckets(all: readonly Buckets[]): Buckets | null {
  const first = all[0];
  if (!first) return null;
  for (const b of all) {
    if (b.bounds.join() !== first.bounds.join()) throw new Error(`histograms with different bounds cannot be added: [${b.bounds.join()}] and [${first.bounds.join()}]`);
  }
  return { bounds: first.bounds, bucketCounts: first.bucketCounts.map((_, i) => all.reduce((a, b) => a + (b.bucketCounts[i] ?? 0), 0)) };
}

/**
 * The bound of the bucket holding quantile `q`: the value is at most that (Infinity when it lies
 * above every bound). NaN for an empty histogram.
 */
export function quantileBound(h: Buckets, q: number): number {
  const total = h.bucketCounts.reduce((a, b) => a + b, 0);
  if (total === 0) return Number.NaN;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < h.bucketCounts.length; i++) {
    seen += h.bucketCounts[i] as number;
    if (seen >= rank) return h.bounds[i] ?? Number.POSITIVE_INFINITY;
  }
  return Number.POSITIVE_INFINITY;
}
