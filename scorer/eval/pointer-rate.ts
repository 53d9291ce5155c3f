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

/** The most samples the page sends before one move (gateway/tap/client-time.ts MAX_SAMPLES_PER_MOVE). */
const MAX_SAMPLES = 32;

/**
 * Events with the pointer moves of each frame (of 1000/hz ms, from time 0) reduced to the frame's
 * last one; buttons, wheel and keys pass unchanged, each after the move pending before it. With
 * `samples`, the frame's earlier moves (the latest 32) go just before its move as timing-only
 * samples, as the page sends a move's coalesced points (docs/client-times.md); the scorer's clock
 * places them by their move's client time or drops them. The gateway's clamp of a sample into the
 * rectangle of the moves around it is not applied (it moves 0.05-0.7% of SapiMouse's samples by a
 * median 1 px).
 */
export function frameAlignedPointer(events: readonly InputEvent[], hz: number, samples = false): InputEvent[] {
  if (!(hz > 0)) throw new RangeError(`frame rate must be a positive number of frames per second (got ${hz})`);
  const frameMs = 1000 / hz;
  const out: InputEvent[] = [];
  let frame: InputEvent[] = [];
  /** The button mask of the previous mouse event: a move is one that changes nothing but the position. */
  let previous = 0;
  const flush = (): void => {
    const last = frame[frame.length - 1];
    if (last === undefined) return;
    if (samples) for (const e of frame.slice(0, -1).slice(-MAX_SAMPLES)) out.push({ ...e, timingOnly: true });
    out.push(last);
    frame = [];
  };
  for (const e of events) {
    const mask = e.kind?.$case === 'mouse' ? e.kind.value.buttonMask : undefined;
    if (mask !== undefined && mask === previous && (mask & WHEEL) === 0) {
      if (frame.length > 0 && Math.floor((frame[0] as InputEvent).timeMs / frameMs) !== Math.floor(e.timeMs / frameMs)) flush();
      frame.push(e);
      continue;
    }
    flush();
    out.push(e);
    if (mask !== undefined) previous = mask;
  }
  flush();
  return out;
}
