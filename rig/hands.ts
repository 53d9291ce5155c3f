/**
 * The hands that play a stretch into the agent's PC, run on a worker thread (rig/hands-worker.ts)
 * so that input leaves at the recording's times whatever the rig's main thread is doing:
 * - local: XTest on the agent's display, the agent at their own keyboard and mouse;
 * - relayed: an RFB viewer through a jittering link to x11vnc on that display, the colluder at home.
 * The agent's PC and x11vnc stay with the main thread; the link belongs to the colluder's side.
 */
import { Worker } from 'node:worker_threads';
import type { ChunkDelay } from '../lib/testing/jitter-proxy.js';
import type { Action } from './playback.js';

export type HandsOptions = { readonly kind: 'local'; readonly display: string } | { readonly kind: 'relayed'; readonly vncPort: number; readonly link: ChunkDelay; readonly seed: number };

/** Messages to the worker. */
export type ToHands =
  | { readonly type: 'state'; readonly stop: boolean; readonly hold: boolean }
  | { readonly type: 'pointer'; readonly x: number; readonly y: number; readonly mask: number }
  | { readonly type: 'play'; readonly keys: readonly Action[]; readonly pointer: readonly Action[] }
  | { readonly type: 'close' };

/** Messages from the worker. */
export type FromHands = { readonly type: 'ready' } | { readonly type: 'error'; readonly message: string } | { readonly type: 'played'; readonly late: number[]; readonly failure: string | undefined } | { readonly type: 'closed' };

export interface Hands {
  /** Moves the pointer at once (to start a stretch from a known place). */
  pointer(x: number, y: number, mask: number): void;
  /**
   * Plays keys and pointer side by side at their times. While `hold()` is true the playing waits,
   * the rest moved later by the wait; once `stop()` is true it ends. Both are read on the main
   * thread every 20 ms. Resolves with how late each action left (ms); rejects when a viewer
   * stopped reading the screen during the stretch.
   */
  play(keys: readonly Action[], pointer: readonly Action[], stop: () => boolean, hold: () => boolean): Promise<number[]>;
  close(): Promise<void>;
}

/** How often the main thread tells the hands whether the session still takes input. */
const STATE_POLL_MS = 20;

export async function startHands(o: HandsOptions): Promise<Hands> {
  const worker = new Worker(new URL('./hands-worker.js', import.meta.url), { workerData: o });
  // The next message of type `want`; rejects on the worker's error message, an uncaught error, or its exit.
  const next = (want: FromHands['type']): Promise<FromHands> =>
    new Promise((resolve, reject) => {
      const done = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const onMessage = (m: FromHands): void => {
        if (m.type !== want && m.type !== 'error') return;
        done();
        if (m.type === 'error') reject(new Error(`the rig's ${o.kind} hands: ${m.message}`));
        else resolve(m);
      };
      const onError = (err: Error): void => {
        done();
        reject(err);
      };
      const onExit = (code: number): void => {
        done();
        reject(new Error(`the rig's ${o.kind} hands stopped (exit code ${code})`));
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  const post = (m: ToHands): void => worker.postMessage(m);
  try {
    await next('ready');
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  return {
    pointer: (x, y, mask) => post({ type: 'pointer', x, y, mask }),
    async play(keys, pointer, stop, hold) {
      const tell = (): void => post({ type: 'state', stop: stop(), hold: hold() });
      tell();
      const poll = setInterval(tell, STATE_POLL_MS);
      try {
        const done = next('played');
        post({ type: 'play', keys, pointer });
        const m = (await done) as Extract<FromHands, { type: 'played' }>;
        if (m.failure) throw new Error(`the VNC viewer stopped reading the screen during the stretch: ${m.failure}`);
        return m.late;
      } finally {
        clearInterval(poll);
      }
    },
    async close() {
      const closed = next('closed').catch(() => undefined);
      post({ type: 'close' });
      await closed;
      await worker.terminate();
    },
  };
}
