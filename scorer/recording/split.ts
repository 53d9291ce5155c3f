/**
 * Splits a recording in two at a fraction of its events, moved forward to the first moment no key
 * or button is held, so neither part starts with a release whose press is in the other. A key held
 * or button held longer than STALE_MS counts as released: recordings lose releases.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';

const STALE_MS = 5000;

export function splitIndex(events: readonly InputEvent[], fraction: number): number {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError('the split fraction must be between 0 and 1');
  const held = new Map<number, number>();
  let buttons = 0;
  let buttonsSince = 0;
  const target = Math.round(events.length * fraction);
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as InputEvent;
    for (const [keysym, since] of held) if (e.timeMs - since > STALE_MS) held.delete(keysym);
    if (buttons !== 0 && e.timeMs - buttonsSince > STALE_MS) buttons = 0;
    if (i >= target && held.size === 0 && buttons === 0) return i;
    const kind = e.kind;
    if (kind?.$case === 'key') {
      if (kind.value.pressed) held.set(kind.value.keysym, e.timeMs);
      else held.delete(kind.value.keysym);
    } else if (kind?.$case === 'mouse') {
      const now = kind.value.buttonMask & 0b111;
      if (buttons === 0 && now !== 0) buttonsSince = e.timeMs;
      buttons = now;
    }
  }
  return events.length;
}
