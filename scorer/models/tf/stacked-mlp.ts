/**
 * K independent binary MLPs (one hidden ReLU layer, a logit output) trained together on
 * TensorFlow.js: their weights are stacked ([K, inputs, hidden]) and every step is one batched
 * matMul over K mini-batches. The per-unit models train a few small networks per fit (calibration
 * halves, ensemble members); on the wasm backend a step of tiny tensors costs the same few
 * milliseconds of per-op overhead whatever K is, so one batched step per K networks is what makes a
 * fit affordable.
 *
 * Training is synchronous (optimizer.minimize on variables, no LayersModel.fit), deterministic for
 * a seed: seeded Glorot initialisers and our own seeded sampling. Every mini-batch holds as many
 * positive as negative rows, which weighs both classes equally whatever their sizes.
 */
import type { LayersModel, Tensor, Variable } from '@tensorflow/tfjs';
import { VdiguardError } from '../../../lib/errors.js';
import { seededRandom } from '../../../lib/random.js';
import { requireTf } from './runtime.js';

/** Rows of equal length, row-major. */
export interface Rows {
  readonly count: number;
  readonly width: number;
  readonly data: Float32Array;
}

/** One network's training set. */
export interface NetTask {
  readonly pos: Rows;
  readonly neg: Rows;
}

export interface StackedTraining {
  /** Hidden units per network (default 16). */
  hidden?: number;
  /**
   * Passes over each network's positives (default 30). The positives set the length: they are the
   * scarce class (an agent's few minutes against a whole population), and more passes over a few
   * hundred actions overfit them (measured on SapiMouse), while thousands want as many steps
   * (Balabit).
   */
  epochs?: number;
  /** Adam step size (default 0.01). */
  learningRate?: number;
  /** L2 penalty on the weights (not the biases) (default 1e-4). */
  l2?: number;
  /** Rows per network per step, half of each class (default 64). */
  batch?: number;
  seed?: number;
}

/** Trained stacked networks; own their tensors until `dispose()`. */
export class StackedMlp {
  private constructor(
    private readonly w1: Variable, // [K, D, H]
    private readonly b1: Variable, // [K, 1, H]
    private readonly w2: Variable, // [K, H, 1]
    private readonly b2: Variable, // [K, 1, 1]
  ) {}

  get nets(): number {
    return this.w1.shape[0] as number;
  }

  static train(tasks: readonly NetTask[], o: StackedTraining = {}): StackedMlp {
    const tf = requireTf();
    const K = tasks.length;
    const D = tasks[0]?.pos.width ?? 0;
    if (K === 0 || tasks.some((t) => t.pos.count === 0 || t.neg.count === 0 || t.pos.width !== D || t.neg.width !== D)) {
      throw new VdiguardError('invalid-argument', 'every network needs positive and negative rows of the same width');
    }
    const H = o.hidden ?? 16;
    const half = Math.max(1, Math.floor((o.batch ?? 64) / 2));
    const seed = o.seed ?? 1;
    const l2 = o.l2 ?? 1e-4;
    const init = (k: number, rows: number, cols: number): Tensor => tf.initializers.glorotUniform({ seed: seed * 7919 + k }).apply([rows, cols]);
    const net = new StackedMlp(
      tf.variable(tf.tidy(() => tf.stack(tasks.map((_, k) => init(2 * k, D, H))))),
      tf.variable(tf.zeros([K, 1, H])),
      tf.variable(tf.tidy(() => tf.stack(tasks.map((_, k) => init(2 * k + 1, H, 1))))),
      tf.variable(tf.zeros([K, 1, 1])),
    );
    const rand = seededRandom(seed);
    const samplers = tasks.map((t) => ({ pos: new Shuffled(t.pos.count, rand), neg: new Shuffled(t.neg.count, rand) }));
    const steps = Math.ceil(((o.epochs ?? 30) * Math.max(...tasks.map((t) => t.pos.count))) / half);
    const x = new Float32Array(K * 2 * half * D);
    const y = tf.tidy(() => tf.tile(tf.concat([tf.ones([1, half, 1]), tf.zeros([1, half, 1])], 1), [K, 1, 1]));
    const optimizer = tf.train.adam(o.learningRate ?? 0.01);
    const vars = [net.w1, net.b1, net.w2, net.b2];
    try {
      for (let s = 0; s < steps; s++) {
        tasks.forEach((t, k) => {
          const at = k * 2 * half * D;
          const sm = samplers[k] as { pos: Shuffled; neg: Shuffled };
          for (let i = 0; i < half; i++) {
            const p = sm.pos.next();
            x.set(t.pos.data.subarray(p * D, p * D + D), at + i * D);
            const n = sm.neg.next();
            x.set(t.neg.data.subarray(n * D, n * D + D), at + (half + i) * D);
          }
        });
        tf.tidy(() => {
          const xb = tf.tensor3d(x, [K, 2 * half, D]);
          optimizer.minimize(
            () => {
              const logit = net.forward(xb);
              // Softplus form of the logistic loss: stable for large logits. Summed over networks,
              // which keeps each network's gradient its own.
              const loss = tf.mul(K, tf.mean(tf.sub(tf.softplus(logit), tf.mul(y, logit))));
              return tf.add(loss, tf.mul(l2 / 2, tf.add(tf.sum(tf.square(net.w1)), tf.sum(tf.square(net.w2))))) as never;
            },
            false,
            vars,
          );
        });
      }
    } finally {
      y.dispose();
      optimizer.dispose();
    }
    return net;
  }

