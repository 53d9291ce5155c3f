/**
 * Per-unit models: a per-agent classifier of single units of behaviour (mouse actions, keystrokes)
 * against other agents' units (population negatives), whose per-unit log-odds are averaged over the
 * window. A window vector is `header` values (the baseline's window features) followed by `stride`
 * values per unit. `ActionMlp` (mouse) and `KeyMlp` (keyboard) are its two layouts.
 *
 * Per-action models are much stronger than models of window means (Antal & Egyed-Zsigmond, arXiv
 * 1810.04668: per-action classifiers against other users, aggregated over actions). Windows come
 * from the mouse extractor with `actionVectors: true`: ACTION_FEATURES.length values per action.
 *
 * fit(): actions standardised on the agent's and the negatives' pooled statistics (clipped z, plus
 * a missing indicator per feature); small MLPs on TensorFlow.js (tf/stacked-mlp.ts), trained on all
 * the agent's actions against the negatives, score. Calibration: two more networks, each trained on
 * half of the agent's windows, score the other half's windows; the mean and sd of those held-out
 * window scores standardise the score (the sd optionally pooled with a prior scaled on background
 * windows' scores, see `sdPrior`). All of them train in one batched loop. The scoring networks
 * are stored in the template as one TensorFlow.js layers model (tf/artifacts.ts), loaded once into
 * a cache. score(): one predict over the window's actions, the logits aggregated (mean, optionally
 * of soft-clipped logits or trimmed), standardised, sign flipped (larger = less like the agent),
 * and scaled for windows longer or shorter than the enrolment windows.
 *
 * Without a background of at least `minBackgroundAgents` agents (a new deployment) the model falls
 * back to the baseline: scaled Manhattan on the window's mean action features.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { VdiguardError } from '../../lib/errors.js';
import { ACTION_FEATURES } from '../features/mouse.js';
import { KEY_UNIT_FEATURES, KEYSTROKE_FEATURES } from '../features/keystroke.js';
import { mean as average, sumOfSquares } from '../features/stats.js';
import { evenSample } from './population.js';
import { ScaledManhattan, type ScaledManhattanTemplate } from './scaled-manhattan.js';
import { modelFromJson, modelToJson, type TfModelJson } from './tf/artifacts.js';
import { requireTf } from './tf/runtime.js';
import { StackedMlp, type Rows, type StackedTraining } from './tf/stacked-mlp.js';
import type { FitContext, ModalityModel } from './types.js';

const NF = ACTION_FEATURES.length;

/** How a modality's window vectors hold their units. */
export interface UnitLayout {
  readonly name: string;
  /** Values before the first unit (window-level features). */
  readonly header: number;
  /** Values per unit. */
  readonly stride: number;
  /** The vector the fallback (scaled Manhattan) template uses. */
  readonly fallbackVector: (v: readonly number[]) => number[];
}
/** Clip of standardised features. */
const CLIP = 5;
/** Background windows scored at fit time for the sd prior (half by each calibration network). */
const BACKGROUND_CAL_WINDOWS = 200;

export interface UnitMlpTemplate {
  [key: string]: number[] | number | string | TfModelJson | ScaledManhattanTemplate | null;
  kind: 'mlp' | 'fallback';
  /** Per-feature standardisation (action-mlp). */
  mean: number[];
  sd: number[];
  /** The scoring networks as one TensorFlow.js model (logit of one encoded unit); null for 'fallback'. */
  net: TfModelJson | null;
  /** Fraction of the highest and of the lowest unit logits a window's score leaves out. */
  trim: number;
  /** Soft clip of unit logits, c·tanh(logit/c), before the trimmed mean (0: none; absent from templates fitted before it). */
  softClip: number;
  /** Mean and sd of held-out window scores (aggregated unit logits; the sd pooled with the sd prior, if any). */
  calMean: number;
  calSd: number;
  /** Mean actions per enrolment window: scores of other window lengths are rescaled. */
  calActions: number;
  /** Share of calSd^2 that is the session's own offset, which a longer window does not average away (absent from templates fitted before it: 0). */
  sessionShare: number;
  /** The baseline template, when kind is 'fallback'. */
  fallback: ScaledManhattanTemplate | null;
}

