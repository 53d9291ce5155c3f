/**
 * A small binary classifier: one hidden ReLU layer, a logit output, trained with Adam on a weighted
 * logistic loss. Pure TypeScript on typed arrays: the per-action networks of the mouse model are
 * tiny (tens of inputs, tens of hidden units), where a call into a tensor library costs more than
 * the arithmetic. Deterministic for a given seed. Weights are plain number arrays, so they live in
 * the agent's JSON template and are versioned with the profile.
 */
import { seededRandom } from '../../lib/random.js';

export interface MlpWeights {
  [key: string]: number[] | number;
  inputs: number;
  hidden: number;
  /** hidden x inputs, row-major. */
  w1: number[];
  b1: number[];
  w2: number[];
  b2: number;
}

export interface MlpTraining {
  /** Hidden units (default 32). */
  hidden?: number;
  /** Passes over the data (default 20). */
  epochs?: number;
  /** Adam step size (default 0.01). */
  learningRate?: number;
  /** L2 weight decay (default 1e-4). */
  l2?: number;
  /** Mini-batch size (default 64). */
  batch?: number;
  seed?: number;
}

/** The logit (log-odds of the positive class) of one input. */
export function mlpLogit(m: MlpWeights, x: ArrayLike<number>, offset = 0): number {
  const { inputs, hidden, w1, b1, w2 } = m;
  let o = m.b2;
  for (let k = 0; k < hidden; k++) {
    let a = b1[k] as number;
    const row = k * inputs;
    for (let j = 0; j < inputs; j++) a += (w1[row + j] as number) * (x[offset + j] as number);
    if (a > 0) o += (w2[k] as number) * a;
  }
  return o;
}

/**
 * Trains on `pos` (label 1) and `neg` (label 0) rows of equal length; each class carries half the
 * total weight whatever its size.
 */
export function trainMlp(pos: readonly Float64Array[], neg: readonly Float64Array[], o: MlpTraining = {}): MlpWeights {
  const H = o.hidden ?? 32;
  const epochs = o.epochs ?? 20;
  const lr = o.learningRate ?? 0.01;
  const l2 = o.l2 ?? 1e-4;
  const B = o.batch ?? 64;
  const rand = seededRandom(o.seed ?? 1);
  const X = [...pos, ...neg];
  const D = (X[0] as Float64Array).length;
  const wPos = neg.length / Math.max(1, pos.length);
  const n = X.length;
  const P = H * D + H + H + 1; // w1, b1, w2, b2 in one vector
  const w = new Float64Array(P);
  const W1 = 0;
  const B1 = H * D;
  const W2 = B1 + H;
  const B2 = W2 + H;
  for (let i = 0; i < H * D; i++) w[W1 + i] = (rand() - 0.5) * (2 / Math.sqrt(D));
  for (let k = 0; k < H; k++) w[W2 + k] = (rand() - 0.5) * (2 / Math.sqrt(H));
  const m = new Float64Array(P);
  const v = new Float64Array(P);
  const g = new Float64Array(P);
  const h = new Float64Array(H);
  const idx = Array.from({ length: n }, (_, i) => i);
  let t = 0;
  for (let ep = 0; ep < epochs; ep++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [idx[i], idx[j]] = [idx[j] as number, idx[i] as number];
    }
    for (let s = 0; s < n; s += B) {
      g.fill(0);
      let weight = 0;
      for (let q = s; q < Math.min(n, s + B); q++) {
        const i = idx[q] as number;
        const x = X[i] as Float64Array;
        let out = w[B2] as number;
        for (let k = 0; k < H; k++) {
          let a = w[B1 + k] as number;
          const row = W1 + k * D;
          for (let j = 0; j < D; j++) a += (w[row + j] as number) * (x[j] as number);
          h[k] = a > 0 ? a : 0;
          out += (w[W2 + k] as number) * (h[k] as number);
        }
        const isPos = i < pos.length;
        const p = 1 / (1 + Math.exp(-out));
        const wt = isPos ? wPos : 1;
        weight += wt;
        const e = (p - (isPos ? 1 : 0)) * wt;
        g[B2] = (g[B2] as number) + e;
        for (let k = 0; k < H; k++) {
          const hk = h[k] as number;
          g[W2 + k] = (g[W2 + k] as number) + e * hk;
          if (hk > 0) {
            const eh = e * (w[W2 + k] as number);
            g[B1 + k] = (g[B1 + k] as number) + eh;
            const row = W1 + k * D;
            for (let j = 0; j < D; j++) g[row + j] = (g[row + j] as number) + eh * (x[j] as number);
          }
        }
      }
      t += 1;
      const c1 = 1 - 0.9 ** t;
      const c2 = 1 - 0.999 ** t;
      for (let p = 0; p < P; p++) {
        const decay = p >= B1 && p < W2 ? 0 : p === B2 ? 0 : l2 * (w[p] as number);
        const gp = (g[p] as number) / weight + decay;
        m[p] = 0.9 * (m[p] as number) + 0.1 * gp;
        v[p] = 0.999 * (v[p] as number) + 0.001 * gp * gp;
        w[p] = (w[p] as number) - (lr * ((m[p] as number) / c1)) / (Math.sqrt((v[p] as number) / c2) + 1e-8);
      }
    }
  }
  const r6 = (x: number): number => Math.round(x * 1e6) / 1e6 + 0; // + 0: no -0, which JSON cannot keep
  return {
    inputs: D,
    hidden: H,
    w1: Array.from(w.subarray(W1, B1), r6),
    b1: Array.from(w.subarray(B1, W2), r6),
    w2: Array.from(w.subarray(W2, B2), r6),
    b2: r6(w[B2] as number),
  };
}
