/**
 * The mouse model: a per-agent classifier of single mouse actions against other agents' actions
 * (population negatives), whose per-action log-odds are averaged over the window.
 *
 * Per-action models are much stronger than models of window means (Antal & Egyed-Zsigmond, arXiv
 * 1810.04668: per-action classifiers against other users, aggregated over actions). Windows come
 * from the mouse extractor with `actionVectors: true`: ACTION_FEATURES.length values per action.
 *
 * fit(): actions standardised on the agent's and the negatives' pooled statistics (clipped z, plus
 * a missing indicator per feature); a small MLP trained on all the agent's actions against the
 * negatives scores. Calibration: two more networks, each trained on half of the agent's windows,
 * score the other half's windows; the mean and sd of those held-out window scores standardise the
 * score. score(): the mean logit over the window's actions, standardised, sign flipped (larger =
 * less like the agent), and scaled for windows longer or shorter than the enrolment windows.
 *
 * Without a background of at least `minBackgroundAgents` agents (a new deployment) the model falls
 * back to the baseline: scaled Manhattan on the window's mean action features.
 */
import { VdiguardError } from '../../lib/errors.js';
import { ACTION_FEATURES } from '../features/mouse.js';
import { mlpLogit, trainMlp, type MlpTraining, type MlpWeights } from './mlp.js';
import { ScaledManhattan, type ScaledManhattanTemplate } from './scaled-manhattan.js';
import type { FitContext, ModalityModel } from './types.js';

const NF = ACTION_FEATURES.length;
/** Clip of standardised features. */
const CLIP = 5;

export interface ActionMlpTemplate {
  [key: string]: number[] | number | string | MlpWeights[] | ScaledManhattanTemplate | null;
  kind: 'action-mlp' | 'fallback';
  /** Per-feature standardisation (action-mlp). */
  mean: number[];
  sd: number[];
  nets: MlpWeights[];
  /** Mean and sd of held-out window scores (mean logit over a window's actions). */
  calMean: number;
  calSd: number;
  /** Mean actions per enrolment window: scores of other window lengths are rescaled. */
  calActions: number;
  /** The baseline template, when kind is 'fallback'. */
  fallback: ScaledManhattanTemplate | null;
}

export interface ActionMlpOptions extends MlpTraining {
  /** Fewest other agents before the classifier is used (default 5). */
  minBackgroundAgents?: number;
  /** Most negative actions sampled from the background (default 4000). */
  maxNegatives?: number;
  /** Fewest enrolment windows (default 4: two per half). */
  minWindows?: number;
  /** Floor of the calibration sd (default 0.05). */
  minCalSd?: number;
  /** Pseudo-windows of prior weight on a calibration mean of 0 (default 20). */
  calPrior?: number;
}

/** Actions of a window vector (NF values each). */
export function actionsOf(v: readonly number[]): number {
  return Math.floor(v.length / NF);
}

/** The mean of each action feature over a window's actions (NaN-ignoring): the baseline's vector. */
export function meanOfActions(v: readonly number[]): number[] {
  const n = actionsOf(v);
  const out = new Array<number>(NF);
  for (let j = 0; j < NF; j++) {
    let s = 0;
    let c = 0;
    for (let a = 0; a < n; a++) {
      const x = v[a * NF + j] as number;
      if (Number.isFinite(x)) {
        s += x;
        c++;
      }
    }
    out[j] = c > 0 ? s / c : Number.NaN;
  }
  return out;
}

function encode(v: readonly number[], a: number, mean: readonly number[], sd: readonly number[], out: Float64Array): Float64Array {
  for (let j = 0; j < NF; j++) {
    const x = v[a * NF + j] as number;
    if (Number.isFinite(x)) {
      out[j] = Math.max(-CLIP, Math.min(CLIP, (x - (mean[j] as number)) / (sd[j] as number)));
      out[NF + j] = 0;
    } else {
      out[j] = 0;
      out[NF + j] = 1;
    }
  }
  return out;
}

function allActions(windows: readonly (readonly number[])[]): { v: readonly number[]; a: number }[] {
  const out: { v: readonly number[]; a: number }[] = [];
  for (const v of windows) for (let a = 0; a < actionsOf(v); a++) out.push({ v, a });
  return out;
}

export class ActionMlp implements ModalityModel<ActionMlpTemplate> {
  readonly name = 'action-mlp';
  private readonly o: Required<ActionMlpOptions>;
  private readonly baseline = new ScaledManhattan();
  private readonly buf = new Float64Array(2 * NF);

  constructor(options: ActionMlpOptions = {}) {
    this.o = { minBackgroundAgents: 5, maxNegatives: 4000, minWindows: 4, minCalSd: 0.05, calPrior: 20, hidden: 16, epochs: 30, learningRate: 0.01, l2: 1e-4, batch: 64, seed: 1, ...options };
  }