export interface UnitMlpOptions extends StackedTraining {
  /** Scoring networks (ensemble members, each its own initialisation and sampling) (default 1). */
  members?: number;
  /** Fraction of the highest and of the lowest unit logits a window's score leaves out (default 0: the mean). */
  trim?: number;
  /** Fewest other agents before the classifier is used (default 5). */
  minBackgroundAgents?: number;
  /** Most of the agent's own actions a network trains on, evenly sampled (default 4000). */
  maxPositives?: number;
  /** Most negative actions sampled from the background (default 4000). */
  maxNegatives?: number;
  /** Fewest enrolment windows, at least 2: one per calibration half (default 4). */
  minWindows?: number;
  /** Floor of the calibration sd (default 0.05). */
  minCalSd?: number;
  /** Pseudo-windows of prior weight on a calibration mean of 0 (default 20). */
  calPrior?: number;
  /**
   * Pseudo-windows of prior weight on a calibration sd of `sdRatio` times the sd of background
   * windows' scores (default 0: none). The held-out windows of one enrolment session are few and
   * vary less than the agent's windows on another day; the background's spread, from hundreds of
   * windows, sets the scale of the network's scores.
   */
  sdPrior?: number;
  /** See sdPrior (default 0.7). */
  sdRatio?: number;
  /** Soft clip of unit logits before averaging, c·tanh(logit/c) (default 0: none). */
  softClip?: number;
  /**
   * Share of a calibration window's score variance that is the session's own offset rather than the
   * units' noise (default 0). The sd of a window of n units is
   * calSd·sqrt(share + (1 - share)·calActions/n): units average out, a session's offset does not.
   */
  sessionShare?: number;
  /**
   * Ensemble members and hidden units of every network for an enrolment of more than maxPositives
   * units (default: `members` and `hidden`). Each member trains on its own even sample of the
   * agent's units, so only such an enrolment gives them different data to learn from.
   */
  longEnrolment?: { readonly members: number; readonly hidden: number };
  /**
   * Also keep the fallback (scaled Manhattan) template and average the two calibrated scores
   * (default false). Keystrokes: the window statistics carry what single keystrokes do not.
   */
  fuse?: boolean;
}

/** Actions of a mouse window vector (NF values each). */
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

/** A unit (offset `a` of v), by reference. */
interface UnitRef {
  readonly v: readonly number[];
  readonly a: number;
}

/** Units standardised and clipped, then a missing indicator per value: the networks' input rows. */
function encode(units: readonly UnitRef[], stride: number, mean: readonly number[], sd: readonly number[]): Rows {
  const width = 2 * stride;
  const data = new Float32Array(units.length * width);
  units.forEach(({ v, a }, r) => {
    const out = r * width;
    for (let j = 0; j < stride; j++) {
      const x = v[a + j] as number;
      if (Number.isFinite(x)) data[out + j] = Math.max(-CLIP, Math.min(CLIP, (x - (mean[j] as number)) / (sd[j] as number)));
      else data[out + stride + j] = 1;
    }
  });
  return { count: units.length, width, data };
}

/** Mean of the logits, each soft-clipped (`softClip` 0: as they are), without the `trim` fraction at each end. */
function aggregate(logits: Float32Array, trim: number, softClip: number): number {
  const n = logits.length;
  const cut = Math.floor(n * trim);
  const xs = cut > 0 ? Array.from(logits).sort((a, b) => a - b).slice(cut, n - cut) : logits;
  let s = 0;
  for (const x of xs) s += softClip > 0 ? softClip * Math.tanh(x / softClip) : x;
  return s / xs.length;
}

/**
 * The sd of held-out window scores, pooled with `weight` pseudo-windows whose sd is `ratio` times
 * the background windows' (no prior with fewer than two background windows).
 */
export function calibrationSd(held: readonly number[], background: readonly number[], weight: number, ratio: number): number {
  const w = background.length > 1 ? weight : 0;
  const priorVar = w > 0 ? (ratio * ratio * sumOfSquares(background)) / (background.length - 1) : 0;
  return Math.sqrt((sumOfSquares(held) + w * priorVar) / Math.max(1, held.length - 1 + w));
}

