/** Small numeric helpers shared by the services and the test tools: plain, allocation-free where it matters. */

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