  fit(windows: readonly number[][], context?: FitContext): ActionMlpTemplate {
    const bg = context?.background;
    if (!bg || bg.agents < this.o.minBackgroundAgents || windows.length < this.o.minWindows) {
      return { kind: 'fallback', mean: [], sd: [], nets: [], calMean: 0, calSd: 1, calActions: 0, fallback: this.baseline.fit(windows.map(meanOfActions)) };
    }
    if (windows.some((w) => w.length % NF !== 0 || w.length === 0)) {
      throw new VdiguardError('invalid-argument', 'action-mlp needs windows of whole actions (the mouse extractor with actionVectors)');
    }
    // Negatives: an even sample of the background's actions.
    const bgActions = allActions(bg.windows);
    const step = Math.max(1, bgActions.length / this.o.maxNegatives);
    const negRefs: { v: readonly number[]; a: number }[] = [];
    for (let i = 0; i < bgActions.length && negRefs.length < this.o.maxNegatives; i += step) negRefs.push(bgActions[Math.floor(i)] as { v: readonly number[]; a: number });
    const posRefs = allActions(windows);
    // Standardisation on pooled actions.
    const mean = new Array<number>(NF).fill(0);
    const sd = new Array<number>(NF).fill(0);
    const cnt = new Array<number>(NF).fill(0);
    const pooled = [...posRefs, ...negRefs];
    for (const { v, a } of pooled) {
      for (let j = 0; j < NF; j++) {
        const x = v[a * NF + j] as number;
        if (Number.isFinite(x)) {
          mean[j] = (mean[j] as number) + x;
          cnt[j] = (cnt[j] as number) + 1;
        }
      }
    }
    for (let j = 0; j < NF; j++) mean[j] = (cnt[j] as number) > 0 ? (mean[j] as number) / (cnt[j] as number) : 0;
    for (const { v, a } of pooled) {
      for (let j = 0; j < NF; j++) {
        const x = v[a * NF + j] as number;
        if (Number.isFinite(x)) sd[j] = (sd[j] as number) + (x - (mean[j] as number)) ** 2;
      }
    }
    for (let j = 0; j < NF; j++) sd[j] = Math.max(Math.sqrt((sd[j] as number) / Math.max(1, cnt[j] as number)), 1e-6);
    const rows = (refs: readonly { v: readonly number[]; a: number }[]): Float64Array[] => refs.map(({ v, a }) => encode(v, a, mean, sd, new Float64Array(2 * NF)));
    const neg = rows(negRefs);
    // Two halves of the agent's windows: each net trains on one half and calibrates on the other.
    const half = [0, 1].map((k) => windows.filter((_, i) => i % 2 === k));
    const halfNets = half.map((h, k) => trainMlp(rows(allActions(h)), neg, { ...this.o, seed: this.o.seed + 1 + k }));
    const held: number[] = [];
    half.forEach((h, k) => {
      const net = halfNets[1 - k] as MlpWeights;
      for (const v of h) held.push(this.meanLogit([net], v, mean, sd));
    });
    // The scoring network learns from all the agent's windows.
    const nets = [trainMlp(rows(posRefs), neg, this.o)];
    const heldMean = held.reduce((a, b) => a + b, 0) / held.length;
    const calSd = Math.sqrt(held.reduce((a, b) => a + (b - heldMean) ** 2, 0) / Math.max(1, held.length - 1));
    // The held-out mean of a few windows is noisy: shrink it towards 0, the classifier's own boundary
    // between the agent and the others (measured on SapiMouse: the unshrunk mean costs 0.02 AUC).
    const calMean = (heldMean * held.length) / (held.length + this.o.calPrior);
    const calActions = posRefs.length / windows.length;
    const r6 = (x: number): number => Math.round(x * 1e6) / 1e6 + 0; // + 0: no -0, which JSON cannot keep
    return { kind: 'action-mlp', mean: mean.map(r6), sd: sd.map(r6), nets, calMean, calSd: Math.max(calSd, this.o.minCalSd), calActions, fallback: null };
  }

  score(t: ActionMlpTemplate, vector: readonly number[]): number {
    if (t.kind === 'fallback') return t.fallback ? this.baseline.score(t.fallback, meanOfActions(vector)) : Number.NaN;
    const n = actionsOf(vector);
    if (n === 0) return Number.NaN;
    const m = this.meanLogit(t.nets, vector, t.mean, t.sd);
    return -(m - t.calMean) / (t.calSd * Math.sqrt(t.calActions / n));
  }

  private meanLogit(nets: readonly MlpWeights[], v: readonly number[], mean: readonly number[], sd: readonly number[]): number {
    const n = actionsOf(v);
    let s = 0;
    for (let a = 0; a < n; a++) {
      const x = encode(v, a, mean, sd, this.buf);
      for (const net of nets) s += mlpLogit(net, x);
    }
    return s / (n * nets.length);
  }
}
