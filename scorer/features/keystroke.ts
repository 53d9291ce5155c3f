/**
 * Keystroke windows: pairs presses with releases, keeps the class and times of each keystroke, and
 * each time N keystrokes are complete emits their dwell and flight statistics as one window.
 *
 * Per event the work is a map look-up and a few array writes; statistics are computed once per
 * window into preallocated buffers. Key identities live only in `held` (keysym -> keystroke), from
 * press to release, and never leave the extractor.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { isLetterClass, keyClassOf, KeyClass, KEY_CLASS_NAMES } from './keyclass.js';
import { logMs, medianOf, quantileSorted, sortPrefix } from './stats.js';
import type { FeatureWindow, WindowExtractor } from './types.js';

export interface KeystrokeOptions {
  /** Keystrokes per window (default 50, as in the TypeNet protocol). */
  windowKeys?: number;
  /** Keystrokes between the starts of consecutive windows (default = windowKeys: no overlap). */
  hopKeys?: number;
  /** A flight (press to next press) longer than this, ms, is a pause: left out of the flight statistics (default 1500). */
  pauseMs?: number;
  /** A key held longer than this, ms, has no usable dwell (auto-repeat, lost release) (default 1500). */
  maxDwellMs?: number;
  /**
   * Window vector layout: false (default) = KEYSTROKE_FEATURES; true = KEYSTROKE_FEATURES followed
   * by KEY_UNIT_FEATURES for each keystroke of the window, for models that score each keystroke.
   * Key classes only: key identities never leave the extractor.
   */
  keyVectors?: boolean;
}

/** The keystroke feature names, in vector order. Times are natural logs of ms unless named `Ms`. */
export const KEYSTROKE_FEATURES = [
  'dwell.q25',
  'dwell.q50',
  'dwell.q75',
  'dwell.letterLeft.q50',
  'dwell.letterRight.q50',
  'dwell.space.q50',
  'dwell.shift.q50',
  'dwell.erase.q50',
  'flightPP.q25',
  'flightPP.q50',
  'flightPP.q75',
  'flightRPMs.q25',
  'flightRPMs.q50',
  'flightRPMs.q75',
  'flightPP.letterSameHand.q50',
  'flightPP.letterOtherHand.q50',
  'flightPP.letterToSpace.q50',
  'flightPP.spaceToLetter.q50',
  'flightPP.toErase.q50',
  'flightPP.shiftToLetter.q50',
  'rate.erase',
  'rate.shift',
  'rate.modifier',
  'rate.rollover',
  'rate.pause',
] as const;

/** Per-keystroke features (keyVectors): class and previous class one-hot, then timings. */
export const KEY_UNIT_FEATURES: readonly string[] = [
  ...KEY_CLASS_NAMES.map((c) => `class.${c}`),
  ...KEY_CLASS_NAMES.map((c) => `previousClass.${c}`),
  'logDwell',
  'logFlightPP',
  'flightRPSeconds',
  'previous.logDwell',
];
const NC = KEY_CLASS_NAMES.length;

const DEFAULTS = { windowKeys: 50, pauseMs: 1500, maxDwellMs: 1500 };

/** The options with defaults applied, checked. */
export function keystrokeOptions(o: KeystrokeOptions = {}): Required<KeystrokeOptions> {
  const windowKeys = o.windowKeys ?? DEFAULTS.windowKeys;
  const r = { windowKeys, hopKeys: o.hopKeys ?? windowKeys, pauseMs: o.pauseMs ?? DEFAULTS.pauseMs, maxDwellMs: o.maxDwellMs ?? DEFAULTS.maxDwellMs, keyVectors: o.keyVectors ?? false };
  if (!Number.isInteger(r.windowKeys) || r.windowKeys < 5 || r.windowKeys > 5000) throw new RangeError('windowKeys must be a whole number from 5 to 5000');
  if (!Number.isInteger(r.hopKeys) || r.hopKeys < 1 || r.hopKeys > r.windowKeys) throw new RangeError('hopKeys must be a whole number from 1 to windowKeys');
  if (!(r.pauseMs > 0) || !(r.maxDwellMs > 0)) throw new RangeError('pauseMs and maxDwellMs must be positive');
  return r;
}

const PENDING = Infinity;
/** Flight groups, in KEYSTROKE_FEATURES order. */
const G_SAME = 0;
const G_OTHER = 1;
const G_TO_SPACE = 2;
const G_FROM_SPACE = 3;
const G_TO_ERASE = 4;
const G_SHIFT_LETTER = 5;
const GROUPS = 6;
const DWELL_CLASSES = [KeyClass.letterLeft, KeyClass.letterRight, KeyClass.space, KeyClass.shift, KeyClass.erase];

