/**
 * The forged-timing attack on the hostile-client rule (scorer/timing/client-times.ts): the
 * impostor's client rewrites the times it claims (`clientTimeMs`) toward the agent's enrolled
 * behaviour, as far as the rule lets a claim move.
 *
 * What the forger is assumed to know:
 * - the rule's code and parameters: a claim is used only while its lag behind arrival stays within
 *   the envelope (at most `maxEnvelopeMs`, 250 ms by default) of the session's clock offset, which
 *   is set by the claims that lag least;
 * - the agent's own behaviour, recorded by a complicit agent in their own browser from their true
 *   event times: per key the dwell, per pair of key classes the flight, the mouse's step speeds,
 *   click durations and pauses before a click (a distribution per kind, `learnForgerProfile`);
 * - its own true event times (what its page would honestly send), as they happen: it decides each
 *   claim from the events so far, never from later ones (it cannot hold a claim back without
 *   holding the event back);
 * - NOT the network's delay of each event: arrival is the send time plus the link's delay.
 *
 * The attack: each claim lies in a band [true - budget, true]. The band's top keeps the rule's
 * clock offset (the least arrival - claim) where an honest client's would be, so a claim is never
 * judged to come from the future more often than an honest one; the budget is how far the forger
 * dares to go below it (the rule's cap less the link's jitter: a wider band is judged outside the
 * envelope and falls back to arrival, counted as inconsistency). Each interval the models measure
 * (dwell, flight, mouse step speed, click, pause before a click) is mapped by quantile: the
 * impostor's interval, ranked among its own earlier ones, becomes the agent's interval of the same
 * rank, so the forged intervals follow the agent's distribution, not only its median. The claim
 * is the reference event's claim plus that interval, clamped into the band and never below the
 * previous claim. Events with nothing to map rest at the band's middle, leaving room both ways;
 * every `anchorMs` one event is claimed at its true time, so the clock offset stays anchored.
 *
 * What the band cannot give: the sum of intervals between two claims is fixed up to the budget,
 * so an impostor who types or points slower or faster than the agent overall keeps that pace.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { VdiguardError } from '../../lib/errors.js';
import { keyClassOf } from '../features/keyclass.js';
import { lowerBound, quantileSorted } from '../features/stats.js';

export interface ForgerOptions {
  /** How far below its true time an event may be claimed (ms): the band's width. */
  readonly budgetMs: number;
  /**
   * The band widens from nothing to the budget over this much of the forger's true time (ms): the
   * rule measures its envelope on consistent lags only and widens it by at most its margin per
   * measurement, so a session whose envelope an honest page measured first is opened step by step.
   */
  readonly rampMs: number;
  /** An event is claimed at its true time at least this often (ms of true time). */
  readonly anchorMs: number;
  /** A press this long after the previous one starts a new burst, as the keystroke extractor's pause (ms). */
  readonly keyPauseMs: number;
  /** A pointer gap this long ends a mouse action, as the mouse extractor's pause (ms). */
  readonly mousePauseMs: number;
  /** Samples a distribution needs before it is used (the agent's) or ranked in (the impostor's). */
  readonly minSamples: number;
  /** The impostor's own intervals it ranks in, per kind: the most recent ones. */
  readonly ownSamples: number;
}

export const DEFAULT_FORGER_OPTIONS: ForgerOptions = {
  budgetMs: 50,
  rampMs: 20_000,
  anchorMs: 2000,
  keyPauseMs: 1500,
  mousePauseMs: 500,
  minSamples: 5,
  ownSamples: 512,
};

/**
 * How one event relates to an earlier one: the interval the models measure between them. Kinds,
 * most specific first: the forger uses the first one the agent has enough samples of.
 */
interface Relation {
  /** Index of the earlier event the interval is measured from. */
  readonly ref: number;
  readonly kinds: readonly string[];
  /** The interval in ms, or for `speed` the step's speed in px/ms. */
  readonly value: number;
  /** For `speed`: the step's length in px (the interval is length / speed). */
  readonly distancePx?: number;
}

const BUTTONS = 1 | 2 | 4;
const WHEEL = 8 | 16;

/**
 * Walks a stream in order and says, for each event, which interval it closes (or undefined: none
 * the forger maps). Shared by learning the agent's profile and forging, so both measure alike.
 */
