/** Small numeric helpers for the extractors and the models: allocation-free where they run per window. */
import { quantileSorted } from '../../lib/stats.js';

export { lowerBound, mean, quantileSorted, sampleSd, sumOfSquares } from '../../lib/stats.js';

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

