/**
 * The forgery test of the hostile-client rule (client-times.ts): do the client's lags follow the
 * intervals it claims?
 *
 * An event's offset is `arrival - claimed time`. On an honest page it varies only with the
 * network and the browser's own delays, which know nothing of what the event was: across any
 * interval the models measure (a key's dwell, the flight from one press to the next, a click), the
 * change in offset is noise of mean zero whose size does not depend on how long the interval was.
 * A client that rewrites its times moves each claim by `true time - claimed time`, so across an
 * interval it changes the offset by exactly what it took off the interval:
 * `change = true interval - claimed interval`. Making another person's rhythm out of one's own
 * means changing intervals in a way that depends on them (shorter dwells made longer, a wider or
 * narrower spread), and that shows as a mean change away from zero or a slope of the change on
 * the claimed interval. What is left to a forger that passes both tests is a claimed interval of
 * the same mean and the same covariance with its change: adding noise, or reshaping beyond the
 * second moment, which moves a person's rhythm little.
 *
 * Pairs are tested per kind over the last `windowPairs`. Two honest effects are kept out:
 * - arrival order: an event cannot arrive before the one sent before it, so over a short interval
 *   a large negative change is cut off (`change >= -interval`). Only pairs with
 *   `|change| < interval - orderMarginMs` are kept, cutting both sides alike, so an honest
 *   change stays symmetric about zero whatever the interval.
 * - the pointer's moves: browsers dispatch them once per frame, so their offsets move with the
 *   interval by design (and coalesced samples are another path). Only discrete events are paired:
 *   key presses and releases, button presses and releases.
 * A key's identity is held only while it is down, to pair its release; it never leaves this object.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';

export interface LagCouplingPolicy {
  /** Pairs per kind the test looks at: the most recent. */
  readonly windowPairs: number;
  /** Pairs of a kind needed before it is tested. */
  readonly minPairs: number;
  /** How many standard errors a mean change or a slope must lie from zero. */
  readonly z: number;
  /** The least mean change (ms) and the least slope that count: smaller ones change a rhythm too little to matter. */
  readonly minMeanMs: number;
  readonly minSlope: number;
  /** A pair is kept only while its change in offset is this much smaller than its interval (ms). */
  readonly orderMarginMs: number;
  /** Intervals longer than this (ms) are not paired: pauses, not rhythm. */
  readonly maxIntervalMs: number;
}

export const DEFAULT_LAG_COUPLING_POLICY: LagCouplingPolicy = {
  windowPairs: 128,
  minPairs: 48,
  z: 5,
  minMeanMs: 8,
  minSlope: 0.15,
  orderMarginMs: 2,
  maxIntervalMs: 1000,
};

export type PairKind = 'dwell' | 'flight' | 'click';

/** What the test found when it fired: which kind of interval, and the effect measured. */
export interface Coupling {
  readonly kind: PairKind;
  readonly pairs: number;
  readonly meanChangeMs: number;
  readonly slope: number;
}

const PAIR_NAMES: Record<PairKind, string> = { dwell: 'key dwells', flight: 'flights between key presses', click: 'clicks' };

/** What was found, for a reason text: timings only. */
export function describeCoupling(c: Coupling): string {
  return `over ${c.pairs} ${PAIR_NAMES[c.kind]} the lag behind arrival changed by ${c.meanChangeMs.toFixed(1)} ms on average and by ${c.slope.toFixed(2)} ms per ms of the claimed interval, where an honest page's changes are noise around 0`;
}

interface Mark {
  readonly claimedMs: number;
  /** arrival - claimed, ms; undefined when the event's claim was not used (inconsistent). */
  readonly offsetMs: number | undefined;
}

const BUTTONS = 1 | 2 | 4;

/** An effect in standard errors; on a link without noise any effect is certain. */
function zOf(effect: number, standardError: number): number {
  if (standardError > 0) return effect / standardError;
  return effect === 0 ? 0 : Math.sign(effect) * Number.POSITIVE_INFINITY;
}

/**
 * Recent (interval, change) pairs of one kind, and the test on them. Sums are kept as pairs come
 * and go, so a test costs the same whatever the window; they are summed afresh once per window so
 * rounding cannot build up over a long session.
 */
class PairWindow {
  private readonly intervals: number[] = [];
  private readonly changes: number[] = [];
  private next = 0;
  private sums = { x: 0, y: 0, xx: 0, xy: 0, yy: 0 };

  constructor(private readonly policy: LagCouplingPolicy) {}

