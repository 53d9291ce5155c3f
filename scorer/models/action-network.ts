/**
 * The mouse action network (TensorFlow.js) and the mouse model built on it.
 *
 * The network classifies single mouse actions (the action vectors of the mouse extractor) among
 * all the agents it was trained on: a softmax over the population's agents, trained jointly on
 * their enrolled actions by `vdiguard train`. It is every agent's one-against-the-others classifier
 * at once, with a hidden representation learned from the whole population and regularised by
 * dropout, where ActionMlp trains one small network per agent against a sample of 4,000 negative
 * actions. An agent's evidence on an action is its log-odds log p / (1 - p) under the network;
 * a window's score is the mean of those, soft-clipped, normalised by the agent's impostor cohort
 * (other agents' enrolment windows: Z-norm), and put on the genuine N(0,1) scale the trust engine
 * expects with two constants measured on the development split.
 *
 * `ActionFusion` (the ModalityModel) fuses that score with ActionMlp's (a weighted Stouffer sum)
 * for agents the network knows. Agents enrolled after the last training, templates fitted with
 * another network, and scorers without one (a new deployment) score with ActionMlp alone.
 */
import type { LayersModel, Scalar, Tensor, Tensor2D } from '@tensorflow/tfjs';
import { VdiguardError } from '../../lib/errors.js';
import { seededRandom } from '../../lib/random.js';
import { ACTION_FEATURES } from '../features/mouse.js';
import { mean, sampleSd } from '../features/stats.js';
import { requireTf } from './tf/runtime.js';
import { networkFingerprint } from './tf/artifacts.js';
import { evenSample } from './population.js';
import type { FitContext, ModalityModel } from './types.js';
import { ActionMlp, actionsOf, type UnitMlpOptions, type UnitMlpTemplate } from './unit-mlp.js';

const NF = ACTION_FEATURES.length;
const ENCODING = 'action-network-encoding-1';
const CLIP = 5;

export interface ActionNetworkTraining {
  /** Units of each of the two hidden layers (default 128). */
  hidden?: number;
  /** Dropout after each hidden layer while training (default 0.3). */
  dropout?: number;
  /** Passes over the training actions (default 20). */
  epochs?: number;
  /** Actions per step (default 128). */
  batch?: number;
  /** Adam step size (default 0.003). */
  learningRate?: number;
  /** Most actions per agent, evenly sampled: bounds a training and keeps one agent from dominating (default 4000). */
  maxActionsPerAgent?: number;
  seed?: number;
  progress?: (line: string) => void;
}

export const ACTION_NETWORK_TRAINING: Required<Omit<ActionNetworkTraining, 'progress'>> = {
  hidden: 128,
  dropout: 0.3,
  epochs: 20,
  batch: 128,
  learningRate: 0.003,
  maxActionsPerAgent: 4000,
  seed: 1,
};

/** One agent's enrolled mouse windows (action vectors), as training reads them. */
export interface AgentActions {
  readonly agentId: string;
  readonly windows: readonly (readonly number[])[];
}

/** What the network carries beside its weights (the layers model's user-defined metadata). */
export interface ActionNetworkMetadata {
  [key: string]: string | number[] | string[];
  encoding: string;
  /** The agents, in the order of the network's outputs. */
  agents: string[];
  /** Standardisation of the action features, from the training actions. */
  mean: number[];
  sd: number[];
}

/** A trained network with what inference needs; built from a layers model (for example loaded from the store). */
export class ActionNetwork {
  /** Identifies the network (architecture, weights, metadata): stored in each template made with it. */
  readonly fingerprint: string;
  readonly metadata: ActionNetworkMetadata;
  readonly parameters: number;
  private readonly classes: Map<string, number>;
  /** The network's outputs for each vector, while the vector lives: one window is scored against many templates. */
  private readonly outputs = new WeakMap<readonly number[], WindowOutputs>();

  constructor(readonly model: LayersModel) {
    requireTf();
    const meta = model.getUserDefinedMetadata() as Partial<ActionNetworkMetadata> | undefined;
    const inputs = model.inputs[0]?.shape[1];
    const outputs = model.outputs[0]?.shape[1];
    if (meta?.encoding !== ENCODING || inputs !== 2 * NF || !Array.isArray(meta.agents) || outputs !== meta.agents.length || meta.mean?.length !== NF || meta.sd?.length !== NF) {
      throw new VdiguardError(
        'invalid-argument',
        `not a mouse action network of this version (input [batch, ${2 * NF}], one output per agent, metadata encoding ${ENCODING}); retrain it with \`vdiguard train\``,
      );
    }
    this.metadata = meta as ActionNetworkMetadata;
    this.classes = new Map(this.metadata.agents.map((a, i) => [a, i]));
    this.parameters = model.countParams();
    this.fingerprint = networkFingerprint('action-network', model, this.metadata);
  }

