/**
 * The hands on the agent's PC, on a thread of their own (rig/hands.ts starts it): a player and the
 * injector it drives, and for relayed input the colluder's link and viewer too. On the rig's main
 * thread they shared one event loop with the gateway, the bridge's RDP decoding and the scorer, and
 * every stall there made input leave late: an artefact of the rig that looks like a relay's bunching.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startJitterProxy, type JitterProxy } from '../lib/testing/jitter-proxy.js';
import { play } from './playback.js';
import { rfbClient, type RfbClient } from './rfb-client.js';
import { xtestInjector } from './xtest.js';
import type { Injector } from './injector.js';
import type { HandsOptions, ToHands, FromHands } from './hands.js';

const port = parentPort;
if (!port) throw new Error('rig/hands-worker.js runs as a worker thread (rig/hands.ts starts it)');

const o = workerData as HandsOptions;
let stopped = false;
let held = false;
let proxy: JitterProxy | undefined;
let viewer: RfbClient | undefined;
const send = (m: FromHands): void => port.postMessage(m);

async function open(): Promise<Injector> {
  if (o.kind === 'local') return xtestInjector(o.display);
  proxy = await startJitterProxy({ targetHost: '127.0.0.1', targetPort: o.vncPort, upstream: o.link, downstream: o.link, seed: o.seed });
  viewer = await rfbClient(proxy.port);
  return viewer;
}

open().then(
  (injector) => {
    port.on('message', (m: ToHands) => {
      if (m.type === 'state') {
        stopped = m.stop;
        held = m.hold;
      } else if (m.type === 'pointer') {
        injector.pointer(m.x, m.y, m.mask);
      } else if (m.type === 'play') {
        void Promise.all([play(m.keys, injector, () => stopped, () => held), play(m.pointer, injector, () => stopped, () => held)]).then(
          (late) => send({ type: 'played', late: late.flat(), failure: viewer?.failure?.message }),
          (err: Error) => send({ type: 'error', message: err.message }),
        );
      } else if (m.type === 'close') {
        void (async () => {
          await injector.close();
          await proxy?.close();
          send({ type: 'closed' });
        })();
      }
    });
    send({ type: 'ready' });
  },
  (err: Error) => send({ type: 'error', message: err.message }),
);
