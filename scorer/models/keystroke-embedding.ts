/**
 * A keystroke embedding network (TensorFlow.js) and the keyboard model built on it.
 *
 * The network maps one window of keystrokes (the unit vectors of the keystroke extractor with
 * keyVectors: key classes and timings, never key identities) to a unit-length embedding in which
 * windows of one typist lie close together. It is trained once on a population of typists with a
 * metric-learning loss, then shared by every agent: an agent's template is only the mean embedding
 * of its enrolment windows plus a calibration, so enrolment needs no per-agent training (TypeNet,
 * Acien et al., T-BIOM 2022, does the same with an LSTM; here per-keystroke dense layers with the
 * previous keystrokes as local context, then mean/sd/max pooling, which train and run fast on wasm).
 *
 * `KeystrokeEmbedding` (the ModalityModel) fuses the embedding distance with the per-keystroke
 * classifier KeyMlp (a weighted Stouffer sum of both calibrated scores; KeyMlp's score normalised by
 * its scores of other agents' windows, an impostor cohort as in speaker verification's Z-norm, because
 * its own calibration is per agent and noisy where the embedding's is the network's) and keeps KeyMlp's template beside
 * the embedding, so a template fitted with another network, or a scorer without a network (a new
 * deployment has none until `vdiguard train` has run), still scores with KeyMlp alone.
 */
import type { LayersModel, Scalar, SymbolicTensor, Tensor, Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs';
import { VdiguardError } from '../../lib/errors.js';
import { seededRandom } from '../../lib/random.js';
import { KEY_CLASS_COUNT } from '../features/keyclass.js';
import { KEY_UNIT_FEATURES, KEYSTROKE_FEATURES } from '../features/keystroke.js';
import { requireTf, tf } from './tf/runtime.js';
import { networkFingerprint } from './tf/artifacts.js';
import { mean, sampleSd } from '../features/stats.js';
import { evenSample } from './population.js';
import type { Background, FitContext, ModalityModel } from './types.js';
import { KeyMlp, type UnitMlpOptions, type UnitMlpTemplate } from './unit-mlp.js';

const HEADER = KEYSTROKE_FEATURES.length;
const STRIDE = KEY_UNIT_FEATURES.length;
const TIMINGS = STRIDE - 2 * KEY_CLASS_COUNT;
/**
 * Fixed scales of the timing features (centre, spread), measured on Aalto: fixed rather than
 * learned from the population so the network is a self-contained artifact (one tfjs model, no
 * side file of statistics). Changing them invalidates every trained network: ENCODING names them.
 */
const TIMING_SCALE: readonly (readonly [number, number])[] = [
  [4.6, 0.4], // logDwell
  [5.3, 0.7], // logFlightPP
  [0.15, 0.23], // flightRPSeconds
  [4.6, 0.4], // previous.logDwell
];
const ENCODING = 'key-embedding-encoding-1';
const CLIP = 5;
/** Inputs per keystroke before context: classes as they are, timings scaled, a missing flag per timing. */
export const KEY_INPUTS = 2 * KEY_CLASS_COUNT + 2 * TIMINGS;

/** Keystrokes in a window vector of the keystroke extractor with keyVectors. */
export function keysOf(v: readonly number[]): number {
  return Math.max(0, Math.floor((v.length - HEADER) / STRIDE));
}

/** Each keystroke of a window vector as KEY_INPUTS values, row after row. */
export function encodeKeys(v: readonly number[]): Float32Array {
  const n = keysOf(v);
  const out = new Float32Array(n * KEY_INPUTS);
  for (let k = 0; k < n; k++) {
    const at = HEADER + k * STRIDE;
    const o = k * KEY_INPUTS;
    for (let j = 0; j < 2 * KEY_CLASS_COUNT; j++) out[o + j] = v[at + j] as number;
    for (let j = 0; j < TIMINGS; j++) {
      const x = v[at + 2 * KEY_CLASS_COUNT + j] as number;
      const [centre, spread] = TIMING_SCALE[j] as readonly [number, number];
      if (Number.isFinite(x)) out[o + 2 * KEY_CLASS_COUNT + j] = Math.max(-CLIP, Math.min(CLIP, (x - centre) / spread));
      else out[o + 2 * KEY_CLASS_COUNT + TIMINGS + j] = 1;
    }
  }
  return out;
}

/**
 * The network's input for keystrokes [start, start + length) of encoded keys: each keystroke's
 * values followed by those of the `context` keystrokes before it within the sequence (zeros before
 * its start, as at the start of a window), written into `out` at `offset`.
 */
function sequenceInput(keys: Float32Array, start: number, length: number, context: number, out: Float32Array, offset: number): void {
  const width = KEY_INPUTS * (context + 1);
  for (let i = 0; i < length; i++) {
    const row = offset + i * width;
    for (let c = 0; c <= context && i - c >= 0; c++) {
      const from = (start + i - c) * KEY_INPUTS;
      out.set(keys.subarray(from, from + KEY_INPUTS), row + c * KEY_INPUTS);
    }
  }
}

/** Mean, standard deviation and maximum of each feature over the sequence (axis 1). */
class SequencePooling extends tf.layers.Layer {
  static readonly className = 'VdiguardSequencePooling';

  override computeOutputShape(shape: number[]): number[] {
    return [shape[0] as number, 3 * (shape[2] as number)];
  }

  override call(inputs: Tensor | Tensor[]): Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor3D;
      const { mean, variance } = tf.moments(x, 1);
      return tf.concat([mean, tf.sqrt(tf.add(variance, 1e-6)), tf.max(x, 1)], 1);
    });
  }
}

