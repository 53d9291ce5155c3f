/**
 * Mouse actions and their windows, after Antal & Egyed-Zsigmond (arXiv 1810.04668) and Balabit
 * practice: the pointer stream is split into actions at pauses and button releases; an action is a
 * mouse move (MM), a point-and-click (PC: a move that ends in a click) or a drag-and-drop (DD: a
 * move with a button held). Each action gets kinematic features; each K completed actions make a
 * window whose vector is the mean of the action features (NaN-ignoring).
 *
 * Per event: a comparison or two and a write into preallocated point buffers. Features are
 * computed once per action.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import type { FeatureWindow, WindowExtractor } from './types.js';

export interface MouseOptions {
  /** Actions per window (default 20: about 14 s of SapiMouse activity, the best of 5, 10, 20 measured). */
  windowActions?: number;
  /** Actions between the starts of consecutive windows (default = windowActions). */
  hopActions?: number;
  /** A gap between pointer events longer than this, ms, ends an action (default 500). */
  pauseMs?: number;
  /** Fewest points of a mouse move action (default 5); shorter moves are dropped. */
  minPoints?: number;
  /** A press and release further apart than this, px, is a drag (default 5). */
  dragMinPx?: number;
  /** Points kept per action; a longer move is cut into actions (default 1024). */
  maxPoints?: number;
  /**
   * Window vector layout: false (default) = the mean of each action feature (MOUSE_FEATURES);
   * true = the window's actions' features one after another (ACTION_FEATURES.length per action),
   * for models that score each action.
   */
  actionVectors?: boolean;
}

/** Bins of the direction histogram (fraction of the path moved in each 45° sector). */
const DIRECTION_BINS = 8;

/**
 * Per-action features (times in ms, distances in px; `log` = natural log). Geometric ones
 * (straightness, deviations, turning, direction histogram) survive the gateway's arrival-time
 * jitter; timing ones carry more of the individual but blur with jitter.
 */
export const ACTION_FEATURES = [
  'type.move',
  'type.pointClick',
  'type.dragDrop',
  'logDurationMs',
  'logDistancePx',
  'straightness',
  'logPoints',
  'logVelocity.mean',
  'logVelocity.max',
  'velocity.cv',
  'accel.meanAbs',
  'accel.sd',
  'jerk.meanAbs',
  'angularVelocity.meanAbs',
  'curvature.meanAbs',
  'logLargestDeviationPx',
  'criticalPoints',
  'direction.cos',
  'direction.sin',
  'accelTimeFraction',
  'logClickMs',
  'logPauseBeforeClickMs',
  'logVelocity.sd',
  'turn.logTotal',
  'deviation.signed',
  'velocityPeaks',
  'homingFraction',
  'logGapBeforeMs',
  ...Array.from({ length: DIRECTION_BINS }, (_, i) => `directionHistogram.${i}` as const),
] as const;

/** Window features: the mean of each action feature over the window's actions. */
export const MOUSE_FEATURES: readonly string[] = ACTION_FEATURES.map((n) => `mean.${n}`);

const DEFAULTS = { windowActions: 20, pauseMs: 500, minPoints: 5, dragMinPx: 5, maxPoints: 1024, actionVectors: false };

export function mouseOptions(o: MouseOptions = {}): Required<MouseOptions> {
  const windowActions = o.windowActions ?? DEFAULTS.windowActions;
  const r = { ...DEFAULTS, ...o, windowActions, hopActions: o.hopActions ?? windowActions };
  if (!Number.isInteger(r.windowActions) || r.windowActions < 1 || r.windowActions > 100_000) throw new RangeError('windowActions must be a whole number from 1 to 100000');
  if (!Number.isInteger(r.hopActions) || r.hopActions < 1 || r.hopActions > r.windowActions) throw new RangeError('hopActions must be a whole number from 1 to windowActions');
  if (!(r.pauseMs > 0) || !(r.minPoints >= 3) || !(r.maxPoints >= r.minPoints)) throw new RangeError('pauseMs must be positive, minPoints at least 3 and maxPoints at least minPoints');
  return r;
}

const MM = 0;
const PC = 1;
const DD = 2;
const BUTTONS = 1 | 2 | 4;
const NF = ACTION_FEATURES.length;

