/**
 * A template fit worker (see fit-pool.ts): builds the production pipelines once, starts the
 * TensorFlow.js backend, then fits one template per message, in order.
 */
import { parentPort } from 'node:worker_threads';
import { VdiguardError } from '../../lib/errors.js';
import { defaultPipelines } from './pipelines.js';
import { initTf } from './tf/runtime.js';
import { unpackWindows, type FitMessage, type FitReply, type FittedTemplate } from './fit-pool.js';

const port = parentPort;
if (!port) throw new Error('fit-worker.js runs as a worker thread of the scorer\'s fit pool, not on its own');

const pipelines = defaultPipelines();
await initTf();

function fit(m: FitMessage): FittedTemplate {
  const pipeline = pipelines.find((p) => p.modality === m.modality);
  if (!pipeline) throw new VdiguardError('invalid-argument', `no pipeline for modality ${JSON.stringify(m.modality)}; expected one of ${pipelines.map((p) => p.modality).join(', ')}`);
  const background = m.background ? { agents: m.background.agents, windows: unpackWindows(m.background.windows) } : undefined;
  try {
    return { model: pipeline.model.name, template: pipeline.model.fit(unpackWindows(m.windows), { background }) };
  } catch (err) {
    // Too few windows means "no template yet", not a failure.
    if (err instanceof VdiguardError && err.code === 'failed-precondition') return { model: pipeline.model.name, template: null };
    throw err;
  }
}

port.on('message', (m: FitMessage) => {
  let reply: FitReply;
  try {
    reply = { id: m.id, ok: true, result: fit(m) };
  } catch (err) {
    reply = err instanceof VdiguardError
      ? { id: m.id, ok: false, code: err.code, message: err.message }
      : { id: m.id, ok: false, code: 'internal', message: `template fit failed: ${(err as Error).message}` };
  }
  port.postMessage(reply);
});