/**
 * Loaded scoring models by their weights (a template read again from the store is the same model):
 * deserialising per score call would cost more than the predict. Bounded, least recently used
 * first out, and disposed when dropped: tensors are not garbage-collected.
 */
class ModelCache {
  private readonly models = new Map<string, LayersModel>();

  constructor(private readonly max: number) {}

  get(json: TfModelJson): LayersModel {
    const key = json.weightData;
    let m = this.models.get(key);
    if (m) {
      this.models.delete(key);
    } else {
      m = modelFromJson(json);
      if (this.models.size >= this.max) {
        const [oldest, model] = this.models.entries().next().value as [string, LayersModel];
        this.models.delete(oldest);
        model.dispose();
      }
    }
    this.models.set(key, m);
    return m;
  }
}

/** Enough for the agents with sessions on one scorer; a miss costs a deserialisation (~ms). */
const models = new ModelCache(2048);

export const MOUSE_UNITS: UnitLayout = { name: 'action-mlp', header: 0, stride: NF, fallbackVector: meanOfActions };
export const KEY_UNITS: UnitLayout = {
  name: 'key-mlp',
  header: KEYSTROKE_FEATURES.length,
  stride: KEY_UNIT_FEATURES.length,
  fallbackVector: (v) => v.slice(0, KEYSTROKE_FEATURES.length),
};

export class UnitMlp implements ModalityModel<UnitMlpTemplate> {
  readonly name: string;
  private readonly o: Required<UnitMlpOptions>;
  private readonly baseline = new ScaledManhattan();
  private readonly header: number;
  private readonly stride: number;

  constructor(private readonly layout: UnitLayout, options: UnitMlpOptions = {}) {
    this.name = layout.name;
    this.header = layout.header;
    this.stride = layout.stride;
    const o = {
      minBackgroundAgents: 5,
      maxPositives: 4000,
      maxNegatives: 4000,
      minWindows: 4,
      minCalSd: 0.05,
      calPrior: 20,
      sdPrior: 0,
      sdRatio: 0.7,
      softClip: 0,
      sessionShare: 0,
      fuse: false,
      members: 1,
      trim: 0,
      hidden: 16,
      epochs: 30,
      learningRate: 0.01,
      l2: 1e-4,
      batch: 64,
      seed: 1,
      ...options,
    };
    this.o = { ...o, longEnrolment: options.longEnrolment ?? { members: o.members, hidden: o.hidden } };
  }