  /** The agent's output, or undefined for an agent the network was not trained on. */
  classOf(agentId: string): number | undefined {
    return this.classes.get(agentId);
  }

  /**
   * The agent's window score before calibration: the mean over the window's actions of the
   * agent's log-odds, each soft-clipped (c·tanh(x/c)) so one odd action moves a window by a
   * bounded amount. Larger = more like the agent; NaN for a window without actions.
   */
  windowEvidence(vector: readonly number[], agentClass: number): number {
    const { logits, logSumExp } = this.outputsOf(vector);
    const agents = this.metadata.agents.length;
    const n = logSumExp.length;
    if (n === 0) return Number.NaN;
    let s = 0;
    for (let a = 0; a < n; a++) {
      // log p - log(1 - p), with log(1 - p) floored where p rounds to 1.
      const logP = (logits[a * agents + agentClass] as number) - (logSumExp[a] as number);
      const logOdds = logP - Math.log(Math.max(1 - Math.exp(logP), 1e-12));
      s += SOFT_CLIP * Math.tanh(logOdds / SOFT_CLIP);
    }
    return s / n;
  }

  /**
   * The network's logits of each action of the window, and their log-sum-exp per action: one
   * predict, then only the agent's own column is read per template. Cached while the vector lives.
   */
  private outputsOf(vector: readonly number[]): WindowOutputs {
    let out = this.outputs.get(vector);
    if (!out) {
      out = windowOutputs(this.model, encodeActions(vector, this.metadata.mean, this.metadata.sd), actionsOf(vector), this.metadata.agents.length);
      this.outputs.set(vector, out);
    }
    return out;
  }
}

/** The network's outputs for one window: logits [actions, agents] row-major, log-sum-exp per action. */
interface WindowOutputs {
  readonly logits: Float32Array;
  readonly logSumExp: Float64Array;
}

/** Soft clip of action log-odds (measured on SapiMouse: 3 against ActionMlp's 1.5 for its logits). */
const SOFT_CLIP = 3;

/** A window's actions standardised, clipped, with a missing flag per feature: the network's input rows. */
function encodeActions(v: readonly number[], m: readonly number[], sd: readonly number[]): Float32Array {
  const n = actionsOf(v);
  const out = new Float32Array(n * 2 * NF);
  for (let a = 0; a < n; a++) encodeAction(v, a * NF, m, sd, out, a * 2 * NF);
  return out;
}

function encodeAction(v: readonly number[], at: number, m: readonly number[], sd: readonly number[], out: Float32Array, offset: number): void {
  for (let j = 0; j < NF; j++) {
    const x = v[at + j] as number;
    if (Number.isFinite(x)) out[offset + j] = Math.max(-CLIP, Math.min(CLIP, (x - (m[j] as number)) / (sd[j] as number)));
    else out[offset + NF + j] = 1;
  }
}

function windowOutputs(model: LayersModel, x: Float32Array, n: number, agents: number): WindowOutputs {
  if (n === 0) return { logits: new Float32Array(0), logSumExp: new Float64Array(0) };
  const tf = requireTf();
  const logits = tf.tidy(() => (model.predict(tf.tensor2d(x, [n, 2 * NF])) as Tensor2D).dataSync() as Float32Array);
  const logSumExp = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    const row = logits.subarray(a * agents, (a + 1) * agents);
    let max = -Infinity;
    for (const l of row) if (l > max) max = l;
    let sum = 0;
    for (const l of row) sum += Math.exp(l - max);
    logSumExp[a] = max + Math.log(sum);
  }
  return { logits, logSumExp };
}

/**
 * Trains the network on the agents' enrolled actions (at least two agents with actions). Deterministic
 * for a seed: seeded initialisers, dropout and sampling.
 */