/** Scales each row to unit length: embeddings compare by cosine. */
class L2Normalize extends tf.layers.Layer {
  static readonly className = 'VdiguardL2Normalize';

  override computeOutputShape(shape: number[]): number[] {
    return shape;
  }

  override call(inputs: Tensor | Tensor[]): Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor2D;
      return tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-12)));
    });
  }
}

// Registered at import so a network loaded from its artifacts (loadModelJson) finds its layers.
tf.serialization.registerClass(SequencePooling);
tf.serialization.registerClass(L2Normalize);

export interface KeyEmbeddingTraining {
  /** Keystrokes per training sequence, and per chunk when embedding longer windows (default 50). */
  sequenceKeys?: number;
  /** Previous keystrokes given with each keystroke (default 2). */
  context?: number;
  /** Units of the two per-keystroke layers (default 32). */
  keyUnits?: number;
  /** Units of the layer after pooling (default 128). */
  pooledUnits?: number;
  /** Embedding dimensions (default 64). */
  embedding?: number;
  /** 'am-softmax' over the population's agents (head dropped after training), or batch-hard 'triplet'. */
  loss?: 'am-softmax' | 'triplet';
  /** AM-softmax scale and additive margin on the cosine (defaults 30, 0.3); triplet margin (default 0.3, on 1 - cosine). */
  scale?: number;
  margin?: number;
  /** Optimiser steps (default 6000). */
  steps?: number;
  /** Agents per batch and sequences per agent (defaults 32, 4). */
  batchAgents?: number;
  perAgent?: number;
  /** Adam step size (default 0.005), halved at 60% and again at 85% of the steps. */
  learningRate?: number;
  seed?: number;
  /** Called with a line of progress now and then. */
  progress?: (line: string) => void;
}

export const KEY_EMBEDDING_TRAINING: Required<Omit<KeyEmbeddingTraining, 'progress'>> = {
  sequenceKeys: 50,
  context: 2,
  keyUnits: 32,
  pooledUnits: 128,
  embedding: 64,
  loss: 'am-softmax',
  scale: 30,
  margin: 0.3,
  steps: 6000,
  batchAgents: 32,
  perAgent: 4,
  learningRate: 0.005,
  seed: 1,
};

function buildNetwork(o: Required<Omit<KeyEmbeddingTraining, 'progress'>>): LayersModel {
  let seed = o.seed * 1000;
  // Named layers: tfjs numbers unnamed ones per process, which would change the fingerprint.
  const dense = (name: string, units: number, activation: 'relu' | 'linear') => tf.layers.dense({ name, units, activation, kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }) });
  const input = tf.input({ name: 'keys', shape: [null, KEY_INPUTS * (o.context + 1)] });
  const layers = [dense('key1', o.keyUnits, 'relu'), dense('key2', o.keyUnits, 'relu'), new SequencePooling({ name: 'pooling' }), dense('pooled', o.pooledUnits, 'relu'), dense('embedding', o.embedding, 'linear'), new L2Normalize({ name: 'unit' })];
  const output = layers.reduce((h, layer) => layer.apply(h) as SymbolicTensor, input);
  return tf.model({ inputs: input, outputs: output, name: 'key_embedding' });
}

