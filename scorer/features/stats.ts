/** Small numeric helpers for the extractors: allocation-free where they run per window. */

/** Quantile (linear interpolation) of the first `n` values of `sorted`, which must be ascending. */
export function quantileSorted(sorted: Float64Array | readonly number[], n: number, q: number): number {
  if (n <= 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

/** Sorts the first `n` values of `buf` in place and returns them as a view. */
export function sortPrefix(buf: Float64Array, n: number): Float64Array {
  return buf.subarray(0, n).sort();
}

/** Median of the first `n` values of `buf` (reordered in place). */
export function medianOf(buf: Float64Array, n: number): number {
  return quantileSorted(sortPrefix(buf, n), n, 0.5);
}

/** Natural log of a duration in ms, floored at 1 ms so that zero durations stay finite. */
export function logMs(ms: number): number {
  return Math.log(ms < 1 ? 1 : ms);
}
