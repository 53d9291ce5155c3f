/**
 * The baseline detector: scaled Manhattan distance (Killourhy & Maxion 2009, the best detector of
 * the CMU keystroke benchmark). Per feature the enrolment mean and mean absolute deviation; the
 * distance of a window is the mean over its features of |x - mean| / scale. Calibrated inside fit:
 * held-out distances of the enrolment windows themselves (leave-one-out, or k-fold for large sets)
 * give the mean and sd of the log-distance, so score() is a z-like value.
 */
import { VdiguardError } from '../../lib/errors.js';
import type { ModalityModel } from './types.js';

export interface ScaledManhattanTemplate {
  [key: string]: number[] | number;
  /** Per-feature enrolment mean (NaN stored as null by JSON: see below). */
  mean: number[];
  /** Per-feature scale: mean absolute deviation, floored. */
  scale: number[];
  /** Mean of the held-out log-distances of the enrolment windows. */
  logMean: number;
  /** Standard deviation of those log-distances, floored. */
  logSd: number;
  /** Enrolment windows used. */
  windows: number;
}

export interface ScaledManhattanOptions {
  /** Fewest enrolment windows accepted (default 3). */
  minWindows?: number;
  /** Scale floor relative to |mean| (default 0.02): a feature constant in enrolment is not infinitely sharp. */
  relativeFloor?: number;
  /** Absolute scale floor (default 1e-3). */
  absoluteFloor?: number;
  /** Floor for the calibration sd of log-distances (default 0.1). */
  minLogSd?: number;
  /** Folds for calibration when there are more windows than this (default 20); leave-one-out below. */
  folds?: number;
}

/** Feature values absent (NaN) are stored as this sentinel so the template stays plain JSON. */
const MISSING = -1e308;

interface Stats {
  mean: Float64Array;
  scale: Float64Array;
}

function fitStats(windows: readonly (readonly number[])[], dims: number, skip: (i: number) => boolean, o: Required<ScaledManhattanOptions>): Stats {
  const mean = new Float64Array(dims);
  const cnt = new Float64Array(dims);
  for (let w = 0; w < windows.length; w++) {
    if (skip(w)) continue;
    const v = windows[w] as readonly number[];
    for (let j = 0; j < dims; j++) {
      const x = v[j] as number;
      if (Number.isFinite(x)) {
        mean[j] = (mean[j] as number) + x;
        cnt[j] = (cnt[j] as number) + 1;
      }
    }
  }
  for (let j = 0; j < dims; j++) mean[j] = (cnt[j] as number) >= 2 ? (mean[j] as number) / (cnt[j] as number) : Number.NaN;
  const scale = new Float64Array(dims);
  for (let w = 0; w < windows.length; w++) {
    if (skip(w)) continue;
    const v = windows[w] as readonly number[];
    for (let j = 0; j < dims; j++) {
      const x = v[j] as number;
      if (Number.isFinite(x)) scale[j] = (scale[j] as number) + Math.abs(x - (mean[j] as number));
    }
  }
  for (let j = 0; j < dims; j++) {
    const m = mean[j] as number;
    const floor = o.absoluteFloor + o.relativeFloor * Math.abs(m);
    scale[j] = Number.isNaN(m) ? Number.NaN : Math.max((scale[j] as number) / (cnt[j] as number), floor);
  }
  return { mean, scale };
}

/** Mean over usable features of |x - mean| / scale; features missing on either side are skipped. */
function scaledDistance(mean: ArrayLike<number>, scale: ArrayLike<number>, v: readonly number[]): number {
  let sum = 0;
  let used = 0;
  const dims = Math.min(mean.length, v.length);
  for (let j = 0; j < dims; j++) {
    const x = v[j] as number;
    const m = mean[j] as number;
    if (!Number.isFinite(x) || !Number.isFinite(m) || m === MISSING) continue;
    sum += Math.abs(x - m) / (scale[j] as number);
    used += 1;
  }
  return used === 0 ? Number.NaN : sum / used;
}

/** log of a distance, with a small offset so that a perfect match stays finite. */
function logDistance(d: number): number {
  return Math.log(d + 1e-3);
}

export class ScaledManhattan implements ModalityModel<ScaledManhattanTemplate> {
  readonly name = 'scaled-manhattan';
  private readonly o: Required<ScaledManhattanOptions>;

  constructor(options: ScaledManhattanOptions = {}) {
    this.o = { minWindows: 3, relativeFloor: 0.02, absoluteFloor: 1e-3, minLogSd: 0.1, folds: 20, ...options };
  }

  fit(windows: readonly number[][]): ScaledManhattanTemplate {
    const n = windows.length;
    if (n < this.o.minWindows) {
      throw new VdiguardError('failed-precondition', `scaled-manhattan needs at least ${this.o.minWindows} enrolment windows, got ${n}; enrol with more behaviour`);
    }
    const dims = (windows[0] as number[]).length;
    if (windows.some((w) => w.length !== dims)) {
      throw new VdiguardError('invalid-argument', 'enrolment windows have different lengths; they must come from one extractor');
    }
    const full = fitStats(windows, dims, () => false, this.o);
    // Held-out distances: each window against statistics fitted without its fold.
    const folds = Math.min(n, this.o.folds);
    const logs: number[] = [];
    for (let k = 0; k < folds; k++) {
      const st = fitStats(windows, dims, (i) => i % folds === k, this.o);
      for (let i = k; i < n; i += folds) {
        const d = scaledDistance(st.mean, st.scale, windows[i] as number[]);
        if (Number.isFinite(d)) logs.push(logDistance(d));
      }
    }
    if (logs.length < 2) {
      throw new VdiguardError('failed-precondition', 'scaled-manhattan: the enrolment windows share too few features to calibrate; enrol with more behaviour');
    }
    const mu = logs.reduce((a, b) => a + b, 0) / logs.length;
    const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mu) ** 2, 0) / (logs.length - 1));
    return {
      mean: Array.from(full.mean, (x) => (Number.isNaN(x) ? MISSING : x)),
      scale: Array.from(full.scale, (x) => (Number.isNaN(x) ? MISSING : x)),
      logMean: mu,
      logSd: Math.max(sd, this.o.minLogSd),
      windows: n,
    };
  }

  score(t: ScaledManhattanTemplate, vector: readonly number[]): number {
    const d = distanceToTemplate(t, vector);
    return Number.isNaN(d) ? Number.NaN : (logDistance(d) - t.logMean) / t.logSd;
  }
}

/** The raw (uncalibrated) scaled Manhattan distance of a vector to a template. */
export function distanceToTemplate(t: ScaledManhattanTemplate, vector: readonly number[]): number {
  return scaledDistance(t.mean, t.scale, vector);
}