export class MouseExtractor implements WindowExtractor {
  readonly options: Required<MouseOptions>;
  private readonly xs: Float64Array;
  private readonly ys: Float64Array;
  private readonly ts: Float64Array;
  private n = 0;
  private lastTime = Number.NaN;
  private buttons = 0;
  /** Index of the point where the button went down, -1 when up. */
  private pressIndex = -1;
  private pressTime = 0;
  // Completed action features, in order; each K make a window.
  private actions: Float64Array[] = [];
  private actionTimes: number[] = [];
  private actionStarts: number[] = [];
  /** Start time of the action being recorded (set by features()). */
  private startOf = 0;
  /** Time of the last point of the previous action (NaN before the first). */
  private previousEnd = Number.NaN;
  private actionsSeen = 0;
  private windowStart = 0;
  private base = 0;

  /** Completed actions held for windows to come: fewer than windowActions (what a live session costs). */
  get heldActions(): number {
    return this.actions.length;
  }

  constructor(options: MouseOptions = {}) {
    this.options = mouseOptions(options);
    const m = this.options.maxPoints;
    this.xs = new Float64Array(m);
    this.ys = new Float64Array(m);
    this.ts = new Float64Array(m);
  }

  push(e: InputEvent): FeatureWindow[] {
    const k = e.kind;
    if (k === undefined || k.$case !== 'mouse') return NONE;
    const t = e.timeMs;
    const { x, y, buttonMask } = k.value;
    if (this.n > 0 && t - this.lastTime > this.options.pauseMs && this.pressIndex < 0) this.finish(MM, this.n);
    this.lastTime = t;
    const buttons = buttonMask & BUTTONS;
    if (buttons !== 0 && this.buttons === 0) {
      this.addPoint(x, y, t);
      this.pressIndex = this.n - 1;
      this.pressTime = t;
    } else if (buttons === 0 && this.buttons !== 0) {
      this.addPoint(x, y, t);
      this.release(t);
    } else if ((buttonMask & (8 | 16)) === 0) {
      this.addPoint(x, y, t);
    }
    this.buttons = buttons;
    return this.emit();
  }

  private addPoint(x: number, y: number, t: number): void {
    const i = this.n - 1;
    if (i >= 0 && this.ts[i] === t) {
      // Same instant: keep the latest position (no zero time steps).
      this.xs[i] = x;
      this.ys[i] = y;
      return;
    }
    if (this.n === this.options.maxPoints) {
      if (this.pressIndex >= 0) {
        this.pressIndex = -1; // an over-long drag: give it up
        this.n = 0;
      } else {
        this.finish(MM, this.n);
      }
    }
    this.xs[this.n] = x;
    this.ys[this.n] = y;
    this.ts[this.n] = t;
    this.n += 1;
  }

  private release(t: number): void {
    const p = this.pressIndex;
    this.pressIndex = -1;
    if (p < 0) return;
    const clickMs = t - this.pressTime;
    const last = this.n - 1;
    const moved = Math.hypot((this.xs[last] as number) - (this.xs[p] as number), (this.ys[last] as number) - (this.ys[p] as number));
    if (moved > this.options.dragMinPx) {
      // The move up to the press is its own action; the drag starts at the press.
      if (p + 1 >= this.options.minPoints) this.record(this.features(MM, 0, p + 1, Number.NaN, Number.NaN));
      this.record(this.features(DD, p, this.n, clickMs, Number.NaN));
    } else {
      const pauseBefore = p > 0 ? (this.ts[p] as number) - (this.ts[p - 1] as number) : Number.NaN;
      this.record(this.features(PC, 0, p + 1, clickMs, pauseBefore));
    }
    this.n = 0;
  }

  /** Ends the current move as an action (if long enough) and clears the points. */
  private finish(type: number, end: number): void {
    if (end >= this.options.minPoints) this.record(this.features(type, 0, end, Number.NaN, Number.NaN));
    this.n = 0;
  }

  private record(f: Float64Array): void {
    this.actions.push(f);
    this.actionStarts.push(this.startOf);
    this.actionTimes.push(this.lastTime);
    this.actionsSeen += 1;
  }

  /** Mean of each action feature over actions [s, s + k) (NaN-ignoring). */
  private meanOf(s: number, k: number): number[] {
    const v = new Array<number>(NF);
    for (let j = 0; j < NF; j++) {
      let sum = 0;
      let c = 0;
      for (let a = s; a < s + k; a++) {
        const x = (this.actions[a] as Float64Array)[j] as number;
        if (!Number.isNaN(x)) {
          sum += x;
          c += 1;
        }
      }
      v[j] = c > 0 ? sum / c : Number.NaN;
    }
    return v;
  }

