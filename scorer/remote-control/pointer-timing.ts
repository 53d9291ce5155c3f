/**
 * Remote control suspected: evidence that the pointer was not moved at this computer (issue 20),
 * from the pointer's own times and path, with nothing from the agent's profile, so it holds during
 * enrolment and a colluder cannot enrol as the agent through a remote-control tool.
 *
 * A mouse or touchpad reports what moved since its last report, and the page stamps each report
 * when the operating system got it, so a point's time agrees with where it lies along the path:
 * between its neighbours, at the time a smooth movement through them puts it, within the clock's
 * millisecond and the rare late report. A remote-control tool (VNC, AnyDesk, TeamViewer) samples
 * the pointer on the colluder's computer and sends the positions over a network; the agent's
 * computer stamps each one when the tool injects it there, after the link's jitter and the tool's
 * own loop. The positions keep the colluder's clock, the times are the arrival's, and the two
 * disagree by about the link's jitter: 5 ms and more on any internet link, and as much on a
 * LAN through the tool's screen-polling loop (docs/evaluation-notebook.md, "The relay rig").
 *
 * Measured on the rig (rig/, `vdiguard eval relay`; docs/evaluation-notebook.md, "The relay rig"):
 * the robust SD of the disagreement over a stretch is 0.5-1.6 ms for local devices at 60-1000 Hz,
 * 6-7 ms for x11vnc over a 20 +- 5 ms link and 14-15 ms over 60 +- 20 ms, but only 2-4 ms over a
 * LAN, which this test does not tell from a local device (the report-rhythm test does). The sessions of the SapiMouse dataset,
 * stamped by the page that recorded them in 2020 browsers at frame rate, sit at 2.5 ms (median; 90th
 * percentile 4.0): `scaleMs` is 4 ms so that a browser stamping that loosely is not taken for a relay.
 * The test is a CUSUM over windows, each adding log2 of its SD over `scaleMs`, clipped, so that
 * local windows pull the sum down and a relay's push it up.
 *
 * Only points measured on the page's own times count (scorer/timing/client-times.ts): on arrival,
 * every session's points carry the agent's own home link's jitter and would all look relayed.
 */
import { WindowCusum } from './window-cusum.js';

export interface PathTimingPolicy {
  /** Points closer together than this (ms) are merged: page times are whole ms on some systems. */
  readonly minIntervalMs: number;
  /** Disagreements (one per point inside a movement) per window. */
  readonly window: number;
  /** The window's robust SD (ms) that adds nothing: below it the window counts as local. */
  readonly scaleMs: number;
  /** Each window adds log2(SD / scaleMs), clipped to [-maxStep, maxStep]. */
  readonly maxStep: number;
  /** The sum at which remote control is suspected. */
  readonly limit: number;
}

export const DEFAULT_PATH_TIMING_POLICY: PathTimingPolicy = {
  minIntervalMs: 8,
  window: 64,
  scaleMs: 4,
  maxStep: 1,
  limit: 4,
};

/** Five points spanning more than this (ms) are two movements, not one. */
const MAX_SPAN_MS = 150;
/** A movement whose middle pair covers less than this (px) is too slow to place a point in. */
const MIN_DISTANCE_PX = 4;
/** Speed (px/ms) below which a point's place in time is not determined by the path. */
const MIN_SPEED = 0.05;

export interface PointerPoint {
  readonly timeMs: number;
  readonly x: number;
  readonly y: number;
}

/**
 * How much later (ms) the middle of five points was stamped than its place along the path puts it:
 * a quadratic in time through the path length of the other four (a movement's speed changes
 * smoothly over a few reports), read at the middle's stamp and turned into time by the speed there.
 * Undefined when the points do not make a movement it can be placed in.
 */
