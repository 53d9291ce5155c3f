/**
 * Synthetic but realistic-shaped keystroke streams for tests that need no dataset: a typist is a
 * dwell and a flight time distribution (log-normal), so two typists differ the way two people do.
 * Seeded, so every run is the same.
 */
import { gaussian, seededRandom } from '../../lib/random.js';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';

export interface Typist {
  /** Median key hold, ms. */
  readonly dwellMs: number;
  /** Median press-to-next-press, ms. */
  readonly flightMs: number;
  /** Log-normal spread of both. */
  readonly spread: number;
}

export const ALICE: Typist = { dwellMs: 95, flightMs: 210, spread: 0.25 };
export const MALLORY: Typist = { dwellMs: 140, flightMs: 330, spread: 0.3 };

/** A small seeded PRNG (mulberry32). */
export const random = seededRandom;

const TEXT_KEYS = 'the quick brown fox jumps over the lazy dog while agents answer calls '.split('');

/** `keystrokes` key presses and releases starting at `startMs`. */
export function typing(who: Typist, keystrokes: number, seed: number, startMs = 0): InputEvent[] {
  const rand = random(seed);
  const events: InputEvent[] = [];
  let t = startMs;
  for (let i = 0; i < keystrokes; i++) {
    const ch = TEXT_KEYS[i % TEXT_KEYS.length] as string;
    const keysym = ch.codePointAt(0) as number;
    const dwell = who.dwellMs * Math.exp(who.spread * gaussian(rand));
    events.push({ timeMs: t, kind: { $case: 'key', value: { keysym, pressed: true } } });
    events.push({ timeMs: t + dwell, kind: { $case: 'key', value: { keysym, pressed: false } } });
    t += Math.max(dwell + 5, who.flightMs * Math.exp(who.spread * gaussian(rand)));
  }
  return events.sort((a, b) => a.timeMs - b.timeMs);
}
