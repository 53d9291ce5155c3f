/** Small numeric helpers for the extractors and the models: allocation-free where they run per window. */

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

/** The first index of ascending `sorted` whose value is not below `x` (its length when none is). */
export function lowerBound(sorted: Float64Array | readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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

/** Arithmetic mean (NaN for no values). */
export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sum of squared deviations from the mean. */
export function sumOfSquares(xs: readonly number[]): number {
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) ** 2;
  return s;
}

/** Sample standard deviation (n - 1; NaN for fewer than two values). */
export function sampleSd(xs: readonly number[]): number {
  return xs.length < 2 ? Number.NaN : Math.sqrt(sumOfSquares(xs) / (xs.length - 1));
}