  /** The features of actions [s, s + k), one action after another. */
  private concatenated(s: number, k: number): number[] {
    const v = new Array<number>(NF * k);
    for (let a = 0; a < k; a++) {
      const f = this.actions[s + a] as Float64Array;
      for (let j = 0; j < NF; j++) v[a * NF + j] = f[j] as number;
    }
    return v;
  }

  private emit(): FeatureWindow[] {
    const { windowActions, hopActions } = this.options;
    let out: FeatureWindow[] | undefined;
    while (this.actionsSeen - this.windowStart >= windowActions) {
      const s = this.windowStart - this.base;
      const v = this.options.actionVectors ? this.concatenated(s, windowActions) : this.meanOf(s, windowActions);
      (out ??= []).push({
        modality: 'mouse',
        vector: v,
        startTimeMs: this.actionStarts[s] as number,
        endTimeMs: this.actionTimes[s + windowActions - 1] as number,
        count: windowActions,
      });
      this.windowStart += hopActions;
    }
    // Actions no future window needs go as soon as a window is out: a live session may take twenty
    // minutes to complete 256 actions, and holding them until then (some 400 bytes each) grew a
    // scorer's memory by 100 MiB per 1,000 sessions over the first part of every shift.
    const drop = this.windowStart - this.base;
    if (drop > 0) {
      this.actions.splice(0, drop);
      this.actionTimes.splice(0, drop);
      this.actionStarts.splice(0, drop);
      this.base += drop;
    }
    return out ?? NONE;
  }

  /** Features of points [s, e) as an action of `type`. */
  private features(type: number, s: number, e: number, clickMs: number, pauseBeforeMs: number): Float64Array {
    this.startOf = this.ts[s] as number;
    const f = actionFeatures(this.xs, this.ys, this.ts, s, e, type, clickMs, pauseBeforeMs, this.startOf - this.previousEnd);
    this.previousEnd = this.ts[e - 1] as number;
    return f;
  }
}