export function trainActionNetwork(population: readonly AgentActions[], options: ActionNetworkTraining = {}): ActionNetwork {
  const tf = requireTf();
  const o = { ...ACTION_NETWORK_TRAINING, ...options };
  const agents = population
    .map((p) => ({ agentId: p.agentId, actions: evenSample(p.windows.flatMap((v) => Array.from({ length: actionsOf(v) }, (_, a) => ({ v, at: a * NF }))), o.maxActionsPerAgent) }))
    .filter((p) => p.actions.length > 0);
  if (agents.length < 2) throw new VdiguardError('failed-precondition', `the mouse action network needs at least 2 agents with mouse actions to train on (got ${agents.length}); enrol more agents first`);
  const all = agents.flatMap((p, c) => p.actions.map((r) => ({ ...r, c })));
  const { m, sd } = standardisation(all);
  let seed = o.seed * 1000;
  // Named layers: tfjs numbers unnamed ones per process, which would change the fingerprint.
  const dense = (name: string, units: number, activation: 'relu' | 'linear') => tf.layers.dense({ name, units, activation, kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }) });
  const model = tf.sequential({
    name: 'action_network',
    layers: [
      tf.layers.inputLayer({ name: 'actions', inputShape: [2 * NF] }),
      dense('hidden1', o.hidden, 'relu'),
      tf.layers.dropout({ name: 'dropout1', rate: o.dropout, seed: seed++ }),
      dense('hidden2', o.hidden, 'relu'),
      tf.layers.dropout({ name: 'dropout2', rate: o.dropout, seed: seed++ }),
      dense('logits', agents.length, 'linear'),
    ],
  });
  const random = seededRandom(o.seed);
  const order = Int32Array.from(all, (_, i) => i);
  const B = Math.min(o.batch, all.length);
  const x = new Float32Array(B * 2 * NF);
  const labels = new Int32Array(B);
  const steps = Math.ceil((o.epochs * all.length) / B);
  const optimizer = tf.train.adam(o.learningRate);
  const variables = model.trainableWeights.map((w) => w.read() as unknown as ReturnType<typeof tf.variable>);
  let cursor = order.length;
  const started = Date.now();
  try {
    for (let step = 1; step <= steps; step++) {
      x.fill(0);
      for (let b = 0; b < B; b++) {
        if (cursor === order.length) {
          for (let i = order.length - 1; i > 0; i--) {
            const j = Math.floor(random() * (i + 1));
            [order[i], order[j]] = [order[j] as number, order[i] as number];
          }
          cursor = 0;
        }
        // Encoded per batch: a deployment's actions encoded at once would take gigabytes.
        const r = all[order[cursor++] as number] as { v: readonly number[]; at: number; c: number };
        encodeAction(r.v, r.at, m, sd, x, b * 2 * NF);
        labels[b] = r.c;
      }
      tf.tidy(() => {
        const xs = tf.tensor2d(x, [B, 2 * NF]);
        const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), agents.length);
        optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as Tensor) as Scalar, false, variables);
      });
      if (o.progress && step % 1000 === 0) o.progress(`action network: step ${step}/${steps}, ${Math.round((Date.now() - started) / 1000)} s`);
    }
  } finally {
    optimizer.dispose();
  }
  // Six decimals in the metadata: far below what moves a standardised feature the network reads.
  const r6 = (v: number): number => Math.round(v * 1e6) / 1e6 + 0;
  model.setUserDefinedMetadata({ encoding: ENCODING, agents: agents.map((p) => p.agentId), mean: m.map(r6), sd: sd.map(r6) } satisfies ActionNetworkMetadata);
  return new ActionNetwork(model);
}

/** Mean and sd of each feature over the actions, ignoring missing values (two passes, no copies). */
function standardisation(actions: readonly { v: readonly number[]; at: number }[]): { m: number[]; sd: number[] } {
  const sum = new Float64Array(NF);
  const count = new Float64Array(NF);
  const squares = new Float64Array(NF);
  for (const r of actions) {
    for (let j = 0; j < NF; j++) {
      const x = r.v[r.at + j] as number;
      if (Number.isFinite(x)) {
        sum[j] = (sum[j] as number) + x;
        count[j] = (count[j] as number) + 1;
      }
    }
  }
  const m = Array.from(sum, (s, j) => ((count[j] as number) > 0 ? s / (count[j] as number) : 0));
  for (const r of actions) {
    for (let j = 0; j < NF; j++) {
      const x = r.v[r.at + j] as number;
      if (Number.isFinite(x)) squares[j] = (squares[j] as number) + (x - (m[j] as number)) ** 2;
    }
  }
  return { m, sd: Array.from(squares, (q, j) => Math.max(Math.sqrt(q / Math.max(1, count[j] as number)), 1e-6)) };
}

export interface ActionFusionTemplate {
  [key: string]: string | number | UnitMlpTemplate | null;
  /** The network's fingerprint, or null when fitted without one or for an agent it does not know. */
  network: string | null;
  /** The agent's output in that network. */
  agentClass: number | null;
  /** Mean and sd of the network's window evidence on other agents' enrolment windows (the impostor cohort). */
  cohortMean: number | null;
  cohortSd: number | null;
  /** Weight of the network's score in the fusion, by the agent's enrolment (see FULL_WEIGHT_ACTIONS); null without a network. */
  networkWeight: number | null;
  /** ActionMlp's template, scored alone when the network is missing, another, or does not know the agent. */
  actionMlp: UnitMlpTemplate;
}