/**
 * What a network carries beside its weights (the layers model's user-defined metadata, saved with
 * it): the sequence length it learned, and how far its own typists' windows lie from their
 * enrolment, measured on population agents it never trained on.
 */
export interface KeyEmbeddingMetadata {
  [key: string]: number | string;
  encoding: string;
  /** Keystrokes per training sequence: longer windows are embedded in chunks of this length. */
  sequenceKeys: number;
  /** Genuine distances (1 - cosine) of later sequences to the mean of 5 enrolment sequences: mean, and sd within an agent. */
  genuineMean: number;
  genuineSd: number;
  /** Mean held-out distance of an enrolment sequence to the other four's mean (what a template can measure). */
  heldMean: number;
}

/** Keystrokes [start, start + length) of one encoded window, to embed as one sequence. */
interface Chunk {
  readonly keys: Float32Array;
  readonly start: number;
}

/** A trained network with what inference needs to know about it; built from a layers model (for example loaded from a profile store). */
export class KeyEmbeddingNetwork {
  /** Identifies the network (architecture, weights, metadata): stored in each template made with it. */
  readonly fingerprint: string;
  readonly context: number;
  readonly dimensions: number;
  readonly parameters: number;
  readonly metadata: KeyEmbeddingMetadata;

  constructor(readonly model: LayersModel) {
    requireTf();
    const inputs = model.inputs[0]?.shape[2];
    const out = model.outputs[0]?.shape[1];
    const meta = model.getUserDefinedMetadata() as Partial<KeyEmbeddingMetadata> | undefined;
    if (typeof inputs !== 'number' || inputs % KEY_INPUTS !== 0 || typeof out !== 'number' || meta?.encoding !== ENCODING || !(Number(meta.genuineSd) > 0)) {
      throw new VdiguardError(
        'invalid-argument',
        `not a keystroke embedding network of this version (input [batch, keys, k * ${KEY_INPUTS}], output [batch, dimensions], metadata encoding ${ENCODING}); retrain it with \`vdiguard train\``,
      );
    }
    this.metadata = meta as KeyEmbeddingMetadata;
    this.context = inputs / KEY_INPUTS - 1;
    this.dimensions = out;
    this.parameters = model.countParams();
    this.fingerprint = networkFingerprint('key-embedding', model, this.metadata);
  }

  /**
   * The embedding of each window vector (unit length): a window longer than sequenceKeys is cut
   * into chunks of that length (the last one ending at the window's end), whose embeddings are
   * averaged, because the pooled statistics were learned at that length. Empty for a window
   * without keystrokes.
   */
  embed(windows: readonly (readonly number[])[]): Float32Array[] {
    const L = this.metadata.sequenceKeys;
    const chunks: Chunk[][] = windows.map((v) => {
      const n = keysOf(v);
      if (n === 0) return [];
      const keys = encodeKeys(v);
      const len = Math.min(n, L);
      const starts: number[] = [];
      for (let s = 0; s + len <= n; s += len) starts.push(s);
      if ((starts.at(-1) as number) + len < n) starts.push(n - len);
      return starts.map((start) => ({ keys, start }));
    });
    // A batch holds one sequence length: windows shorter than L go one by one.
    const full = chunks.flat().filter((c) => c.keys.length / KEY_INPUTS >= L);
    const e = this.embedChunks(full, L);
    let next = 0;
    return chunks.map((cs) => {
      if (cs.length === 0) return new Float32Array(0);
      const n = cs[0]!.keys.length / KEY_INPUTS;
      if (n < L) return normalise(this.embedChunks(cs, n));
      const sum = new Float32Array(this.dimensions);
      for (let i = 0; i < cs.length; i++, next++) for (let d = 0; d < this.dimensions; d++) sum[d] = (sum[d] as number) + (e[next * this.dimensions + d] as number);
      return normalise(sum);
    });
  }

  private embedChunks(chunks: readonly Chunk[], length: number): Float32Array {
    return predict(this.model, this.context, chunks, length);
  }
}