  add(intervalMs: number, changeMs: number): void {
    if (this.intervals.length < this.policy.windowPairs) {
      this.intervals.push(intervalMs);
      this.changes.push(changeMs);
      this.move(intervalMs, changeMs, 1);
    } else {
      this.move(this.intervals[this.next] as number, this.changes[this.next] as number, -1);
      this.intervals[this.next] = intervalMs;
      this.changes[this.next] = changeMs;
      this.move(intervalMs, changeMs, 1);
    }
    this.next = (this.next + 1) % this.policy.windowPairs;
    if (this.next === 0) this.resum();
  }

  /** The mean change and the slope of change on interval, with their standard errors. */
  test(): { pairs: number; mean: number; slope: number; meanZ: number; slopeZ: number } | undefined {
    const n = this.intervals.length;
    if (n < this.policy.minPairs) return undefined;
    const s = this.sums;
    const mx = s.x / n;
    const my = s.y / n;
    const sxx = Math.max(0, s.xx - n * mx * mx);
    const sxy = s.xy - n * mx * my;
    const syy = Math.max(0, s.yy - n * my * my);
    const sd = Math.sqrt(syy / (n - 1));
    const slope = sxx > 0 ? sxy / sxx : 0;
    const residual = Math.max(0, syy - slope * sxy) / (n - 2);
    const slopeSe = sxx > 0 ? Math.sqrt(residual / sxx) : Number.POSITIVE_INFINITY;
    return { pairs: n, mean: my, slope, meanZ: zOf(my, sd / Math.sqrt(n)), slopeZ: zOf(slope, slopeSe) };
  }

  private move(x: number, y: number, sign: 1 | -1): void {
    const s = this.sums;
    s.x += sign * x;
    s.y += sign * y;
    s.xx += sign * x * x;
    s.xy += sign * x * y;
    s.yy += sign * y * y;
  }

  private resum(): void {
    this.sums = { x: 0, y: 0, xx: 0, xy: 0, yy: 0 };
    for (let i = 0; i < this.intervals.length; i++) this.move(this.intervals[i] as number, this.changes[i] as number, 1);
  }
}

export class LagCouplingTest {
  private readonly windows: Record<PairKind, PairWindow>;
  /** keysym -> its press, while held. */
  private readonly held = new Map<number, Mark>();
  private lastPress: Mark | undefined;
  private buttonDown: Mark | undefined;
  private lastMask = 0;

  constructor(private readonly policy: LagCouplingPolicy = DEFAULT_LAG_COUPLING_POLICY) {
    this.windows = { dwell: new PairWindow(policy), flight: new PairWindow(policy), click: new PairWindow(policy) };
  }

  /**
   * The next event on the client's claimed time, with its offset when its claim was used; returns
   * what the test found if this event's pair made it fire.
   */
  observe(kind: InputEvent['kind'], claimedMs: number, offsetMs: number | undefined): Coupling | undefined {
    const mark: Mark = { claimedMs, offsetMs };
    if (kind?.$case === 'key') {
      const { keysym, pressed } = kind.value;
      if (!pressed) {
        const press = this.held.get(keysym);
        this.held.delete(keysym);
        return press && this.pair('dwell', press, mark);
      }
      if (this.held.has(keysym)) return undefined;
      this.held.set(keysym, mark);
      const prev = this.lastPress;
      this.lastPress = mark;
      return prev && this.pair('flight', prev, mark);
    }
    if (kind?.$case === 'mouse') {
      const down = kind.value.buttonMask & BUTTONS;
      const wasDown = this.lastMask & BUTTONS;
      this.lastMask = kind.value.buttonMask;
      if (down !== 0 && wasDown === 0) this.buttonDown = mark;
      if (down === 0 && wasDown !== 0) {
        const press = this.buttonDown;
        this.buttonDown = undefined;
        return press && this.pair('click', press, mark);
      }
    }
    return undefined;
  }

  private pair(kind: PairKind, from: Mark, to: Mark): Coupling | undefined {
    if (from.offsetMs === undefined || to.offsetMs === undefined) return undefined;
    const interval = to.claimedMs - from.claimedMs;
    const change = to.offsetMs - from.offsetMs;
    if (interval > this.policy.maxIntervalMs || Math.abs(change) >= interval - this.policy.orderMarginMs) return undefined;
    const w = this.windows[kind];
    w.add(interval, change);
    const t = w.test();
    if (!t) return undefined;
    const p = this.policy;
    const meanFires = Math.abs(t.meanZ) >= p.z && Math.abs(t.mean) >= p.minMeanMs;
    const slopeFires = Math.abs(t.slopeZ) >= p.z && Math.abs(t.slope) >= p.minSlope;
    return meanFires || slopeFires ? { kind, pairs: t.pairs, meanChangeMs: t.mean, slope: t.slope } : undefined;
  }
}