  fit(windows: readonly number[][], context?: FitContext): UnitMlpTemplate {
    const bg = context?.background;
    if (!bg || bg.agents < this.o.minBackgroundAgents || windows.length < this.o.minWindows) {
      return { kind: 'fallback', mean: [], sd: [], net: null, trim: 0, softClip: 0, calMean: 0, calSd: 1, calActions: 0, sessionShare: 0, fallback: this.baseline.fit(windows.map(this.layout.fallbackVector)) };
    }
    if (windows.some((w) => this.unitsOf(w) === 0 || (w.length - this.header) % this.stride !== 0)) {
      throw new VdiguardError('invalid-argument', `${this.name} needs windows of whole units (the extractor with actionVectors / keyVectors)`);
    }
    const NF = this.stride;
    const allActions = (ws: readonly (readonly number[])[]): UnitRef[] => ws.flatMap((v) => this.unitRefs(v));
    // Even samples bound the training sets on both sides, so a fit costs about the same however
    // much an agent has enrolled: the scorer fits on its event loop.
    const negRefs = evenSample(allActions(bg.windows), this.o.maxNegatives);
    const ownActions = allActions(windows);
    const posRefs = evenSample(ownActions, this.o.maxPositives);
    // Standardisation on pooled actions.
    const mean = new Array<number>(NF).fill(0);
    const sd = new Array<number>(NF).fill(0);
    const cnt = new Array<number>(NF).fill(0);
    const pooled = [...posRefs, ...negRefs];
    for (const { v, a } of pooled) {
      for (let j = 0; j < NF; j++) {
        const x = v[a + j] as number;
        if (Number.isFinite(x)) {
          mean[j] = (mean[j] as number) + x;
          cnt[j] = (cnt[j] as number) + 1;
        }
      }
    }
    for (let j = 0; j < NF; j++) mean[j] = (cnt[j] as number) > 0 ? (mean[j] as number) / (cnt[j] as number) : 0;
    for (const { v, a } of pooled) {
      for (let j = 0; j < NF; j++) {
        const x = v[a + j] as number;
        if (Number.isFinite(x)) sd[j] = (sd[j] as number) + (x - (mean[j] as number)) ** 2;
      }
    }
    for (let j = 0; j < NF; j++) sd[j] = Math.max(Math.sqrt((sd[j] as number) / Math.max(1, cnt[j] as number)), 1e-6);
    const rows = (refs: readonly UnitRef[]): Rows => encode(refs, NF, mean, sd);
    const neg = rows(negRefs);
    // Two halves of the agent's windows: each net trains on one half and calibrates on the other.
    // Networks 0 and 1 are the halves', the rest score; all train in one batched loop.
    const half = [0, 1].map((k) => windows.filter((_, i) => i % 2 === k));
    // A long enrolment (more units than maxPositives) gives each member its own even sample, so the
    // ensemble sees all of it; a short one is every member's sample whole.
    const long = ownActions.length > this.o.maxPositives;
    const { members, hidden } = long ? this.o.longEnrolment : this.o;
    const samples = long ? Array.from({ length: members }, (_, m) => rows(evenSample(ownActions, this.o.maxPositives, m / members))) : [rows(posRefs)];
    const memberTasks = Array.from({ length: members }, (_, m) => ({ pos: samples[m % samples.length] as Rows, neg }));
    const tasks = [...half.map((h) => ({ pos: rows(evenSample(allActions(h), this.o.maxPositives)), neg })), ...memberTasks];
    const nets = StackedMlp.train(tasks, { ...this.o, hidden });
    let net: TfModelJson;
    const held: number[] = [];
    const background: number[] = [];
    const windowScores = (k: number, ws: readonly (readonly number[])[], out: number[]): void => {
      const logits = nets.logits(k, rows(allActions(ws)));
      let at = 0;
      for (const v of ws) {
        const n = this.unitsOf(v);
        out.push(aggregate(logits.subarray(at, at + n), this.o.trim, this.o.softClip));
        at += n;
      }
    };
    // Background windows' agents are among every network's negatives, so their spread is a little
    // narrower than unseen impostors'; ActionMlp's ratio was chosen on this very sample.
    const bgSample = this.o.sdPrior > 0 ? evenSample(bg.windows, BACKGROUND_CAL_WINDOWS) : [];
    try {
      half.forEach((h, k) => {
        windowScores(1 - k, h, held);
        windowScores(1 - k, bgSample.filter((_, i) => i % 2 === k), background);
      });
      const model = nets.toModel(Array.from({ length: members }, (_, m) => 2 + m));
      net = modelToJson(model);
      model.dispose();
    } finally {
      nets.dispose();
    }
    const heldMean = average(held);
    const calSd = calibrationSd(held, background, this.o.sdPrior, this.o.sdRatio);
    // The held-out mean of a few windows is noisy: shrink it towards 0, the classifier's own boundary
    // between the agent and the others (measured on SapiMouse: the unshrunk mean costs 0.02 AUC).
    const calMean = (heldMean * held.length) / (held.length + this.o.calPrior);
    const calActions = ownActions.length / windows.length;
    const r6 = (x: number): number => Math.round(x * 1e6) / 1e6 + 0; // + 0: no -0, which JSON cannot keep
    const fallback = this.o.fuse ? this.baseline.fit(windows.map(this.layout.fallbackVector)) : null;
    return { kind: 'mlp', mean: mean.map(r6), sd: sd.map(r6), net, trim: this.o.trim, softClip: this.o.softClip, calMean, calSd: Math.max(calSd, this.o.minCalSd), calActions, sessionShare: this.o.sessionShare, fallback };
  }

