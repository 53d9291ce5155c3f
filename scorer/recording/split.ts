/**
 * Splits a recording in two at a fraction of its events, moved forward to the first moment no key
 * or button is held, so neither part starts with a release whose press is in the other.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';

export function splitIndex(events: readonly InputEvent[], fraction: number): number {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError('the split fraction must be between 0 and 1');
  const held = new Set<number>();
  let buttons = 0;
  const target = Math.round(events.length * fraction);
  for (let i = 0; i < events.length; i++) {
    if (i >= target && held.size === 0 && buttons === 0) return i;
    const kind = (events[i] as InputEvent).kind;
    if (kind?.$case === 'key') {
      if (kind.value.pressed) held.add(kind.value.keysym);
      else held.delete(kind.value.keysym);
    } else if (kind?.$case === 'mouse') {
      buttons = kind.value.buttonMask & 0b111;
    }
  }
  return events.length;
}
