/**
 * Runs tap cases in a worker thread so that the main thread can watch it: the worker writes the
 * index of the case it is in to shared memory, and a case that never returns (a hang) is seen from
 * outside, the worker terminated and the case saved.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { hugeElementHeapGrowth, runTapCase, tapCase } from './tap-target.js';

export interface TapWorkerInput {
  readonly seed: number;
  readonly instructions: number;
  readonly deadline: number;
  /** Int32Array over it: [0] the case being run. */
  readonly progress: SharedArrayBuffer;
}

export type TapWorkerMessage =
  | { readonly type: 'finding'; readonly kind: 'crash' | 'violation'; readonly index: number; readonly message: string }
  | {
    readonly type: 'done'; readonly cases: number; readonly instructions: number; readonly refused: number; readonly unscored: number;
    readonly maxPushMs: number; readonly peakHeap: number; readonly hugeElementGrowth: number;
  };

const input = workerData as TapWorkerInput;
const progress = new Int32Array(input.progress);
const post = (m: TapWorkerMessage) => parentPort?.postMessage(m);

progress[0] = -1;
const hugeElementGrowth = hugeElementHeapGrowth();
let instructions = 0;
let refused = 0;
let unscored = 0;
let maxPushMs = 0;
let peakHeap = 0;
let index = 0;
for (; instructions < input.instructions && Date.now() < input.deadline; index++) {
  Atomics.store(progress, 0, index);
  const c = tapCase(input.seed, index);
  instructions += c.instructions;
  try {
    const o = runTapCase(c);
    if (o.violation) post({ type: 'finding', kind: 'violation', index, message: o.violation });
    if (o.refused) refused++;
    unscored += o.unscored;
    maxPushMs = Math.max(maxPushMs, o.maxPushMs);
  } catch (err) {
    post({ type: 'finding', kind: 'crash', index, message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
  if (index % 1000 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}
post({ type: 'done', cases: index, instructions, refused, unscored, maxPushMs, peakHeap, hugeElementGrowth });