/** Embeddings of chunks of `length` keystrokes, row after row. */
function predict(model: LayersModel, context: number, chunks: readonly Chunk[], length: number): Float32Array {
  if (chunks.length === 0) return new Float32Array(0);
  const width = KEY_INPUTS * (context + 1);
  const x = new Float32Array(chunks.length * length * width);
  chunks.forEach((c, i) => sequenceInput(c.keys, c.start, length, context, x, i * length * width));
  return tf.tidy(() => (model.predict(tf.tensor3d(x, [chunks.length, length, width])) as Tensor2D).dataSync() as Float32Array);
}

function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s) || 1;
  return v.map((x) => x / n);
}

/** One agent's keystrokes, encoded, per window (training sequences never span two windows). */
interface AgentKeys {
  readonly windows: Float32Array[];
}

/** Enrolment sequences of the calibration (TypeNet's protocol enrols on 5). */
const ENROL = 5;
/** Pseudo-windows of prior weight on the network's calibration in each agent's own. */
const CAL_PRIOR = 10;

/** An agent's expected genuine distance from its held-out enrolment distances, shrunk towards the network's. */
function calibratedMean(m: KeyEmbeddingMetadata, held: readonly number[]): number {
  const n = held.length;
  return m.genuineMean + (n / (n + CAL_PRIOR)) * (mean(held) - m.heldMean);
}

/** Each embedding's distance (1 - cosine) to the mean of the others. */
function heldOutDistances(e: readonly Float32Array[]): number[] {
  const sum = new Float64Array((e[0] as Float32Array).length);
  for (const v of e) v.forEach((x, d) => (sum[d] = (sum[d] as number) + x));
  return e.map((v) => 1 - cosine(v, Array.from(sum, (s, d) => s - (v[d] as number))));
}

function centroidOf(e: readonly Float32Array[]): Float32Array {
  const sum = new Float32Array((e[0] as Float32Array).length);
  for (const v of e) v.forEach((x, d) => (sum[d] = (sum[d] as number) + x));
  return normalise(sum);
}

/**
 * The calibration metadata, measured as templates will use it: per agent, consecutive sequences,
 * the first ENROL enrol and the rest are genuine attempts.
 */
function calibrate(model: LayersModel, context: number, sequenceKeys: number, agents: readonly AgentKeys[]): KeyEmbeddingMetadata {
  const L = sequenceKeys;
  const per = agents
    .map((a) => {
      const chunks: Chunk[] = [];
      for (const keys of a.windows) for (let s = 0; s + L <= keys.length / KEY_INPUTS; s += L) chunks.push({ keys, start: s });
      const e = predict(model, context, chunks, L);
      return chunks.map((_, i) => e.slice(i * (e.length / chunks.length), (i + 1) * (e.length / chunks.length)));
    })
    .filter((e) => e.length > ENROL)
    .map((e) => {
      const centroid = centroidOf(e.slice(0, ENROL));
      return { held: heldOutDistances(e.slice(0, ENROL)), genuine: e.slice(ENROL).map((v) => 1 - cosine(v, centroid)) };
    });
  if (per.length < 2) {
    throw new VdiguardError('failed-precondition', `the keystroke embedding needs at least 2 agents with ${(ENROL + 1) * L} keystrokes to calibrate on (got ${per.length}); enrol more agents first`);
  }
  const m: KeyEmbeddingMetadata = { encoding: ENCODING, sequenceKeys: L, genuineMean: mean(per.flatMap((a) => a.genuine)), heldMean: mean(per.flatMap((a) => a.held)), genuineSd: 1 };
  // The sd of genuine distances around each agent's own calibrated mean: z-scores of N(0,1) by construction.
  const residuals = per.flatMap((a) => {
    const c = calibratedMean(m, a.held);
    return a.genuine.map((d) => (d - c) ** 2);
  });
  return { ...m, genuineSd: Math.max(Math.sqrt(mean(residuals)), 1e-3) };
}

/**
 * Trains the network on a population: `population[a]` holds agent a's window vectors (the
 * keystroke extractor with keyVectors; long windows give more distinct training sequences, which
 * are random crops of sequenceKeys keystrokes). With 20 agents or more, a tenth of them (at most
 * 50) is kept out of training to calibrate on. Needs at least two agents with 6 sequences of
 * keystrokes. Deterministic for a seed on one backend.
 */
