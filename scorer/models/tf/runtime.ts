/**
 * The TensorFlow.js runtime of the production models. A backend is chosen once per thread, at
 * start: TensorFlow's native library through `@tensorflow/tfjs-node` when a deployment installs it,
 * else the WebAssembly backend that ships with the project. After `initTf()` resolves, tensors run
 * synchronously, which is what lets the models keep the synchronous `ModalityModel` interface.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { VdiguardError } from '../../../lib/errors.js';

export { tf };

export const TF_BACKENDS = ['auto', 'wasm', 'cpu', 'tensorflow'] as const;
export type TfBackendChoice = (typeof TF_BACKENDS)[number];

/** Optional: not a dependency of the project, used when a deployment installs it. */
const TFJS_NODE = '@tensorflow/tfjs-node';

let started: Promise<string> | undefined;
let chosen: TfBackendChoice | undefined;
/** Set once the backend is ready. */
let active: string | undefined;

/**
 * Selects the backend (idempotent; a second call asking for another backend is refused) and
 * resolves to its name. `auto`: tfjs-node when it can be loaded, else wasm. `cpu` is TensorFlow.js's
 * plain JavaScript backend: slower, for comparisons.
 */
export function initTf(choice: TfBackendChoice = 'auto'): Promise<string> {
  if (started) {
    if (chosen !== choice && choice !== 'auto') {
      return Promise.reject(new VdiguardError('failed-precondition', `TensorFlow.js already runs on ${chosen}; one backend per process`));
    }
    return started;
  }
  chosen = choice;
  started = selectBackend(choice).then((name) => (active = name));
  started.catch(() => {
    started = undefined;
    chosen = undefined;
  });
  return started;
}

async function selectBackend(choice: TfBackendChoice): Promise<string> {
  if (choice === 'auto' || choice === 'tensorflow') {
    const native = await import(TFJS_NODE).then(
      () => true,
      (err: unknown) => {
        if (choice === 'tensorflow') {
          throw new VdiguardError('failed-precondition', `the tensorflow backend needs ${TFJS_NODE}, which cannot be loaded: ${(err as Error).message}; install it or choose wasm`);
        }
        return false;
      },
    );
    if (native && (await tf.setBackend('tensorflow'))) return tf.getBackend();
  }
  const name = choice === 'cpu' ? 'cpu' : 'wasm';
  if (!(await tf.setBackend(name))) {
    throw new VdiguardError('failed-precondition', `TensorFlow.js backend ${name} failed to start; see the messages above`);
  }
  await tf.ready();
  return tf.getBackend();
}

/** The backend in use; throws when `initTf()` has not finished, so no model runs on a default backend by accident. */
export function requireTf(): typeof tf {
  if (active === undefined) {
    throw new VdiguardError('failed-precondition', 'TensorFlow.js is not initialised: await initTf() when the process (or worker) starts');
  }
  return tf;
}
