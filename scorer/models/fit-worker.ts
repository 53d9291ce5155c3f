/**
 * A template fit worker (see fit-pool.ts): starts the TensorFlow.js backend, builds the production
 * pipelines once with the scorer's population networks, keeps its copy of the population sample as
 * the pool sends it, and fits one template per fit message, in order.
 */
import { setPriority } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { VdiguardError } from '../../lib/errors.js';
import { defaultPipelines } from './pipelines.js';
import { initTf } from './tf/runtime.js';
import { unpackSample, unpackWindows, type FitMessage, type FitOutcome, type FitReply, type FittedTemplate, type NetworkArtifacts, type ToWorker } from './fit-pool.js';
import { PopulationSample } from './population.js';
import { KeyEmbeddingNetwork } from './keystroke-embedding.js';
import { ActionNetwork } from './action-network.js';
import { loadModelJson } from './tf/artifacts.js';

const port = parentPort;
if (!port) throw new Error('fit-worker.js runs as a worker thread of the scorer\'s fit pool, not on its own');

/**
 * A fit is background work: a profile version may come seconds later, a verdict may not. On Linux
 * each thread has its own nice value, and setting it with no pid sets this thread's only, so the
 * scorer's event loop, and whatever shares its cores, goes ahead of a fit. Elsewhere it would
 * lower the whole scorer, so it is left alone there.
 */
const FIT_NICE = 19;
if (process.platform === 'linux') {
  try {
    setPriority(FIT_NICE);
  } catch {
    // Not permitted here (a raised priority cannot be lowered back, say): fits at the scorer's.
  }
}

await initTf();
// The same networks as the scorer's own pipelines, so a template is fitted as it will be scored.
const networks = workerData as NetworkArtifacts;
const keyEmbedding = networks.keyEmbedding ? new KeyEmbeddingNetwork(await loadModelJson(networks.keyEmbedding)) : undefined;
const actionNetwork = networks.actionNetwork ? new ActionNetwork(await loadModelJson(networks.actionNetwork)) : undefined;
const pipelines = defaultPipelines({ keyEmbedding, actionNetwork });
// The scorer's sample caps its agents and tells this copy whom it drops.
const population = new PopulationSample({ maxAgents: Number.POSITIVE_INFINITY });

function fit(m: FitMessage): FittedTemplate {
  const pipeline = pipelines.find((p) => p.modality === m.modality);
  if (!pipeline) throw new VdiguardError('invalid-argument', `no pipeline for modality ${JSON.stringify(m.modality)}; expected one of ${pipelines.map((p) => p.modality).join(', ')}`);
  const background = population.background(m.modality, m.agentId ?? '');
  try {
    return { model: pipeline.model.name, template: pipeline.model.fit(unpackWindows(m.windows), { background, ...(m.agentId !== null ? { agentId: m.agentId } : {}) }) };
  } catch (err) {
    // Too few windows means "no template yet", not a failure.
    if (err instanceof VdiguardError && err.code === 'failed-precondition') return { model: pipeline.model.name, template: null };
    throw err;
  }
}

port.on('message', (message: ToWorker) => {
  if ('sample' in message) {
    const { agentId, windows } = message.sample;
    if (windows) population.put(agentId, unpackSample(windows));
    else population.delete(agentId);
    return;
  }
  const m = message.fit;
  let outcome: FitOutcome;
  try {
    outcome = { id: m.id, ok: true, result: fit(m) };
  } catch (err) {
    outcome = err instanceof VdiguardError
      ? { id: m.id, ok: false, code: err.code, message: err.message }
      : { id: m.id, ok: false, code: 'internal', message: `template fit failed: ${(err as Error).message}` };
  }
  port.postMessage({ ...outcome, heapCommittedBytes: getHeapStatistics().total_heap_size } satisfies FitReply);
});