export function trainKeyEmbedding(population: readonly (readonly (readonly number[])[])[], options: KeyEmbeddingTraining = {}): KeyEmbeddingNetwork {
  requireTf();
  const o = { ...KEY_EMBEDDING_TRAINING, ...options };
  const L = o.sequenceKeys;
  const all: AgentKeys[] = population
    .map((ws) => ({ windows: ws.filter((v) => keysOf(v) >= L).map(encodeKeys) }))
    .filter((a) => a.windows.length > 0);
  // Calibrating on agents the network trained on would promise tighter genuine distances than new agents get.
  const held = all.length >= 20 ? Math.min(50, Math.floor(all.length / 10)) : 0;
  const agents = all.slice(0, all.length - held);
  if (agents.length < 2) {
    throw new VdiguardError('failed-precondition', `the keystroke embedding needs at least 2 agents with ${L} keystrokes each to train on (got ${agents.length}); enrol more agents first`);
  }
  const random = seededRandom(o.seed);
  const model = buildNetwork(o);
  const width = KEY_INPUTS * (o.context + 1);
  const P = Math.min(o.batchAgents, agents.length);
  const K = o.perAgent;
  const B = P * K;
  const x = new Float32Array(B * L * width);
  const labels = new Int32Array(B);
  const order = agents.map((_, i) => i);
  let cursor = order.length;
  /** P distinct agents per batch, visiting all of them in a shuffled order, K random crops each. */
  const fillBatch = (): void => {
    x.fill(0);
    for (let p = 0; p < P; p++) {
      if (cursor >= order.length) {
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          [order[i], order[j]] = [order[j] as number, order[i] as number];
        }
        cursor = 0;
      }
      const a = order[cursor++] as number;
      const ws = (agents[a] as AgentKeys).windows;
      for (let k = 0; k < K; k++) {
        const keys = ws[Math.floor(random() * ws.length)] as Float32Array;
        const start = Math.floor(random() * (keys.length / KEY_INPUTS - L + 1));
        const b = p * K + k;
        sequenceInput(keys, start, L, o.context, x, b * L * width);
        labels[b] = a;
      }
    }
  };
  const head = o.loss === 'am-softmax' ? tf.variable(tf.randomNormal([o.embedding, agents.length], 0, 1, 'float32', o.seed)) : undefined;
  const weights = model.trainableWeights.map((w) => w.read() as unknown as ReturnType<typeof tf.variable>);
  const variables = head ? [...weights, head] : weights;
  const optimizer = tf.train.adam(o.learningRate);
  const started = Date.now();
  let recent = 0;
  for (let step = 1; step <= o.steps; step++) {
    // Adam reads its (protected) step size on every update: halving it keeps the moment estimates.
    if (step === Math.round(o.steps * 0.6) || step === Math.round(o.steps * 0.85)) (optimizer as unknown as { learningRate: number }).learningRate /= 2;
    fillBatch();
    const cost = tf.tidy(() => {
      const xs = tf.tensor3d(x, [B, L, width]);
      const ys = tf.tensor1d(labels, 'int32');
      return optimizer.minimize(() => {
        const e = model.apply(xs, { training: true }) as Tensor2D;
        return (head ? amSoftmaxLoss(e, head, ys, agents.length, o.scale, o.margin) : batchHardTripletLoss(e, ys, o.margin)) as Scalar;
      }, true, variables) as Tensor;
    });
    recent += (cost.dataSync()[0] as number) / 100;
    cost.dispose();
    if (step % 100 === 0) {
      o.progress?.(`key embedding: step ${step}/${o.steps}, ${o.loss} loss ${recent.toFixed(3)}, ${((Date.now() - started) / 1000).toFixed(0)} s`);
      recent = 0;
    }
  }
  head?.dispose();
  optimizer.dispose();
  model.setUserDefinedMetadata(calibrate(model, o.context, L, held > 0 ? all.slice(agents.length) : agents));
  return new KeyEmbeddingNetwork(model);
}

/** Additive-margin softmax (CosFace) over the population's agents. */
function amSoftmaxLoss(e: Tensor2D, head: Tensor, labels: Tensor, classes: number, scale: number, margin: number): Tensor {
  const w = tf.div(head, tf.sqrt(tf.add(tf.sum(tf.square(head), 0, true), 1e-12)));
  const cos = tf.matMul(e, w as Tensor2D);
  const onehot = tf.oneHot(labels as Tensor1D, classes);
  const logits = tf.mul(tf.sub(cos, tf.mul(onehot, margin)), scale);
  return tf.losses.softmaxCrossEntropy(onehot, logits);
}

