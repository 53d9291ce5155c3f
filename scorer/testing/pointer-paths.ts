/**
 * Synthetic pointer streams for the remote-control test's unit tests: movements as a hand makes
 * them, reported by a local device, or sampled on another machine and stamped on arrival after a
 * link, as a remote-control tool delivers them. The rig (rig/) measures the real ones.
 */
import { gaussian, seededRandom } from '../../lib/random.js';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import type { PointerPoint } from '../remote-control/pointer-timing.js';

/**
 * Movements from rest to rest, 300 px in 500 ms with a bell-shaped speed (the minimum-jerk
 * profile of reaching movements), every 700 ms, each in a new direction.
 */
function pathAt(t: number): [number, number] {
  const movement = 700;
  const k = Math.floor(t / movement);
  const u = Math.min(1, (t - k * movement) / 500);
  const s = 300 * (10 * u ** 3 - 15 * u ** 4 + 6 * u ** 5);
  let x = 600;
  let y = 400;
  for (let j = 0; j < k; j++) {
    x += 300 * Math.cos(j * 2.4);
    y += 300 * Math.sin(j * 2.4);
  }
  return [x + s * Math.cos(k * 2.4), y + s * Math.sin(k * 2.4)];
}

/** A device at `hz`: each report stamped in whole ms up to `stampNoiseMs` late, a report only when it moved. */
export function devicePoints(hz: number, seconds: number, stampNoiseMs = 0, seed = 1): PointerPoint[] {
  const random = seededRandom(seed);
  const out: PointerPoint[] = [];
  for (let t = 0; t < seconds * 1000; t += 1000 / hz) {
    const [x, y] = pathAt(t).map(Math.round) as [number, number];
    const last = out[out.length - 1];
    if (last && last.x === x && last.y === y) continue;
    out.push({ timeMs: Math.max(last?.timeMs ?? 0, Math.round(t + stampNoiseMs * random())), x, y });
  }
  return out;
}

/** The same path sampled at `hz` on another machine, stamped on arrival after 30 ms +- `jitterMs` (order kept). */
export function relayedPoints(hz: number, seconds: number, jitterMs: number, seed = 2): PointerPoint[] {
  const random = seededRandom(seed);
  let last = 0;
  return devicePoints(hz, seconds, 0, seed).map((p) => {
    last = Math.max(last, Math.round(p.timeMs + 30 + jitterMs * gaussian(random)));
    return { ...p, timeMs: last };
  });
}

/**
 * The same path sampled at `hz` on another machine and sent over a LAN (1 +- 0.3 ms), injected by a
 * tool whose loop comes round every `loopMs[0]`-`loopMs[1]` ms (uniform) and injects everything that
 * arrived since, each position stamped when injected: x11vnc between its polls of the screen.
 */
export function toolLoopPoints(hz: number, seconds: number, loopMs: readonly [number, number], seed = 3): PointerPoint[] {
  const random = seededRandom(seed);
  const arrived = devicePoints(hz, seconds, 0, seed).map((p) => ({ ...p, at: p.timeMs + 1 + 0.3 * gaussian(random) }));
  const out: PointerPoint[] = [];
  let loop = 0;
  for (const p of arrived) {
    while (loop < p.at) loop += loopMs[0] + (loopMs[1] - loopMs[0]) * random();
    out.push({ timeMs: Math.floor(loop), x: p.x, y: p.y });
  }
  return out;
}

/** Points as the page sends them: mouse moves whose client time is the point's, arriving `linkMs` later. */
export function asMoves(points: readonly PointerPoint[], linkMs = 20): InputEvent[] {
  return points.map((p) => ({ timeMs: p.timeMs + linkMs, clientTimeMs: p.timeMs, kind: { $case: 'mouse', value: { x: p.x, y: p.y, buttonMask: 0 } } }));
}