/** Background windows scored as the agent's impostor cohort, evenly sampled. */
const COHORT_WINDOWS = 500;
const MIN_COHORT_SD = 0.05;
/**
 * Where the agent's own windows fall on the cohort-normalised scale (-(evidence - cohort mean) /
 * cohort sd), measured on the SapiMouse development users' 1-minute sessions in 15-second windows
 * against their templates (two seeds; the same with impostors from outside the network): median
 * -3.2, and a spread of 1.5 from the upper quartile (1.4-1.5 from the 95th percentile). The
 * distribution is skewed, with a long tail of confidently genuine windows (1st percentile -37),
 * so its mean and sd (-5.3, 6.5) would misstate the side that matters: the upper tail, where
 * false terminates come from, is what these two put on the trust engine's N(0,1) scale.
 */
const COHORT_GENUINE_MEDIAN = -3.2;
const COHORT_GENUINE_SPREAD = 1.5;
/**
 * Weight of the network's score against ActionMlp's in the fusion (weighted Stouffer). SapiMouse
 * pooled AUC for weights 1 / 2 / 3 / 4 / 6: 0.9620 / 0.9652 / 0.9659 / 0.9659 / 0.9653 (seed 1),
 * 0.9638 / 0.9669 / 0.9676 / 0.9677 / 0.9672 (seed 2); ActionMlp alone 0.9448 / 0.9479.
 */
const NETWORK_WEIGHT = 3;
/**
 * Enrolled actions up to which the network has its full weight; beyond, the weight falls with the
 * square root of the enrolment. ActionMlp's per-agent networks grow strong on a long enrolment,
 * where the shared network adds little: on Balabit (7,500-18,000 actions per user) the network
 * alone gave AUC 0.917 / 0.922 against ActionMlp's 0.950 / 0.940 (seeds 1, 2), and the full weight
 * cost 0.004 on the mean of five seeds, while on SapiMouse (40-380 actions) it gave 0.959 against
 * 0.945, and 0.967 against 0.952 with only 10 users in it (so the number of agents is not what
 * matters). With this rule Balabit gave 0.9509 / 0.9419 (seeds 1, 2) against ActionMlp's
 * 0.9499 / 0.9404; SapiMouse's enrolments all keep the full weight.
 */
const FULL_WEIGHT_ACTIONS = 400;

/** The mouse model: ActionMlp fused with the action network's score for agents the network knows. */
export class ActionFusion implements ModalityModel<ActionFusionTemplate> {
  readonly name = 'action-fusion';
  private readonly actionMlp: ActionMlp;

  constructor(
    private readonly network?: ActionNetwork,
    options: UnitMlpOptions = {},
  ) {
    this.actionMlp = new ActionMlp(options);
  }

  fit(windows: readonly number[][], context?: FitContext): ActionFusionTemplate {
    const actionMlp = this.actionMlp.fit(windows, context);
    const agentClass = context?.agentId !== undefined ? this.network?.classOf(context.agentId) : undefined;
    const background = context?.background?.windows ?? [];
    const alone: ActionFusionTemplate = { network: null, agentClass: null, cohortMean: null, cohortSd: null, networkWeight: null, actionMlp };
    if (!this.network || agentClass === undefined || background.length < 2) return alone;
    const net = this.network;
    const cohort = evenSample(background, COHORT_WINDOWS).map((v) => net.windowEvidence(v, agentClass)).filter(Number.isFinite);
    if (cohort.length < 2) return alone;
    const enrolled = windows.reduce((n, v) => n + actionsOf(v), 0);
    const networkWeight = NETWORK_WEIGHT * Math.min(1, Math.sqrt(FULL_WEIGHT_ACTIONS / Math.max(1, enrolled)));
    return { network: net.fingerprint, agentClass, cohortMean: mean(cohort), cohortSd: Math.max(sampleSd(cohort), MIN_COHORT_SD), networkWeight, actionMlp };
  }

  score(t: ActionFusionTemplate, vector: readonly number[]): number {
    // A profile fitted before this model holds a bare ActionMlp template: it scores as it did.
    if (!('actionMlp' in t)) return this.actionMlp.score(t as unknown as UnitMlpTemplate, vector);
    const zm = this.actionMlp.score(t.actionMlp, vector);
    if (!this.network || t.network !== this.network.fingerprint || t.agentClass === null || t.cohortMean === null || t.cohortSd === null || t.networkWeight === null) return zm;
    const evidence = this.network.windowEvidence(vector, t.agentClass);
    if (Number.isNaN(evidence)) return zm;
    const zn = (-(evidence - t.cohortMean) / t.cohortSd - COHORT_GENUINE_MEDIAN) / COHORT_GENUINE_SPREAD;
    return Number.isNaN(zm) ? zn : (t.networkWeight * zn + zm) / Math.hypot(t.networkWeight, 1);
  }
}