export function timingDisagreement(p: readonly PointerPoint[]): number | undefined {
  if (p.length !== 5) return undefined;
  const [p0, p1, p2, p3, p4] = p as [PointerPoint, PointerPoint, PointerPoint, PointerPoint, PointerPoint];
  if (p4.timeMs - p0.timeMs > MAX_SPAN_MS) return undefined;
  // Path length at each point, from the first. Scalars throughout: this runs for every pointer point.
  const s1 = Math.hypot(p1.x - p0.x, p1.y - p0.y);
  const s2 = s1 + Math.hypot(p2.x - p1.x, p2.y - p1.y);
  const s3 = s2 + Math.hypot(p3.x - p2.x, p3.y - p2.y);
  const s4 = s3 + Math.hypot(p4.x - p3.x, p4.y - p3.y);
  if (s3 - s1 < MIN_DISTANCE_PX) return undefined;
  // Least squares of s = c0 + c1 u + c2 u^2 over the four neighbours, u their time from the
  // middle's: normal equations from the moments of u, solved for c0 and c1 by Cramer's rule.
  const u0 = p0.timeMs - p2.timeMs;
  const u1 = p1.timeMs - p2.timeMs;
  const u3 = p3.timeMs - p2.timeMs;
  const u4 = p4.timeMs - p2.timeMs;
  const m1 = u0 + u1 + u3 + u4;
  const m2 = u0 ** 2 + u1 ** 2 + u3 ** 2 + u4 ** 2;
  const m3 = u0 ** 3 + u1 ** 3 + u3 ** 3 + u4 ** 3;
  const m4 = u0 ** 4 + u1 ** 4 + u3 ** 4 + u4 ** 4;
  const r0 = s1 + s3 + s4;
  const r1 = u1 * s1 + u3 * s3 + u4 * s4;
  const r2 = u1 * u1 * s1 + u3 * u3 * s3 + u4 * u4 * s4;
  const d = det3(4, m1, m2, m1, m2, m3, m2, m3, m4);
  if (Math.abs(d) < 1e-9) return undefined;
  const c0 = det3(r0, m1, m2, r1, m2, m3, r2, m3, m4) / d;
  const c1 = det3(4, r0, m2, m1, r1, m3, m2, r2, m4) / d;
  if (!(c1 >= MIN_SPEED)) return undefined;
  return (c0 - s2) / c1;
}

/** The determinant of the 3x3 matrix given row by row. */
function det3(a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number): number {
  return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
}

/** Robust SD: the median absolute deviation from the median, scaled to an SD for normal data. */
export function robustSd(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1] as number;
  const dev = sorted.map((x) => Math.abs(x - median)).sort((a, b) => a - b);
  return 1.4826 * (dev[dev.length >> 1] as number);
}

/** What made the test suspect remote control: timings only. */
export interface PathTimingFinding {
  readonly windows: number;
  /** The median of the windows' robust SDs (ms) since the sum last stood at 0. */
  readonly disagreementMs: number;
}

/** The disagreement of each point of a stream with the path, as points arrive in time order. */
export class Disagreements {
  private readonly recent: PointerPoint[] = [];

  constructor(private readonly minIntervalMs: number = DEFAULT_PATH_TIMING_POLICY.minIntervalMs) {}

  /** The disagreement of the middle of the last five points kept, once this point completes them. */
  push(p: PointerPoint): number | undefined {
    const last = this.recent[this.recent.length - 1];
    if (last && p.timeMs - last.timeMs < this.minIntervalMs) return undefined;
    this.recent.push(p);
    if (this.recent.length > 5) this.recent.shift();
    return this.recent.length === 5 ? timingDisagreement(this.recent) : undefined;
  }
}

/** Every disagreement a stream of points gives, as the test measures them (for reports on whole stretches). */
export function disagreementsOf(points: readonly PointerPoint[], minIntervalMs?: number): number[] {
  const stream = new Disagreements(minIntervalMs);
  return points.map((p) => stream.push(p)).filter((d): d is number => d !== undefined);
}

/** The test over one session's pointer points, in time order. */
export class PathTimingTest {
  private readonly stream: Disagreements;
  private readonly cusum: WindowCusum;
  private found: PathTimingFinding | undefined;

  constructor(policy: PathTimingPolicy = DEFAULT_PATH_TIMING_POLICY) {
    this.stream = new Disagreements(policy.minIntervalMs);
    this.cusum = new WindowCusum({ window: policy.window, neutral: policy.scaleMs, maxStep: policy.maxStep, limit: policy.limit }, robustSd);
  }

  get finding(): PathTimingFinding | undefined {
    return this.found;
  }

  /** Windows judged so far, for reports. */
  get windowsJudged(): number {
    return this.cusum.windowsJudged;
  }

  /** Feeds a point measured on the page's time; returns the finding when this point completed it. */
  push(p: PointerPoint): PathTimingFinding | undefined {
    if (this.found) return undefined;
    const d = this.stream.push(p);
    const alarm = d === undefined ? undefined : this.cusum.push(d);
    if (alarm) this.found = { windows: alarm.windows, disagreementMs: alarm.measure };
    return this.found;
  }
}