/** Batch-hard triplet loss on cosine distance: each sequence's farthest same-agent and nearest other-agent sequence. */
function batchHardTripletLoss(e: Tensor2D, labels: Tensor, margin: number): Tensor {
  const d = tf.sub(1, tf.matMul(e, e, false, true));
  const same = tf.equal(tf.expandDims(labels, 1), tf.expandDims(labels, 0)).toFloat();
  const eye = tf.eye(labels.shape[0] as number);
  const positive = tf.max(tf.mul(d, tf.sub(same, eye)), 1);
  const negative = tf.min(tf.add(d, tf.mul(same, 4)), 1);
  return tf.mean(tf.relu(tf.add(tf.sub(positive, negative), margin)));
}

export interface KeystrokeEmbeddingTemplate {
  [key: string]: string | number | number[] | UnitMlpTemplate | null;
  /** The network's fingerprint, or null when fitted without one. */
  network: string | null;
  /** Mean enrolment embedding (unit length); empty without a network. */
  centroid: number[];
  /** Expected distance (1 - cosine) of the agent's own windows to the centroid, and its sd (the network's calibration, see calibratedMean). */
  calMean: number;
  calSd: number;
  /** The per-keystroke classifier's template, scored alone when the network is missing or another. */
  keyMlp: UnitMlpTemplate;
  /**
   * Mean and sd of KeyMlp's scores of other agents' windows (its impostor cohort, see keyCohortOf);
   * null without a population. Absent in templates stored before cohort normalisation.
   */
  keyCohortMean: number | null;
  keyCohortSd: number | null;
}

export interface KeystrokeEmbeddingOptions {
  /** KeyMlp's options. */
  keyMlp?: UnitMlpOptions;
}

/**
 * Weight of the embedding's score against the cohort-normalised KeyMlp score in the fusion
 * (weighted Stouffer, so the fused score stays N(0,1) for the agent). Chosen on Aalto participants
 * disjoint from the evaluated ones (137 after a 500-participant population, network trained on
 * those 500): 0.75 / 1 / 1.5 / 2 gave EER 5.57 / 5.57 / 5.79 / 5.87% at 50 keys and
 * 3.66 / 3.51 / 3.51 / 3.51% at 100. On the 500 evaluated with 637 population (6000 training
 * steps), weight 1 gave EER 4.27% / 2.56% / 1.65% at 50 / 100 / 200 keys (raw KeyMlp weighted 1.5
 * with 3000 steps before: 5.05% / 3.16% / 2.17%).
 */
const EMBEDDING_WEIGHT = 1;
/**
 * The weight for templates stored before cohort normalisation, whose KeyMlp score is raw: measured
 * on Aalto, 500 users with 637 population, 1 gave EER 5.18% / 3.34% / 2.27% at 50 / 100 / 200
 * keys, 1.5 gave 5.05% / 3.16% / 2.17%.
 */
const EMBEDDING_WEIGHT_RAW_KEY_MLP = 1.5;
/** Background windows KeyMlp scores as the agent's impostor cohort, evenly sampled (~0.2 s of a fit). */
const COHORT_WINDOWS = 500;
/**
 * Where the agent's own windows fall on KeyMlp's cohort-normalised scale ((score - cohort mean) /
 * cohort sd): mean and sd over the 137 development participants above at 50 keys. They put the
 * normalised score back on the genuine N(0,1) scale the trust engine expects (a per-agent constant
 * would be KeyMlp's own calibration from 5 enrolment windows, which is what the cohort replaces).
 */
const KEY_COHORT_GENUINE_MEAN = -1.885;
const KEY_COHORT_GENUINE_SD = 0.598;
/** Floor of the cohort sd: a degenerate cohort must not blow the score up. */
const MIN_COHORT_SD = 0.05;

/**
 * KeyMlp's impostor statistics for this agent: the mean and sd of its scores of other agents'
 * windows. KeyMlp's scale differs widely between agents (a calibration sd from two or three held-out
 * windows): on Aalto its mean impostor score ranged with an sd of 3.7 around 5.5 across agents, and
 * the cohort mean predicted the agent's impostor mean in the test with correlation 0.998. Null
 * without a population (KeyMlp then falls back to scaled Manhattan, whose scale is its own).
 */
