/**
 * Remote control suspected, the second evidence (issue 20): the rhythm of the pointer's reports,
 * with nothing from the agent's profile, so it holds during enrolment as the path test does
 * (pointer-timing.ts). It is there for what that test cannot see: a remote-control tool on the same
 * LAN as the agent's PC, whose link adds too little jitter to take the times off the path.
 *
 * A mouse or touchpad reports on its own clock, every period (8 ms at 125 Hz) while the pointer
 * moves by more than a count per period, and the page stamps each report when the operating system
 * got it. So while the pointer moves steadily, one report follows the other by one period, within
 * the millisecond of the clock. A remote-control tool injects each position when its own loop gets
 * to it: x11vnc between its polls of the screen, so positions wait and leave in bunches, and the
 * intervals between them scatter whatever the link.
 *
 * The measure is over intervals of steady movement only, where this step and the one before both
 * moved `minStepPx` or more: a mouse of 250-1000 Hz moving slowly reports whenever a count has
 * built up, at intervals that follow no clock, and those steps move a pixel or two. Per window of
 * such intervals it is the share more than `toleranceMs` (or `toleranceShare` of the median, for
 * long periods) away from the window's median. Measured on the rig (docs/evaluation.md; the
 * notebook's "LAN relays: the report rhythm"): 0.03-0.13 over a stretch for local devices at
 * 60-1000 Hz, 0.53-0.63 through x11vnc over a LAN. The test is a CUSUM over windows
 * (window-cusum.ts), each adding log2(share / `neutralShare`), clipped, and suspects remote control
 * when the sum reaches `limit`. Windows of 64 rather than 32 intervals: a busy moment of the agent's
 * PC scatters a few reports, and a longer window smooths it at the price of about 8 s more to find
 * a relay.
 *
 * Only points measured on the page's own times count, as for the path test.
 */
import type { PointerPoint } from './pointer-timing.js';
import { WindowCusum } from './window-cusum.js';

export interface ReportRhythmPolicy {
  /** A step of the pointer this long (px) or longer is steady movement, when the step before was too. */
  readonly minStepPx: number;
  /** Intervals of steady movement per window. */
  readonly window: number;
  /** An interval this far (ms) from the window's median is off the rhythm... */
  readonly toleranceMs: number;
  /** ...or this share of the median, when that is more (a 60 Hz device's 16 and 17 ms alternate). */
  readonly toleranceShare: number;
  /** The share of intervals off the rhythm that adds nothing: below it a window counts as local. */
  readonly neutralShare: number;
  /** Each window adds log2(share / neutralShare), clipped to [-maxStep, maxStep]. */
  readonly maxStep: number;
  /** The sum at which remote control is suspected. */
  readonly limit: number;
}

export const DEFAULT_REPORT_RHYTHM_POLICY: ReportRhythmPolicy = {
  minStepPx: 4,
  window: 64,
  toleranceMs: 1.5,
  toleranceShare: 0.15,
  neutralShare: 0.3,
  maxStep: 1,
  limit: 4,
};

/** An interval longer than this (ms) ends a movement: the next step starts a new one. */
const MAX_INTERVAL_MS = 50;

/** The share of `intervals` (ms) off the rhythm their median sets. */
export function offRhythmShare(intervals: readonly number[], policy: ReportRhythmPolicy = DEFAULT_REPORT_RHYTHM_POLICY): number {
  const sorted = [...intervals].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1] as number;
  const tolerance = Math.max(policy.toleranceMs, policy.toleranceShare * median);
  return intervals.filter((d) => Math.abs(d - median) > tolerance).length / intervals.length;
}

/** What made the test suspect remote control: timings only. */
export interface RhythmFinding {
  readonly windows: number;
  /** The median share of intervals off the rhythm, over the windows since the sum last stood at 0. */
  readonly offRhythm: number;
}

/** The intervals of steady movement in a stream of points, as points arrive in time order. */
export class SteadyIntervals {
  private last: PointerPoint | undefined;
  private lastStepPx = 0;

  constructor(private readonly minStepPx: number = DEFAULT_REPORT_RHYTHM_POLICY.minStepPx) {}

  /** The interval (ms) this point ends, when it and the step before it were steady movement. */
  push(p: PointerPoint): number | undefined {
    const last = this.last;
    if (last && p.timeMs === last.timeMs) return undefined; // a sample coalesced at the same ms: not a report of its own
    this.last = p;
    if (!last) return undefined;
    const interval = p.timeMs - last.timeMs;
    const step = Math.hypot(p.x - last.x, p.y - last.y);
    const before = this.lastStepPx;
    this.lastStepPx = interval > MAX_INTERVAL_MS ? 0 : step;
    return interval <= MAX_INTERVAL_MS && step >= this.minStepPx && before >= this.minStepPx ? interval : undefined;
  }
}

/** The test over one session's pointer points, in time order. */
export class ReportRhythmTest {
  private readonly stream: SteadyIntervals;
  private readonly cusum: WindowCusum;
  private found: RhythmFinding | undefined;

  constructor(policy: ReportRhythmPolicy = DEFAULT_REPORT_RHYTHM_POLICY) {
    this.stream = new SteadyIntervals(policy.minStepPx);
    this.cusum = new WindowCusum({ window: policy.window, neutral: policy.neutralShare, maxStep: policy.maxStep, limit: policy.limit }, (w) => offRhythmShare(w, policy));
  }

  get finding(): RhythmFinding | undefined {
    return this.found;
  }

  /** Windows judged so far, for reports. */
  get windowsJudged(): number {
    return this.cusum.windowsJudged;
  }

  /** Feeds a point measured on the page's time; returns the finding when this point completed it. */
  push(p: PointerPoint): RhythmFinding | undefined {
    if (this.found) return undefined;
    const interval = this.stream.push(p);
    const alarm = interval === undefined ? undefined : this.cusum.push(interval);
    if (alarm) this.found = { windows: alarm.windows, offRhythm: alarm.measure };
    return this.found;
  }
}
