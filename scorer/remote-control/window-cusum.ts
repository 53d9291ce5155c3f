/**
 * The decision both remote-control tests make (pointer-timing.ts, report-rhythm.ts): a one-sided
 * CUSUM over windows of a stream of values. Each full window is reduced to one measure, which adds
 * log2(measure / neutral), clipped to +-maxStep: windows that look local pull the sum down towards 0,
 * windows that look relayed push it up, and the test fires when the sum reaches the limit. No single
 * window can fire it, and a run of local windows forgets what came before.
 */
export interface WindowCusumPolicy {
  /** Values per window. */
  readonly window: number;
  /** The measure that adds nothing. */
  readonly neutral: number;
  readonly maxStep: number;
  readonly limit: number;
}

/** Where the sum reached its limit: timings only. */
export interface CusumAlarm {
  /** Windows since the sum last stood at 0. */
  readonly windows: number;
  /** The median of their measures (of the last MEDIAN_WINDOWS of them). */
  readonly measure: number;
}

/**
 * Measures kept for the alarm's median. The sum can stay above 0 and below its limit for a whole
 * shift, one window after another: keeping every measure since would grow with the session.
 */
export const MEDIAN_WINDOWS = 1024;

export class WindowCusum {
  private readonly current: number[] = [];
  private sum = 0;
  /** The measures of the windows since the sum last stood at 0, the last MEDIAN_WINDOWS of them, and how many there were. */
  private readonly since: number[] = [];
  private sinceCount = 0;
  private judged = 0;

  constructor(
    private readonly policy: WindowCusumPolicy,
    private readonly measure: (window: readonly number[]) => number,
  ) {}

  /** Windows judged so far, for reports. */
  get windowsJudged(): number {
    return this.judged;
  }

  /** Adds a value; returns the alarm when it completed a window that took the sum to the limit. */
  push(value: number): CusumAlarm | undefined {
    this.current.push(value);
    if (this.current.length < this.policy.window) return undefined;
    const m = this.measure(this.current);
    this.current.length = 0;
    this.judged++;
    // A measure of 0 (a window wholly local) gives -Infinity, clipped to the largest step down.
    const step = Math.max(-this.policy.maxStep, Math.min(this.policy.maxStep, Math.log2(m / this.policy.neutral)));
    this.sum = Math.max(0, this.sum + step);
    if (this.sum === 0) {
      this.since.length = 0;
      this.sinceCount = 0;
    } else {
      this.since.push(m);
      this.sinceCount++;
      if (this.since.length > MEDIAN_WINDOWS) this.since.shift();
    }
    if (this.sum < this.policy.limit) return undefined;
    const sorted = [...this.since].sort((x, y) => x - y);
    return { windows: this.sinceCount, measure: sorted[sorted.length >> 1] as number };
  }
}