  score(t: UnitMlpTemplate, vector: readonly number[]): number {
    if (t.kind === 'fallback') return t.fallback ? this.baseline.score(t.fallback, this.layout.fallbackVector(vector)) : Number.NaN;
    const n = this.unitsOf(vector);
    if (n === 0) return Number.NaN;
    const m = aggregate(this.unitLogits(t, vector), t.trim, (t.softClip as number | undefined) ?? 0);
    const share = (t.sessionShare as number | undefined) ?? 0;
    const z = -(m - t.calMean) / (t.calSd * Math.sqrt(share + ((1 - share) * t.calActions) / n));
    if (t.fallback === null) return z;
    const zb = this.baseline.score(t.fallback, this.layout.fallbackVector(vector));
    return Number.isNaN(zb) ? z : (z + zb) / Math.SQRT2;
  }

  /** The scoring networks' logit of each unit of the window (template of kind 'mlp'). */
  private unitLogits(t: UnitMlpTemplate, vector: readonly number[]): Float32Array {
    if (t.net === null) throw new VdiguardError('invalid-argument', `${this.name} template of kind mlp without its network; refit the profile`);
    const rows = encode(this.unitRefs(vector), this.stride, t.mean, t.sd);
    const model = models.get(t.net);
    return requireTf().tidy(() => (model.predict(requireTf().tensor2d(rows.data, [rows.count, rows.width])) as Tensor).dataSync() as Float32Array);
  }

  /** Units in a window vector. */
  unitsOf(v: readonly number[]): number {
    return Math.max(0, Math.floor((v.length - this.header) / this.stride));
  }

  private unitRefs(v: readonly number[]): UnitRef[] {
    return Array.from({ length: this.unitsOf(v) }, (_, a) => ({ v, a: this.header + a * this.stride }));
  }
}

/**
 * The mouse model: per-action classifier (windows from the mouse extractor with actionVectors).
 * - Six members of 16 hidden units; ten of 32 for an enrolment of more than maxPositives actions,
 *   each member on its own even sample of them. An ensemble of seeds smooths single networks'
 *   quirks, and with thousands of actions the members together see all of them and use the width.
 *   Balabit (7,500-18,000 actions per user; its pooled AUC rests on ten templates and moves by up
 *   to 0.02 between seeds) went from 0.9467 to 0.9535 on the mean of seeds 1-5. On a few hundred
 *   actions (SapiMouse) the wider ensemble ranked no better and widened the upper tail of the
 *   agents' own new windows (30 users: 95th percentile 1.58 -> 2.29), where false terminates come
 *   from (docs/evaluation-notebook.md, "Ten members of 32 for a long enrolment").
 * - Action logits soft-clipped at 1.5 (1.5·tanh(logit/1.5)) before the mean: one odd action, such as
 *   a drag across the screen, moves a window's score by a bounded amount while every action still
 *   counts. It replaced a 10% trimmed mean (Balabit AUC 0.945 -> 0.950, SapiMouse +0.005).
 * - Two enrolment windows are enough (one per calibration half): the sd prior from background
 *   windows stands in for the spread that one or two held-out windows cannot give. Agents with a
 *   short enrolment had the much weaker scaled-Manhattan template instead.
 * - sd prior of 40 pseudo-windows at 0.7 times the background windows' sd: on both development
 *   sets a new session's genuine windows spread wider than the enrolment session's held-out
 *   windows, and the background spread (hundreds of windows) is a steadier scale than ~10 of them.
 * - A session share of 0.15: a whole Balabit session (12-354 actions) is scored as one window, and
 *   without it its z-score grew as the square root of its length, as if a session's own offset
 *   averaged away with its actions (+0.001 on every one of seeds 1-5; windows of the enrolment
 *   length score as before).
 */
export class ActionMlp extends UnitMlp {
  constructor(options: UnitMlpOptions = {}) {
    super(MOUSE_UNITS, { members: 6, longEnrolment: { members: 10, hidden: 32 }, softClip: 1.5, minWindows: 2, sdPrior: 40, sdRatio: 0.7, sessionShare: 0.15, ...options });
  }
}

/** The keyboard model: per-keystroke classifier (windows from the keystroke extractor with keyVectors). */
export class KeyMlp extends UnitMlp {
  constructor(options: UnitMlpOptions = {}) {
    super(KEY_UNITS, { fuse: true, ...options });
  }
}