/** Kinematic features of one action (points [s, e) of the buffers). Exported for tests. */
export function actionFeatures(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  ts: ArrayLike<number>,
  s: number,
  e: number,
  type: number,
  clickMs: number,
  pauseBeforeMs: number,
  gapBeforeMs = Number.NaN,
): Float64Array {
  const f = new Float64Array(NF).fill(Number.NaN);
  const n = e - s;
  const duration = (ts[e - 1] as number) - (ts[s] as number);
  let path = 0;
  let vSum = 0;
  let vLogSum = 0;
  let vSq = 0;
  let vMax = 0;
  let vMaxAt = 0;
  let aAbs = 0;
  let aSum = 0;
  let aSq = 0;
  let jAbs = 0;
  let wAbs = 0;
  let cAbs = 0;
  let crit = 0;
  let steps = 0;
  let accs = 0;
  let jerks = 0;
  let turns = 0;
  let prevV = Number.NaN;
  let prevA = Number.NaN;
  let prevAngle = Number.NaN;
  let turnTotal = 0;
  let vLogSq = 0;
  const hist = new Float64Array(DIRECTION_BINS);
  // Velocity peaks (sub-movements): local maxima of the step velocity above a third of the action's
  // peak, counted after the loop from these.
  const vs = new Float64Array(Math.max(0, e - s - 1));
  for (let i = s + 1; i < e; i++) {
    const dx = (xs[i] as number) - (xs[i - 1] as number);
    const dy = (ys[i] as number) - (ys[i - 1] as number);
    const dt = Math.max((ts[i] as number) - (ts[i - 1] as number), 1);
    const d = Math.hypot(dx, dy);
    path += d;
    const v = d / dt;
    vSum += v;
    vSq += v * v;
    vLogSum += Math.log(v + 1e-3);
    vLogSq += Math.log(v + 1e-3) ** 2;
    vs[steps] = v;
    steps += 1;
    if (v > vMax) {
      vMax = v;
      vMaxAt = (ts[i] as number) - (ts[s] as number);
    }
    if (!Number.isNaN(prevV)) {
      const a = (v - prevV) / dt;
      aAbs += Math.abs(a);
      aSum += a;
      aSq += a * a;
      accs += 1;
      if (!Number.isNaN(prevA)) {
        jAbs += Math.abs((a - prevA) / dt);
        jerks += 1;
      }
      prevA = a;
    }
    prevV = v;
    if (d > 0) {
      const angle = Math.atan2(dy, dx);
      hist[Math.min(DIRECTION_BINS - 1, Math.floor(((angle + Math.PI) / (2 * Math.PI)) * DIRECTION_BINS))] += d;
      if (!Number.isNaN(prevAngle)) {
        let da = angle - prevAngle;
        if (da > Math.PI) da -= 2 * Math.PI;
        else if (da < -Math.PI) da += 2 * Math.PI;
        wAbs += Math.abs(da) / dt;
        turnTotal += Math.abs(da);
        const c = Math.abs(da) / d;
        cAbs += c;
        if (Math.abs(da) > Math.PI / 4) crit += 1;
        turns += 1;
      }
      prevAngle = angle;
    }
  }
  const ex = (xs[e - 1] as number) - (xs[s] as number);
  const ey = (ys[e - 1] as number) - (ys[s] as number);
  const chord = Math.hypot(ex, ey);
  let dev = 0;
  let devSigned = 0;
  if (chord > 0) {
    for (let i = s + 1; i < e - 1; i++) {
      const px = (xs[i] as number) - (xs[s] as number);
      const py = (ys[i] as number) - (ys[s] as number);
      const side = (px * ey - py * ex) / chord;
      if (Math.abs(side) > dev) {
        dev = Math.abs(side);
        devSigned = side;
      }
    }
  }
  let peaks = 0;
  for (let i = 0; i < steps; i++) {
    const v = vs[i] as number;
    if (v > vMax / 3 && (i === 0 || v > (vs[i - 1] as number)) && (i === steps - 1 || v >= (vs[i + 1] as number))) peaks++;
  }
  // Homing: the time after 90% of the path is covered, the corrections before a target.
  let covered = 0;
  let homingFrom = Number.NaN;
  for (let i = s + 1; i < e && Number.isNaN(homingFrom); i++) {
    covered += Math.hypot((xs[i] as number) - (xs[i - 1] as number), (ys[i] as number) - (ys[i - 1] as number));
    if (covered >= 0.9 * path) homingFrom = ts[i] as number;
  }
  let k = 0;
  f[k++] = type === MM ? 1 : 0;
  f[k++] = type === PC ? 1 : 0;
  f[k++] = type === DD ? 1 : 0;
  f[k++] = Math.log(duration + 1);
  f[k++] = Math.log(path + 1);
  f[k++] = path > 0 ? chord / path : Number.NaN;
  f[k++] = Math.log(n);
  const vMean = steps > 0 ? vSum / steps : Number.NaN;
  f[k++] = steps > 0 ? vLogSum / steps : Number.NaN;
  f[k++] = Math.log(vMax + 1e-3);
  f[k++] = steps > 1 && vMean > 0 ? Math.sqrt(Math.max(vSq / steps - vMean * vMean, 0)) / vMean : Number.NaN;
  f[k++] = accs > 0 ? aAbs / accs : Number.NaN;
  f[k++] = accs > 1 ? Math.sqrt(Math.max(aSq / accs - (aSum / accs) ** 2, 0)) : Number.NaN;
  f[k++] = jerks > 0 ? jAbs / jerks : Number.NaN;
  f[k++] = turns > 0 ? wAbs / turns : Number.NaN;
  f[k++] = turns > 0 ? cAbs / turns : Number.NaN;
  f[k++] = Math.log(dev + 1);
  f[k++] = crit;
  f[k++] = chord > 0 ? ex / chord : Number.NaN;
  f[k++] = chord > 0 ? ey / chord : Number.NaN;
  f[k++] = duration > 0 ? vMaxAt / duration : Number.NaN;
  f[k++] = Number.isNaN(clickMs) ? Number.NaN : Math.log(clickMs + 1);
  f[k++] = Number.isNaN(pauseBeforeMs) ? Number.NaN : Math.log(pauseBeforeMs + 1);
  f[k++] = steps > 1 ? Math.sqrt(Math.max(vLogSq / steps - (vLogSum / steps) ** 2, 0)) : Number.NaN;
  f[k++] = Math.log(turnTotal + 1);
  f[k++] = chord > 0 ? devSigned / chord : Number.NaN;
  f[k++] = steps > 0 ? peaks : Number.NaN;
  f[k++] = duration > 0 && path > 0 ? ((ts[e - 1] as number) - homingFrom) / duration : Number.NaN;
  f[k++] = Number.isFinite(gapBeforeMs) && gapBeforeMs >= 0 ? Math.log(gapBeforeMs + 1) : Number.NaN;
  for (let b = 0; b < DIRECTION_BINS; b++) f[k++] = path > 0 ? (hist[b] as number) / path : Number.NaN;
  return f;
}

const NONE: FeatureWindow[] = [];
Object.freeze(NONE);