class IntervalWalker {
  private lastPress: { index: number; timeMs: number; cls: number } | undefined;
  /** keysym -> its press, while held. In memory only: a key's identity never leaves the forger. */
  private readonly held = new Map<number, { index: number; timeMs: number }>();
  private lastMouse: { index: number; timeMs: number; x: number; y: number; mask: number } | undefined;
  private buttonDown: { index: number; timeMs: number } | undefined;

  constructor(private readonly pauses: Pick<ForgerOptions, 'keyPauseMs' | 'mousePauseMs'>) {}

  next(e: InputEvent, index: number, timeMs: number): Relation | undefined {
    const k = e.kind;
    if (k?.$case === 'key') return this.key(k.value.keysym, k.value.pressed, index, timeMs);
    if (k?.$case === 'mouse') return this.mouse(k.value.x, k.value.y, k.value.buttonMask, index, timeMs);
    return undefined;
  }

  private key(keysym: number, pressed: boolean, index: number, t: number): Relation | undefined {
    const cls = keyClassOf(keysym);
    if (!pressed) {
      const p = this.held.get(keysym);
      this.held.delete(keysym);
      return p && { ref: p.index, kinds: [`dwell:${keysym}`, `dwell:c${cls}`, 'dwell'], value: t - p.timeMs };
    }
    if (this.held.has(keysym)) return undefined; // auto-repeat: no new keystroke
    this.held.set(keysym, { index, timeMs: t });
    const prev = this.lastPress;
    this.lastPress = { index, timeMs: t, cls };
    if (!prev || t - prev.timeMs > this.pauses.keyPauseMs) return undefined;
    return { ref: prev.index, kinds: [`flight:c${prev.cls}-${cls}`, 'flight'], value: t - prev.timeMs };
  }

  private mouse(x: number, y: number, mask: number, index: number, t: number): Relation | undefined {
    const prev = this.lastMouse;
    this.lastMouse = { index, timeMs: t, x, y, mask };
    if (!prev || (mask & WHEEL) !== 0 || (prev.mask & WHEEL) !== 0) return undefined;
    const dt = t - prev.timeMs;
    const down = mask & BUTTONS;
    const wasDown = prev.mask & BUTTONS;
    if (down !== 0 && wasDown === 0) {
      this.buttonDown = { index, timeMs: t };
      return dt <= this.pauses.mousePauseMs ? { ref: prev.index, kinds: ['pauseBeforeClick'], value: dt } : undefined;
    }
    if (down === 0 && wasDown !== 0) {
      const d = this.buttonDown;
      this.buttonDown = undefined;
      return d && { ref: d.index, kinds: ['click'], value: t - d.timeMs };
    }
    if (dt > this.pauses.mousePauseMs || dt <= 0) return undefined;
    const distancePx = Math.hypot(x - prev.x, y - prev.y);
    return distancePx > 0 ? { ref: prev.index, kinds: ['speed'], value: distancePx / dt, distancePx } : undefined;
  }
}

/** The agent's intervals per kind, sorted: what a complicit agent records in their own browser. */
export interface ForgerProfile {
  readonly intervals: ReadonlyMap<string, readonly number[]>;
}

/** The agent's profile from events on their true times (their enrolment, as their browser saw it). */
export function learnForgerProfile(events: readonly InputEvent[], options: Partial<ForgerOptions> = {}): ForgerProfile {
  const walker = new IntervalWalker({ ...DEFAULT_FORGER_OPTIONS, ...options });
  const intervals = new Map<string, number[]>();
  events.forEach((e, i) => {
    const r = walker.next(e, i, e.timeMs);
    if (!r) return;
    for (const kind of r.kinds) {
      const list = intervals.get(kind) ?? [];
      list.push(r.value);
      intervals.set(kind, list);
    }
  });
  for (const list of intervals.values()) list.sort((a, b) => a - b);
  return { intervals };
}

/** Where `x` ranks among sorted values, in (0, 1) (mid-rank of ties). */
function rankIn(sorted: readonly number[], x: number): number {
  const below = lowerBound(sorted, x);
  let equal = 0;
  while (below + equal < sorted.length && sorted[below + equal] === x) equal++;
  return (below + equal / 2 + 0.5) / (sorted.length + 1);
}

/** The impostor's own recent intervals per kind: sorted, and in arrival order to drop the oldest. */
class OwnIntervals {
  private readonly sorted = new Map<string, number[]>();
  private readonly order = new Map<string, number[]>();

  constructor(private readonly limit: number) {}

  get(kind: string): readonly number[] {
    return this.sorted.get(kind) ?? [];
  }