  /** Logits [K, N, 1] of x [K, N, D] (each network its own rows). */
  private forward(x: Tensor): Tensor {
    const tf = requireTf();
    return tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, this.w1), this.b1)), this.w2), this.b2);
  }

  /** Network k's logits of the rows. */
  logits(k: number, rows: Rows): Float32Array {
    const tf = requireTf();
    if (rows.count === 0) return new Float32Array(0);
    return tf.tidy(() => {
      const x = tf.tensor2d(rows.data, [rows.count, rows.width]);
      const h = tf.relu(tf.add(tf.matMul(x, this.w1.gather([k]).squeeze([0])), this.b1.gather([k]).squeeze([0])));
      return tf.add(tf.matMul(h, this.w2.gather([k]).squeeze([0])), this.b2.gather([k]).squeeze([0])).dataSync() as Float32Array;
    });
  }

  /**
   * Networks `members` as one Sequential model whose logit is the mean of theirs: their hidden
   * layers side by side (they share the input), their output weights divided by the count. One
   * predict scores the whole ensemble.
   */
  toModel(members: readonly number[]): LayersModel {
    const tf = requireTf();
    const [, D, H] = this.w1.shape as [number, number, number];
    const m = members.length;
    const model = tf.sequential({
      layers: [tf.layers.dense({ name: 'hidden', inputShape: [D], units: m * H, activation: 'relu' }), tf.layers.dense({ name: 'logit', units: 1 })],
    });
    tf.tidy(() => {
      const idx = tf.tensor1d(Int32Array.from(members), 'int32');
      const w1 = tf.transpose(tf.gather(this.w1, idx), [1, 0, 2]).reshape([D, m * H]);
      const b1 = tf.gather(this.b1, idx).reshape([m * H]);
      const w2 = tf.gather(this.w2, idx).reshape([m * H, 1]).div(m);
      const b2 = tf.gather(this.b2, idx).mean().reshape([1]);
      model.setWeights([w1, b1, w2, b2]);
    });
    return model;
  }

  dispose(): void {
    for (const v of [this.w1, this.b1, this.w2, this.b2]) v.dispose();
  }
}

/** Endless passes over 0..n-1, each pass in a fresh seeded order. */
class Shuffled {
  private readonly order: Int32Array;
  private at: number;

  constructor(n: number, private readonly rand: () => number) {
    this.order = Int32Array.from({ length: n }, (_, i) => i);
    this.at = n;
  }

  next(): number {
    const o = this.order;
    if (this.at === o.length) {
      for (let i = o.length - 1; i > 0; i--) {
        const j = Math.floor(this.rand() * (i + 1));
        const t = o[i] as number;
        o[i] = o[j] as number;
        o[j] = t;
      }
      this.at = 0;
    }
    return o[this.at++] as number;
  }
}
