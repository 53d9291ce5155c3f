/**
 * What a stretch of input looked like to the scorer, on the page's own event times: the measures
 * the relay rig reports per path (issue 20). Pure functions over the InputEvents the scorer applied;
 * timings and pointer distances only.
 */
import type { InputEvent } from '../proto/gen/vdiguard/scorer/v1/scorer.js';
import { quantileSorted } from '../scorer/features/stats.js';
import { disagreementsOf, robustSd, type PointerPoint } from '../scorer/remote-control/pointer-timing.js';
import { DEFAULT_REPORT_RHYTHM_POLICY, offRhythmShare, SteadyIntervals } from '../scorer/remote-control/report-rhythm.js';

/** Intervals longer than this (ms) end a movement. */
const MOVEMENT_GAP_MS = 50;

export interface PathShape {
  readonly events: number;
  readonly keys: number;
  /** Pointer points on client times: moves and the samples coalesced into them. */
  readonly pointer: number;
  /** Pointer points per second of movement. */
  readonly pointerHz: number;
  /** Pointer intervals within movements, quantiles 10/50/90 (ms). */
  readonly pointerIntervalMs: readonly [number, number, number];
  /** Share of consecutive pointer intervals within 1 ms of each other: a device's regular rate. */
  readonly pointerRegular: number;
  /** Share of key events at the same millisecond as the key event before: bursts. */
  readonly keyBursts: number;
  /**
   * How far the pointer's times disagree with its path: the robust SD (ms) of every point's
   * disagreement over the stretch, as the remote-control test measures it
   * (scorer/remote-control/pointer-timing.ts), and how many points it is over.
   */
  readonly disagreementMs: number;
  readonly disagreements: number;
  /**
   * How far the pointer's reports keep a device's rhythm: the median over the stretch's windows of
   * the share of intervals in steady movement off it, as the report-rhythm test measures it
   * (scorer/remote-control/report-rhythm.ts), and how many windows it is over.
   */
  readonly offRhythm: number;
  readonly rhythmWindows: number;
}

/** The off-rhythm share of each window of steady intervals in `points`, as the report-rhythm test forms them. */
function rhythmSharesOf(points: readonly PointerPoint[]): number[] {
  const steady = new SteadyIntervals();
  const intervals = points.map((p) => steady.push(p)).filter((d): d is number => d !== undefined);
  const w = DEFAULT_REPORT_RHYTHM_POLICY.window;
  const shares: number[] = [];
  for (let i = 0; i + w <= intervals.length; i += w) shares.push(offRhythmShare(intervals.slice(i, i + w)));
  return shares.sort((a, b) => a - b);
}

function pointerPoints(events: readonly InputEvent[]): PointerPoint[] {
  const out: PointerPoint[] = [];
  for (const e of events) if (e.kind?.$case === 'mouse' && e.clientTimeMs !== undefined) out.push({ timeMs: e.clientTimeMs, x: e.kind.value.x, y: e.kind.value.y });
  return out.sort((a, b) => a.timeMs - b.timeMs);
}

export function pathShape(events: readonly InputEvent[]): PathShape {
  const points = pointerPoints(events);
  // Intervals in time order, NaN where a movement ended.
  const ordered = points.slice(1).map((p, i) => {
    const d = p.timeMs - (points[i] as PointerPoint).timeMs;
    return d <= MOVEMENT_GAP_MS ? d : Number.NaN;
  });
  const within = ordered.filter((d) => !Number.isNaN(d)).sort((a, b) => a - b);
  let pairs = 0;
  let regular = 0;
  for (let i = 1; i < ordered.length; i++) {
    const [a, b] = [ordered[i - 1] as number, ordered[i] as number];
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    pairs++;
    if (Math.abs(b - a) <= 1) regular++;
  }
  const moving = within.reduce((s, d) => s + d, 0);
  const keys = events.filter((e) => e.kind?.$case === 'key' && e.clientTimeMs !== undefined).map((e) => e.clientTimeMs as number);
  let bursts = 0;
  for (let i = 1; i < keys.length; i++) if (keys[i] === keys[i - 1]) bursts++;
  const q = (p: number): number => quantileSorted(within, within.length, p);
  const disagreements = disagreementsOf(points);
  const rhythm = rhythmSharesOf(points);
  return {
    events: events.length,
    keys: keys.length,
    pointer: points.length,
    pointerHz: moving > 0 ? (within.length * 1000) / moving : 0,
    pointerIntervalMs: [q(0.1), q(0.5), q(0.9)],
    pointerRegular: pairs > 0 ? regular / pairs : Number.NaN,
    keyBursts: keys.length > 1 ? bursts / (keys.length - 1) : Number.NaN,
    disagreementMs: disagreements.length > 0 ? robustSd(disagreements) : Number.NaN,
    disagreements: disagreements.length,
    offRhythm: rhythm.length > 0 ? (rhythm[rhythm.length >> 1] as number) : Number.NaN,
    rhythmWindows: rhythm.length,
  };
}
