/**
 * The pointer path a page sees without `getCoalescedEvents()`: Chromium delivers `mousemove` and
 * `pointermove` once per animation frame, carrying the last position the mouse reported in that
 * frame and that report's time. Anything else (a button, a wheel notch, a key) is delivered at
 * once, after the frame's pending move, so order is kept. Recordings taken at the mouse's own rate
 * (125-1000 Hz) become what the gateway's page would send at `hz` frames per second.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';

/** Guacamole's wheel bits: a notch, never coalesced. */
const WHEEL = 8 | 16;

/**
 * Events with the pointer moves of each frame (of 1000/hz ms, from time 0) reduced to the frame's
 * last one; buttons, wheel and keys pass unchanged, each after the move pending before it.
 */
export function frameAlignedPointer(events: readonly InputEvent[], hz: number): InputEvent[] {
  if (!(hz > 0)) throw new RangeError(`frame rate must be a positive number of frames per second (got ${hz})`);
  const frameMs = 1000 / hz;
  const out: InputEvent[] = [];
  let pending: InputEvent | undefined;
  /** The button mask of the previous mouse event: a move is one that changes nothing but the position. */
  let previous = 0;
  const flush = (): void => {
    if (pending) out.push(pending);
    pending = undefined;
  };
  for (const e of events) {
    const mask = e.kind?.$case === 'mouse' ? e.kind.value.buttonMask : undefined;
    if (mask !== undefined && mask === previous && (mask & WHEEL) === 0) {
      if (pending && Math.floor(pending.timeMs / frameMs) !== Math.floor(e.timeMs / frameMs)) flush();
      pending = e;
      continue;
    }
    flush();
    out.push(e);
    if (mask !== undefined) previous = mask;
  }
  flush();
  return out;
}