export class KeystrokeExtractor implements WindowExtractor {
  readonly options: Required<KeystrokeOptions>;
  // Keystrokes in press order; index i here is keystroke number base + i.
  private press: number[] = [];
  private release: number[] = [];
  private cls: number[] = [];
  private base = 0;
  /** keysym -> keystroke number of a key being held. */
  private readonly held = new Map<number, number>();
  /** First keystroke number not yet resolved (released or timed out). */
  private resolved = 0;
  /** First keystroke number of the next window. */
  private windowStart = 0;
  // Per-window scratch buffers.
  private readonly bufA: Float64Array;
  private readonly bufB: Float64Array;
  private readonly groupBufs: Float64Array[];
  private readonly groupN = new Int32Array(GROUPS);

  /** Keystrokes held for windows to come: fewer than windowKeys, and those still pressed (what a live session costs). */
  get heldKeys(): number {
    return this.press.length;
  }

  constructor(options: KeystrokeOptions = {}) {
    this.options = keystrokeOptions(options);
    const n = this.options.windowKeys;
    this.bufA = new Float64Array(n);
    this.bufB = new Float64Array(n);
    this.groupBufs = Array.from({ length: GROUPS }, () => new Float64Array(n));
  }

  push(e: InputEvent): FeatureWindow[] {
    const k = e.kind;
    if (k === undefined || k.$case !== 'key') return this.advance(e.timeMs);
    const { keysym, pressed } = k.value;
    const t = e.timeMs;
    if (pressed) {
      const prev = this.held.get(keysym);
      // A press of a key already held is auto-repeat, not a new keystroke, unless the key has been
      // "held" longer than maxDwellMs: then its release was lost and this is a new keystroke.
      const i = prev === undefined ? -1 : prev - this.base;
      if (prev === undefined || i < 0 || t - (this.press[i] as number) > this.options.maxDwellMs) {
        if (i >= 0 && this.release[i] === PENDING) this.release[i] = Number.NaN;
        this.held.set(keysym, this.base + this.press.length);
        this.press.push(t);
        this.release.push(PENDING);
        this.cls.push(keyClassOf(keysym));
      }
    } else {
      const n = this.held.get(keysym);
      if (n !== undefined) {
        this.held.delete(keysym);
        const i = n - this.base;
        if (i >= 0 && this.release[i] === PENDING) this.release[i] = t;
      }
    }
    return this.advance(t);
  }

  private advance(now: number): FeatureWindow[] {
    const maxDwell = this.options.maxDwellMs;
    const total = this.base + this.press.length;
    while (this.resolved < total) {
      const i = this.resolved - this.base;
      if (this.release[i] === PENDING) {
        if (now - (this.press[i] as number) <= maxDwell) break;
        this.release[i] = Number.NaN; // held too long: no dwell
      }
      this.resolved += 1;
    }
    const { windowKeys, hopKeys } = this.options;
    let out: FeatureWindow[] | undefined;
    while (this.resolved - this.windowStart >= windowKeys) {
      (out ??= []).push(this.window(this.windowStart - this.base));
      this.windowStart += hopKeys;
    }
    this.trim();
    return out ?? NONE;
  }

  /**
   * Drops keystrokes no future window needs, once a window is out (mouse.ts says why not in blocks:
   * a session may take an hour to type a block of 1,024).
   */
  private trim(): void {
    const drop = Math.min(this.windowStart, this.resolved) - this.base;
    if (drop < 1) return;
    this.press.splice(0, drop);
    this.release.splice(0, drop);
    this.cls.splice(0, drop);
    this.base += drop;
  }