export function keyCohortOf(keyMlp: KeyMlp, template: UnitMlpTemplate, background?: Background): { mean: number; sd: number } | null {
  if (template.kind !== 'mlp' || !background) return null;
  const scores = evenSample(background.windows, COHORT_WINDOWS).map((v) => keyMlp.score(template, v)).filter(Number.isFinite);
  if (scores.length < 2) return null;
  return { mean: mean(scores), sd: Math.max(sampleSd(scores), MIN_COHORT_SD) };
}

/** KeyMlp's score normalised by the agent's cohort and mapped to the genuine scale; raw for a template without a cohort. */
function normalisedKeyScore(t: KeystrokeEmbeddingTemplate, zk: number): number {
  // `== null`: a template stored before cohort normalisation has no such fields at all.
  if (t.keyCohortMean == null || t.keyCohortSd == null) return zk;
  return ((zk - t.keyCohortMean) / t.keyCohortSd - KEY_COHORT_GENUINE_MEAN) / KEY_COHORT_GENUINE_SD;
}

/** The keyboard model: embedding distance fused with KeyMlp, or KeyMlp alone without a network. */
export class KeystrokeEmbedding implements ModalityModel<KeystrokeEmbeddingTemplate> {
  readonly name = 'key-embedding';
  private readonly keyMlp: KeyMlp;
  /**
   * Embeddings of the vectors scored, while they live: one window scored against several templates
   * (an identification, an evaluation) runs the network once. Window vectors are never changed after
   * extraction, so an identical object means an identical embedding.
   */
  private readonly embedded = new WeakMap<readonly number[], Float32Array>();

  constructor(
    private readonly network?: KeyEmbeddingNetwork,
    options: KeystrokeEmbeddingOptions = {},
  ) {
    this.keyMlp = new KeyMlp(options.keyMlp);
  }

  fit(windows: readonly number[][], context?: FitContext): KeystrokeEmbeddingTemplate {
    const keyMlp = this.keyMlp.fit(windows, context);
    const cohort = keyCohortOf(this.keyMlp, keyMlp, context?.background);
    const keyCohort = { keyCohortMean: cohort?.mean ?? null, keyCohortSd: cohort?.sd ?? null };
    const e = this.network?.embed(windows).filter((v) => v.length > 0) ?? [];
    if (!this.network || e.length < 2) return { network: null, centroid: [], calMean: 0, calSd: 1, keyMlp, ...keyCohort };
    const r6 = (x: number): number => Math.round(x * 1e6) / 1e6 + 0;
    const meta = this.network.metadata;
    return { network: this.network.fingerprint, centroid: Array.from(centroidOf(e), r6), calMean: calibratedMean(meta, heldOutDistances(e)), calSd: meta.genuineSd, keyMlp, ...keyCohort };
  }

  score(t: KeystrokeEmbeddingTemplate, vector: readonly number[]): number {
    // A profile fitted before this model holds a bare KeyMlp template: it scores as it did.
    if (!('keyMlp' in t)) return this.keyMlp.score(t as unknown as UnitMlpTemplate, vector);
    const zk = normalisedKeyScore(t, this.keyMlp.score(t.keyMlp, vector));
    // Another network's embeddings are not comparable: KeyMlp alone until the agent is refitted.
    if (!this.network || t.network !== this.network.fingerprint) return zk;
    const e = this.embeddingOf(vector);
    if (e.length === 0) return zk;
    const ze = (1 - cosine(e, t.centroid) - t.calMean) / t.calSd;
    const w = t.keyCohortMean == null ? EMBEDDING_WEIGHT_RAW_KEY_MLP : EMBEDDING_WEIGHT;
    return Number.isNaN(zk) ? ze : (w * ze + zk) / Math.hypot(w, 1);
  }

  private embeddingOf(vector: readonly number[]): Float32Array {
    let e = this.embedded.get(vector);
    if (!e) {
      e = (this.network as KeyEmbeddingNetwork).embed([vector])[0] as Float32Array;
      this.embedded.set(vector, e);
    }
    return e;
  }
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb || 1);
}