  add(kind: string, x: number): void {
    const sorted = this.sorted.get(kind) ?? [];
    const order = this.order.get(kind) ?? [];
    sorted.splice(lowerBound(sorted, x), 0, x);
    order.push(x);
    if (order.length > this.limit) sorted.splice(lowerBound(sorted, order.shift() as number), 1);
    this.sorted.set(kind, sorted);
    this.order.set(kind, order);
  }
}

/**
 * The agent's interval for this one of the impostor's: the agent's value at the rank the
 * impostor's own interval has among its earlier ones of the same kind (the median until it has
 * `minSamples`), or undefined when the agent has too few of any kind to map to.
 */
function mapInterval(r: Relation, profile: ForgerProfile, own: OwnIntervals, minSamples: number): number | undefined {
  const at = r.kinds.findIndex((kind) => (profile.intervals.get(kind)?.length ?? 0) >= minSamples);
  if (at < 0) return undefined;
  const agent = profile.intervals.get(r.kinds[at] as string) as readonly number[];
  const ranked = r.kinds.slice(at).map((kind) => own.get(kind)).find((s) => s.length >= minSamples);
  const q = ranked ? rankIn(ranked, r.value) : 0.5;
  const value = quantileSorted(agent, agent.length, q);
  if (r.distancePx === undefined) return value;
  return value > 0 ? r.distancePx / value : undefined;
}

/**
 * The impostor's events (timeMs: their true times, as they are sent) with `clientTimeMs` set to the
 * forged claims; timeMs is left for the link to delay. Each claim depends only on the events before
 * it and itself, as a real client's must.
 */
export function forgeClientTimes(events: readonly InputEvent[], profile: ForgerProfile, options: Partial<ForgerOptions> = {}): InputEvent[] {
  const o = { ...DEFAULT_FORGER_OPTIONS, ...options };
  if (!(o.budgetMs >= 0) || !(o.anchorMs > 0) || !(o.rampMs >= 0)) {
    throw new RangeError(`the forger's budget and ramp must be >= 0 ms and its anchor interval > 0 ms (got ${o.budgetMs}, ${o.rampMs}, ${o.anchorMs})`);
  }
  const start = events.length > 0 ? (events[0] as InputEvent).timeMs : 0;
  const bandAt = (t: number): number => (o.rampMs > 0 ? o.budgetMs * Math.min(1, (t - start) / o.rampMs) : o.budgetMs);
  const walker = new IntervalWalker(o);
  const own = new OwnIntervals(o.ownSamples);
  const claims: number[] = [];
  let lastClaim = Number.NEGATIVE_INFINITY;
  let anchoredAt = Number.NEGATIVE_INFINITY;
  return events.map((e, i) => {
    const t = e.timeMs;
    const r = walker.next(e, i, t);
    const interval = r && mapInterval(r, profile, own, o.minSamples);
    if (r) for (const kind of r.kinds) own.add(kind, r.value);
    let claim: number;
    if (t - anchoredAt >= o.anchorMs) {
      claim = t;
    } else {
      const band = bandAt(t);
      const target = r && interval !== undefined ? (claims[r.ref] as number) + interval : t - band / 2;
      claim = Math.min(t, Math.max(t - band, target));
    }
    claim = Math.max(lastClaim, claim);
    if (claim >= t) anchoredAt = t;
    lastClaim = claim;
    claims.push(claim);
    return { ...e, clientTimeMs: Math.round(claim * 1000) / 1000 };
  });
}

/**
 * A stream as it went over the link with client times (timeMs: arrival, clientTimeMs: the page's
 * true time, as `overLink` sends it), with the true claims replaced by forged ones: the forger
 * works on its true times, and the link's delay stays what it was.
 */
export function forgeOverLink(events: readonly InputEvent[], profile: ForgerProfile, options: Partial<ForgerOptions> = {}): InputEvent[] {
  const forged = forgeClientTimes(recordedTimes(events), profile, options);
  return events.map((e, i) => ({ ...e, clientTimeMs: (forged[i] as InputEvent).clientTimeMs }));
}

/** The page's own times of a stream sent with client times: what the agent's browser recorded. */
export function recordedTimes(events: readonly InputEvent[]): InputEvent[] {
  return events.map(({ clientTimeMs, ...e }, i) => {
    if (clientTimeMs === undefined) throw new VdiguardError('invalid-argument', `event ${i} carries no client time: forging rewrites the page's claims, so the stream must be sent with client times (--client-times)`);
    return { ...e, timeMs: clientTimeMs };
  });
}
