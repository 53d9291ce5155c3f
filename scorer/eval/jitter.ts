/**
 * Timing realism: the gateway stamps events when they arrive, after network jitter. This adds
 * Gaussian delay noise (seeded, reproducible) to event times and keeps arrival order, as one TCP
 * stream does: an event cannot arrive before the one sent before it.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { gaussian, seededRandom } from '../../lib/random.js';
import { clientTimePolicyOf, loadScorerSettings } from '../config.js';
import { eventClock } from '../session/session.js';
import type { TimingTally } from './timing-tally.js';

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

/** How recorded events reach the gateway in an evaluation. */
export interface Link {
  /** Standard deviation of the Gaussian arrival jitter, ms (0: none). */
  readonly jitterMs: number;
  /**
   * The page sends each event's own time (docs/client-times.md): its recorded time, exact, on
   * the page's clock, while arrival is jittered. Off: arrival times only, as other Guacamole clients.
   */
  readonly clientTimes?: boolean;
  /**
   * The scorer's cap on the client-time envelope (VDIGUARD_CLIENT_TIME_ENVELOPE_MS), ms; its
   * default when unset. To measure other values of the rule's cap.
   */
  readonly clientTimeEnvelopeMs?: number;
}

/** The link in a title: `jitter 20 ms, client times`. */
export function linkTitle(link: Link): string {
  const cap = link.clientTimeEnvelopeMs === undefined ? '' : `, envelope cap ${link.clientTimeEnvelopeMs} ms`;
  return `jitter ${link.jitterMs} ms${link.clientTimes === true ? ', client times' : ''}${cap}`;
}

/** The scorer settings the link asks for (its envelope cap, and no remote-control test), for a scorer started by an evaluation. */
export function scorerSettingsOf(link: Link): Record<string, string> {
  // The datasets' pointer times were stamped by the pages that recorded them, at dispatch as often
  // as not, and sit a few ms off their paths (docs/evaluation-notebook.md, "The relay rig"): the
  // remote-control tests would take some recorded agents for relays. They are measured on the relay
  // rig (`vdiguard eval relay`); these protocols measure the behaviour models and trust without them.
  const noRemoteControl = { remoteControlScaleMs: '0', remoteControlRhythmShare: '0' };
  return link.clientTimeEnvelopeMs === undefined ? noRemoteControl : { ...noRemoteControl, clientTimeEnvelopeMs: String(link.clientTimeEnvelopeMs) };
}

/**
 * Recorded events as the gateway receives them over the link: each arrives jittered (`timeMs`), and
 * with client times keeps its recorded time as the page's claim (`clientTimeMs`).
 */
export function overLink(events: readonly InputEvent[], link: Link, seed: number): InputEvent[] {
  const arrived = jitterEvents(events, link.jitterMs, seed);
  if (link.clientTimes !== true) return arrived;
  return arrived.map((e, i) => ({ ...e, clientTimeMs: (events[i] as InputEvent).timeMs }));
}

/**
 * Recorded events as the scorer measures them: over the link, then each on the time the production
 * client-time rule chooses, on the clock a session and an enrolment use (session.ts eventClock,
 * with the scorer's settings), its report added to `tally`. `client` rewrites what the page claims
 * before it is judged (a forging client: forger.ts).
 */
export function measuredOverLink(events: readonly InputEvent[], link: Link, seed: number, tally: TimingTally, client: (sent: InputEvent[]) => InputEvent[] = (sent) => sent): InputEvent[] {
  const clock = eventClock({ clientTimes: clientTimePolicyOf(loadScorerSettings({}, scorerSettingsOf(link))) });
  const measured = client(overLink(events, link, seed)).flatMap((e): InputEvent[] => [...clock.next(e).events]);
  tally.add(clock.report(), activityMs(measured));
  return measured;
}

/** From the first event to the last, ms (0 for fewer than two). */
export function activityMs(events: readonly InputEvent[]): number {
  return events.length < 2 ? 0 : (events[events.length - 1] as InputEvent).timeMs - (events[0] as InputEvent).timeMs;
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

/**
 * Events shifted so the first arrives at `startMs`; the page's claims move with them, as one page's
 * clock runs on whoever uses it.
 */
export function shiftTo(events: readonly InputEvent[], startMs: number): InputEvent[] {
  if (events.length === 0) return [];
  const d = startMs - (events[0] as InputEvent).timeMs;
  return events.map((e) => ({ ...e, timeMs: e.timeMs + d, ...(e.clientTimeMs === undefined ? {} : { clientTimeMs: e.clientTimeMs + d }) }));
}
