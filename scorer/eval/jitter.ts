/**
 * Timing realism: the gateway stamps events when they arrive, after network jitter. This adds
 * Gaussian delay noise (seeded, reproducible) to event times and keeps arrival order, as one TCP
 * stream does: an event cannot arrive before the one sent before it.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { gaussian, seededRandom } from '../../lib/random.js';

/**
 * Events with N(0, sdMs^2) added to each time, then made non-decreasing (arrival order kept) and
 * never before the first event's own time (times stay valid: >= 0 when they were).
 */
export function jitterEvents(events: readonly InputEvent[], sdMs: number, seed: number): InputEvent[] {
  if (!(sdMs > 0) || events.length === 0) return events.slice();
  const rand = seededRandom(seed);
  let last = (events[0] as InputEvent).timeMs;
  return events.map((e) => {
    const t = Math.max(last, e.timeMs + sdMs * gaussian(rand));
    last = t;
    return { ...e, timeMs: Math.round(t * 1000) / 1000 };
  });
}

/**
 * First jitter seed of population participants (the i-th gets this + i): clear of the seeds of the
 * people a protocol evaluates, so no population recording is jittered like an agent's.
 */
export const POPULATION_JITTER_SEED = 1_000_000;

/** Events with every gap longer than maxGapMs shortened to it: time then counts activity only. */
export function compressIdle(events: readonly InputEvent[], maxGapMs: number): InputEvent[] {
  let shift = 0;
  let prev = Number.NaN;
  return events.map((e) => {
    if (!Number.isNaN(prev) && e.timeMs - prev > maxGapMs) shift += e.timeMs - prev - maxGapMs;
    prev = e.timeMs;
    return { ...e, timeMs: e.timeMs - shift };
  });
}

/** Merges time-ordered streams into one, stable by stream order at equal times. */
export function mergeStreams(...streams: readonly (readonly InputEvent[])[]): InputEvent[] {
  return streams.flat().map((e, i) => ({ e, i })).sort((a, b) => a.e.timeMs - b.e.timeMs || a.i - b.i).map((x) => x.e);
}

/** Events shifted so the first is at `startMs`. */
export function shiftTo(events: readonly InputEvent[], startMs: number): InputEvent[] {
  if (events.length === 0) return [];
  const d = startMs - (events[0] as InputEvent).timeMs;
  return events.map((e) => ({ ...e, timeMs: e.timeMs + d }));
}
