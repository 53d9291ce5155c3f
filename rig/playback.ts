/**
 * Plays a recorded person's input (InputEvents from the datasets: Aalto keys, SapiMouse or Balabit
 * pointer paths) into an injector at the recording's own times, so that the only difference between
 * a local and a relayed stretch is the path the input takes.
 */
import type { InputEvent } from '../proto/gen/vdiguard/scorer/v1/scorer.js';
import type { Injector } from './injector.js';

export type Action = { readonly atMs: number } & ({ readonly key: number; readonly down: boolean } | { readonly x: number; readonly y: number; readonly mask: number });

/** Where recorded pointer positions land: a rectangle of the screen (the page's desktop view). */
export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Keysyms never played: they would leave the agent page's keyboard (Alt-Tab) or stop the desktop's shell (Ctrl-C, Ctrl-D). */
const NOT_PLAYED = new Set([0xffe3, 0xffe4, 0xffe9, 0xffea, 0xffe7, 0xffe8, 0xffeb, 0xffec]);

/**
 * The recording as actions from time 0: pauses longer than `maxPauseMs` are cut to it (a break
 * in a recording is not behaviour), pointer positions are scaled from the recording's extent into
 * `into`, and modifier keys other than Shift are left out.
 */
export function actionsOf(events: readonly InputEvent[], into: Rect, maxPauseMs = 1000): Action[] {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const e of events) {
    if (e.kind?.$case !== 'mouse') continue;
    minX = Math.min(minX, e.kind.value.x);
    maxX = Math.max(maxX, e.kind.value.x);
    minY = Math.min(minY, e.kind.value.y);
    maxY = Math.max(maxY, e.kind.value.y);
  }
  const scale = Math.min(1, (into.width - 1) / Math.max(1, maxX - minX), (into.height - 1) / Math.max(1, maxY - minY));
  const out: Action[] = [];
  let t = 0;
  let prev: number | undefined;
  for (const e of events) {
    if (!e.kind) continue;
    t += prev === undefined ? 0 : Math.min(maxPauseMs, Math.max(0, e.timeMs - prev));
    prev = e.timeMs;
    if (e.kind.$case === 'key') {
      if (!NOT_PLAYED.has(e.kind.value.keysym)) out.push({ atMs: t, key: e.kind.value.keysym, down: e.kind.value.pressed });
    } else {
      const m = e.kind.value;
      out.push({ atMs: t, x: Math.round(into.x + (m.x - minX) * scale), y: Math.round(into.y + (m.y - minY) * scale), mask: m.buttonMask });
    }
  }
  return out;
}

/** The part of `actions` within [fromMs, fromMs + lengthMs), from time 0. */
export function stretchOf(actions: readonly Action[], fromMs: number, lengthMs: number): Action[] {
  return actions.filter((a) => a.atMs >= fromMs && a.atMs < fromMs + lengthMs).map((a) => ({ ...a, atMs: a.atMs - fromMs }));
}

/**
 * Plays `actions` into `injector` at their times from now. Timers wake up to a couple of ms
 * early and the last stretch is waited out on the event loop, so an action leaves within about
 * 1 ms of its time on an idle machine; `stop()` returning true ends the playback early, and while
 * `hold()` returns true it waits, the rest of the recording moved later by the wait.
 * Resolves with how late each action left (ms), for the rig to report.
 */
export async function play(actions: readonly Action[], injector: Injector, stop: () => boolean = () => false, hold: () => boolean = () => false): Promise<number[]> {
  let start = performance.now();
  const late: number[] = [];
  for (const a of actions) {
    if (stop()) break;
    if (hold()) {
      const held = performance.now();
      while (hold() && !stop()) await new Promise((r) => setTimeout(r, 20));
      start += performance.now() - held;
      if (stop()) break;
    }
    let wait = start + a.atMs - performance.now();
    if (wait > 3) await new Promise((r) => setTimeout(r, wait - 2));
    while ((wait = start + a.atMs - performance.now()) > 0) await new Promise((r) => setImmediate(r));
    late.push(-wait);
    if ('key' in a) injector.key(a.key, a.down);
    else injector.pointer(a.x, a.y, a.mask);
  }
  return late;
}

/** Smoothing of a recorded path before a device samples it: Gaussian, this SD (ms), taps 4 ms apart. */
const PATH_SMOOTHING_MS = 8;
const TAPS = [-3, -2, -1, 0, 1, 2, 3].map((k) => ({ dt: 4 * k, w: Math.exp(-((4 * k) ** 2) / (2 * PATH_SMOOTHING_MS ** 2)) }));

/** Pointer positions of a recording as a function of time: linear between recorded points, held outside them. */
function pathOf(points: readonly { atMs: number; x: number; y: number }[]): (t: number) => [number, number] {
  let i = 0;
  return (t) => {
    while (i > 0 && (points[i] as { atMs: number }).atMs > t) i--;
    while (i + 1 < points.length && (points[i + 1] as { atMs: number }).atMs <= t) i++;
    const a = points[i] as { atMs: number; x: number; y: number };
    const b = points[i + 1];
    if (!b || t <= a.atMs) return [a.x, a.y];
    const f = (t - a.atMs) / Math.max(1e-9, b.atMs - a.atMs);
    return [a.x + f * (b.x - a.x), a.y + f * (b.y - a.y)];
  };
}

/**
 * The pointer as a device at `hz` reports it: the recorded path sampled on the device's own clock,
 * a report only when the pointer moved, button changes at the next report after their recorded
 * time. A recording's times were stamped by the page that recorded it, after that browser's own
 * event loop, so its points sit a few ms off a smooth path; a hand moves smoothly at these scales
 * and a mouse reports what moved since its last report, so the path is smoothed (Gaussian, 8 ms)
 * before it is sampled. This gives the rig local input of a known kind (60-1000 Hz). Keys are kept
 * as recorded.
 */
export function asDevice(actions: readonly Action[], hz: number): Action[] {
  const period = 1000 / hz;
  const pointer = actions.filter((a): a is Action & { x: number; y: number; mask: number } => !('key' in a));
  const out: Action[] = actions.filter((a) => 'key' in a);
  if (pointer.length === 0) return out;
  const at = pathOf(pointer);
  const smooth = (t: number): [number, number] => {
    let x = 0;
    let y = 0;
    let w = 0;
    for (const tap of TAPS) {
      const [px, py] = at(t + tap.dt);
      x += tap.w * px;
      y += tap.w * py;
      w += tap.w;
    }
    return [Math.round(x / w), Math.round(y / w)];
  };
  let last: [number, number, number] | undefined;
  let b = 0;
  const first = pointer[0] as { atMs: number };
  const end = (pointer[pointer.length - 1] as { atMs: number }).atMs;
  for (let t = Math.ceil(first.atMs / period) * period; t <= end + period; t += period) {
    while (b + 1 < pointer.length && (pointer[b + 1] as { atMs: number }).atMs <= t) b++;
    const mask = (pointer[b] as { mask: number }).mask;
    const [x, y] = smooth(t);
    if (last && last[0] === x && last[1] === y && last[2] === mask) continue;
    last = [x, y, mask];
    out.push({ atMs: t, x, y, mask });
  }
  return out.sort((p, q) => p.atMs - q.atMs);
}