  private window(s: number): FeatureWindow {
    const n = this.options.windowKeys;
    const { pauseMs } = this.options;
    const press = this.press;
    const release = this.release;
    const cls = this.cls;
    const v = new Array<number>(KEYSTROKE_FEATURES.length);
    let f = 0;
    // Dwell, all keys.
    let nd = 0;
    let endTime = press[s + n - 1] as number;
    for (let i = s; i < s + n; i++) {
      const r = release[i] as number;
      if (!Number.isNaN(r)) {
        this.bufA[nd++] = logMs(r - (press[i] as number));
        if (r > endTime) endTime = r;
      }
    }
    const dw = sortPrefix(this.bufA, nd);
    v[f++] = quantileSorted(dw, nd, 0.25);
    v[f++] = quantileSorted(dw, nd, 0.5);
    v[f++] = quantileSorted(dw, nd, 0.75);
    // Dwell per class.
    for (const c of DWELL_CLASSES) {
      let m = 0;
      for (let i = s; i < s + n; i++) {
        const r = release[i] as number;
        if (cls[i] === c && !Number.isNaN(r)) this.bufA[m++] = logMs(r - (press[i] as number));
      }
      v[f++] = medianOf(this.bufA, m);
    }
    // Flights.
    let np = 0;
    let nr = 0;
    let pauses = 0;
    let rollover = 0;
    let pairs = 0;
    this.groupN.fill(0);
    for (let i = s + 1; i < s + n; i++) {
      const pp = (press[i] as number) - (press[i - 1] as number);
      const prevRelease = release[i - 1] as number;
      pairs += 1;
      if (!Number.isNaN(prevRelease) && prevRelease > (press[i] as number)) rollover += 1;
      if (pp > pauseMs) {
        pauses += 1;
        continue;
      }
      const lpp = logMs(pp);
      this.bufA[np++] = lpp;
      if (!Number.isNaN(prevRelease)) this.bufB[nr++] = (press[i] as number) - prevRelease;
      const a = cls[i - 1] as number;
      const b = cls[i] as number;
      const la = isLetterClass(a);
      const lb = isLetterClass(b);
      if (la && lb) this.addGroup(a === b ? G_SAME : G_OTHER, lpp);
      if (la && b === KeyClass.space) this.addGroup(G_TO_SPACE, lpp);
      if (a === KeyClass.space && lb) this.addGroup(G_FROM_SPACE, lpp);
      if (b === KeyClass.erase) this.addGroup(G_TO_ERASE, lpp);
      if (a === KeyClass.shift && lb) this.addGroup(G_SHIFT_LETTER, lpp);
    }
    const pps = sortPrefix(this.bufA, np);
    v[f++] = quantileSorted(pps, np, 0.25);
    v[f++] = quantileSorted(pps, np, 0.5);
    v[f++] = quantileSorted(pps, np, 0.75);
    const rps = sortPrefix(this.bufB, nr);
    v[f++] = quantileSorted(rps, nr, 0.25);
    v[f++] = quantileSorted(rps, nr, 0.5);
    v[f++] = quantileSorted(rps, nr, 0.75);
    for (let g = 0; g < GROUPS; g++) v[f++] = medianOf(this.groupBufs[g] as Float64Array, this.groupN[g] as number);
    // Rates.
    let erase = 0;
    let shift = 0;
    let modifier = 0;
    for (let i = s; i < s + n; i++) {
      const c = cls[i];
      if (c === KeyClass.erase) erase += 1;
      else if (c === KeyClass.shift) shift += 1;
      else if (c === KeyClass.modifier) modifier += 1;
    }
    v[f++] = erase / n;
    v[f++] = shift / n;
    v[f++] = modifier / n;
    v[f++] = pairs > 0 ? rollover / pairs : Number.NaN;
    v[f++] = pairs > 0 ? pauses / pairs : Number.NaN;
    if (this.options.keyVectors) this.appendKeys(v, s, n);
    return { modality: 'keystroke', vector: v, startTimeMs: press[s] as number, endTimeMs: endTime, count: n };
  }

  /** KEY_UNIT_FEATURES of keystrokes [s, s + n), appended to v. */
  private appendKeys(v: number[], s: number, n: number): void {
    const { press, release, cls } = this;
    const { pauseMs } = this.options;
    const dwell = (i: number): number => {
      const r = release[i] as number;
      return i < 0 || Number.isNaN(r) || r === PENDING ? Number.NaN : logMs(r - (press[i] as number));
    };
    for (let i = s; i < s + n; i++) {
      const u = new Array<number>(2 * NC).fill(0);
      u[cls[i] as number] = 1;
      const hasPrev = i > 0;
      if (hasPrev) u[NC + (cls[i - 1] as number)] = 1;
      const pp = hasPrev ? (press[i] as number) - (press[i - 1] as number) : Number.NaN;
      const inFlow = pp <= pauseMs;
      const prevRelease = hasPrev ? (release[i - 1] as number) : Number.NaN;
      u.push(
        dwell(i),
        inFlow ? logMs(pp) : Number.NaN,
        inFlow && Number.isFinite(prevRelease) ? ((press[i] as number) - prevRelease) / 1000 : Number.NaN,
        hasPrev && inFlow ? dwell(i - 1) : Number.NaN,
      );
      for (const x of u) v.push(x);
    }
  }

  private addGroup(g: number, value: number): void {
    const buf = this.groupBufs[g] as Float64Array;
    buf[this.groupN[g] as number] = value;
    this.groupN[g] = (this.groupN[g] as number) + 1;
  }
}

const NONE: FeatureWindow[] = [];
Object.freeze(NONE);
