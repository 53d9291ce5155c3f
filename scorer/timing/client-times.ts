/**
 * The hostile-client rule: which time each event is measured on.
 *
 * The gateway stamps every event on arrival (`timeMs`), after the home network's jitter. The
 * agent's page also sends the event's own time (`clientTimeMs`, docs/client-times.md), which is
 * exact but is a claim: the browser belongs to the person the product guards against. A client
 * time is used only where it is consistent with arrival, so that a client that rewrites its
 * timings can move each event only within the jitter an honest network would have caused:
 *
 * - The offset between the two clocks is the least `arrival - client` over the last minute
 *   (`base`): an event's lag is how much later than that it arrived. The least, because nothing
 *   arrives before it was sent; a window, so the clocks' drift (ppm) does not accumulate.
 * - A client time is used when its lag lies in [-tolerance, envelope]: then the time used,
 *   `client + base`, is never later than arrival (it is clamped there) and at most `envelope`
 *   earlier. The envelope is the session's own measured jitter: a high quantile of the lags of
 *   recent consistent events, with a margin, between `minEnvelopeMs` and `maxEnvelopeMs` (the cap
 *   until it has been measured). Measured on consistent events only, it widens by at most the
 *   margin per measurement, so a client cannot open it at once; the cap is what finally bounds a
 *   forger, who can widen it step by step by claiming ever earlier times.
 * - Inconsistent, measured on arrival instead and counted: a client time earlier than the
 *   client's previous one (`backwards`), one that would put the event after its arrival (`future`:
 *   the lag below the offset by more than the clocks' drift or half the envelope, once the envelope
 *   is measured), and one further from arrival than the envelope (`outside-envelope`).
 * - Only impossible times are evidence: our page never sends a time backwards, and no network
 *   delivers an event before it happened, so each run of `backwards` or `future` times is a
 *   stretch the session is charged for. An event outside the envelope is what a network stall, a
 *   busy browser or a jittery link beyond the cap do to an honest page (measured: a few per hour
 *   at 20 ms of jitter, hundreds at 50 ms): it gains a forger nothing, being measured on arrival,
 *   so it is counted for the record but not charged.
 * - Rewritten times (lag-coupling.ts): within the envelope a forger can still move each claim, and
 *   to make another person's rhythm out of its own it must move them by amounts that follow the
 *   intervals it claims, which an honest page's lags never do. When the test finds that, the
 *   session is charged one stretch and its client times are no longer used: every later event is
 *   measured on arrival (`distrusted`), so a forger gains nothing from rewriting after it is seen.
 * - No client time at all (a Guacamole client without the extension): arrival, as before; counted
 *   as `missing`, never as evidence.
 *
 * Times used never decrease, so the feature extractors see a valid stream whichever source each
 * event came from.
 *
 * Timing-only samples (`InputEvent.timing_only`: the points of the pointer's full-rate path the
 * browser coalesced into the next forwarded mouse, docs/client-times.md) are not judged on their
 * own. They arrive together with their mouse, up to a frame after they happened, so their lags say
 * nothing about the network and would widen the envelope by a frame; and measured on arrival they
 * would be points microseconds apart, a path of absurd speeds. So a sample is held until the event
 * after it and placed by that move's decision: when the move is measured on its client time, each
 * sample keeps its client-time distance before the move (`moveTime - (moveClient - sampleClient)`),
 * and is dropped when that is not after the event before, or more than `maxSampleSpanMs` before
 * the move; when the move is not on its client time, its samples are dropped. They touch neither
 * the clock offset, the envelope nor the counts, which stay counts of events the desktop received.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { DEFAULT_LAG_COUPLING_POLICY, LagCouplingTest, type Coupling, type LagCouplingPolicy } from './lag-coupling.js';
import type { TimingReport } from '../../lib/audit-records.js';

export type { TimingReport };

export interface ClientTimePolicy {
  /** The envelope never drops below this (ms): a browser's own event-loop variation on a clean link. */
  readonly minEnvelopeMs: number;
  /** The envelope never exceeds this (ms): the most a forger can move an event. */
  readonly maxEnvelopeMs: number;
  /** Quantile of recent lags the envelope is measured at, and the margin it is multiplied by. */
  readonly envelopeQuantile: number;
  readonly envelopeMargin: number;
  /** Recent lags the envelope is measured on; until this many are seen, the envelope is the cap. */
  readonly envelopeEvents: number;
  /** How far below the clock offset a lag may be (ms): the clocks' drift over the base window. */
  readonly futureToleranceMs: number;
  /** The clock offset is the least `arrival - client` over this much arrival time (ms). */
  readonly baseWindowMs: number;
  /** A run of inconsistent events counts as one more stretch for every this many ms it lasts. */
  readonly stretchMs: number;
  /** The test for rewritten times. */
  readonly coupling: LagCouplingPolicy;
  /**
   * A timing-only sample further than this before its move (ms) is dropped: a frame is 16.7 ms, and
   * six of them cover a busy page; a forged path can shorten the pause before a move by no more.
   */
  readonly maxSampleSpanMs: number;
}

export const DEFAULT_CLIENT_TIME_POLICY: ClientTimePolicy = {
  minEnvelopeMs: 10,
  maxEnvelopeMs: 250,
  envelopeQuantile: 0.99,
  envelopeMargin: 1.25,
  envelopeEvents: 256,
  futureToleranceMs: 10,
  baseWindowMs: 60_000,
  stretchMs: 10_000,
  coupling: DEFAULT_LAG_COUPLING_POLICY,
  maxSampleSpanMs: 100,
};

export type Inconsistency = 'backwards' | 'future' | 'outside-envelope' | 'distrusted';
export type TimeSource = 'client' | 'missing' | Inconsistency;

/** What the rule decided for one event. */
export interface TimedEvent {
  /** The time to measure the event on: on the arrival clock, never later than arrival, non-decreasing. */
  readonly timeMs: number;
  readonly source: TimeSource;
  /** True when this event began a new stretch of impossible times (or a long one counted again). */
  readonly newStretch: boolean;
  /** The times of the samples held before it (`next`'s `samples`, in order): NaN for one dropped. */
  readonly sampleTimesMs: readonly number[];
}

const NO_SAMPLES: readonly number[] = [];

/** The report's count of events each source adds to. */
const COUNTED_AS: Record<TimeSource, keyof Omit<TimingReport, 'inconsistentStretches' | 'envelopeMs'>> = {
  client: 'client',
  missing: 'missing',
  backwards: 'backwards',
  future: 'future',
  'outside-envelope': 'outsideEnvelope',
  distrusted: 'distrusted',
};


export class ClientTimeRule {
  private readonly counts = { client: 0, missing: 0, backwards: 0, future: 0, outsideEnvelope: 0, distrusted: 0, inconsistentStretches: 0 };
  private readonly coupling: LagCouplingTest;
  private finding: Coupling | undefined;
  /** Candidates for the clock offset: (arrival, arrival - client), increasing offsets (a monotonic deque). */
  private readonly offsets: { at: number; d: number }[] = [];
  private readonly lags: number[] = [];
  private lagNext = 0;
  private envelope: number;
  private lastClient = Number.NEGATIVE_INFINITY;
  private lastUsed = Number.NEGATIVE_INFINITY;
  /** Arrival time at which the current inconsistent run last counted a stretch; NaN outside a run. */
  private stretchCountedAt = Number.NaN;

  constructor(private readonly policy: ClientTimePolicy = DEFAULT_CLIENT_TIME_POLICY) {
    this.envelope = policy.maxEnvelopeMs;
    this.coupling = new LagCouplingTest(policy.coupling);
  }

  /**
   * Decides the time of the next event, given its arrival (non-decreasing), the client's claim and
   * what the event was (for the test of rewritten times, which pairs a key's press with its
   * release), and places the timing-only samples held before it (their client times, in order).
   */
  next(arrivalMs: number, clientMs: number | undefined, kind?: InputEvent['kind'], samples: readonly number[] = NO_SAMPLES): TimedEvent {
    const before = this.lastUsed;
    const judged = this.judge(arrivalMs, clientMs);
    const found = judged !== 'missing' && judged !== 'distrusted' && this.testRewriting(arrivalMs, clientMs as number, judged, kind);
    const source = found ? 'distrusted' : judged;
    this.counts[COUNTED_AS[source]]++;
    const chosen = source === 'client' ? Math.min(arrivalMs, (clientMs as number) + this.base()) : arrivalMs;
    const timeMs = Math.max(this.lastUsed, chosen);
    this.lastUsed = timeMs;
    const sampleTimesMs = samples.length === 0 ? NO_SAMPLES : this.placeSamples(samples, source === 'client' ? (clientMs as number) : Number.NaN, timeMs, before);
    return { timeMs, source, newStretch: found ? this.chargeStretch(arrivalMs) : this.countStretch(source, arrivalMs), sampleTimesMs };
  }

  report(): TimingReport {
    return { ...this.counts, envelopeMs: this.envelope };
  }

  /** What showed the client's times to be rewritten; undefined while they have not been. */
  get rewritten(): Coupling | undefined {
    return this.finding;
  }

  /**
   * True when this event showed the client's times to be rewritten; from then on they are
   * distrusted. Tested only while the measured envelope is below the cap: at the cap an honest
   * link's lags pass it, and the lags cut there (measured on arrival, left out) would bias the test.
   */
  private testRewriting(arrivalMs: number, clientMs: number, source: TimeSource, kind: InputEvent['kind'] | undefined): boolean {
    const resolved = source === 'client' && this.measured && this.envelope < this.policy.maxEnvelopeMs;
    const found = this.coupling.observe(kind, clientMs, resolved ? arrivalMs - clientMs : undefined);
    if (!found) return false;
    this.finding = found;
    return true;
  }

  /** Where the event's time comes from, before the test for rewritten times; counted by `next`. */
  private judge(arrivalMs: number, clientMs: number | undefined): TimeSource {
    if (clientMs === undefined || !Number.isFinite(clientMs)) return 'missing';
    if (this.finding) return 'distrusted';
    if (clientMs < this.lastClient) return 'backwards';
    this.lastClient = clientMs;
    const d = arrivalMs - clientMs;
    this.expireOffsets(arrivalMs);
    if (this.offsets.length === 0) {
      this.addOffset(arrivalMs, d);
      return 'client';
    }
    const lag = d - this.base();
    this.addOffset(arrivalMs, d);
    // Until the envelope is measured the offset is still settling: a link faster than the first
    // events saw only moves it.
    if (this.measured && lag < -Math.max(this.policy.futureToleranceMs, this.envelope / 2)) return 'future';
    if (lag > this.envelope) return 'outside-envelope';
    this.measureLag(Math.max(0, lag));
    return 'client';
  }

  private get measured(): boolean {
    return this.lags.length >= this.policy.envelopeEvents;
  }

  private base(): number {
    return (this.offsets[0] as { d: number }).d;
  }

  private addOffset(at: number, d: number): void {
    while (this.offsets.length > 0 && (this.offsets[this.offsets.length - 1] as { d: number }).d >= d) this.offsets.pop();
    this.offsets.push({ at, d });
  }

  private expireOffsets(now: number): void {
    while (this.offsets.length > 1 && (this.offsets[0] as { at: number }).at < now - this.policy.baseWindowMs) this.offsets.shift();
    // The last candidate stays even when old: a session quiet for a minute keeps its offset.
  }

  private measureLag(lag: number): void {
    const p = this.policy;
    if (this.lags.length < p.envelopeEvents) this.lags.push(lag);
    else this.lags[this.lagNext] = lag;
    this.lagNext = (this.lagNext + 1) % p.envelopeEvents;
    // Re-measured every 32 lags: a sort per event would cost the scorer more than the features.
    if (this.lags.length < p.envelopeEvents || this.lagNext % 32 !== 0) return;
    const sorted = [...this.lags].sort((a, b) => a - b);
    const q = sorted[Math.min(sorted.length - 1, Math.floor(p.envelopeQuantile * sorted.length))] as number;
    this.envelope = Math.min(p.maxEnvelopeMs, Math.max(p.minEnvelopeMs, q * p.envelopeMargin));
  }

  /** Each sample at its client-time distance before its move, or NaN (see the top of this file). */
  private placeSamples(samples: readonly number[], moveClientMs: number, moveTimeMs: number, afterMs: number): number[] {
    let last = afterMs;
    return samples.map((s) => {
      const before = moveClientMs - s;
      const t = moveTimeMs - before;
      if (!(before >= 0 && before <= this.policy.maxSampleSpanMs && t > last)) return Number.NaN;
      last = t;
      return t;
    });
  }

  private countStretch(source: TimeSource, arrivalMs: number): boolean {
    if (source !== 'backwards' && source !== 'future') {
      this.stretchCountedAt = Number.NaN;
      return false;
    }
    if (!Number.isNaN(this.stretchCountedAt) && arrivalMs - this.stretchCountedAt < this.policy.stretchMs) return false;
    return this.chargeStretch(arrivalMs);
  }

  private chargeStretch(arrivalMs: number): true {
    this.stretchCountedAt = arrivalMs;
    this.counts.inconsistentStretches++;
    return true;
  }
}

/** An event as the feature extractors measure it: what happened, on the time the rule chose. */
export interface MeasuredEvent {
  readonly timeMs: number;
  readonly kind: InputEvent['kind'];
  /** Measured on the page's own time (a sample is placed only with a move that is). */
  readonly onClientTime: boolean;
}

/** What one event of the stream gives the feature extractors. */
export interface ClockStep {
  /** In order: the samples held before it that were placed, then the event; nothing for a sample. */
  readonly events: readonly MeasuredEvent[];
  /** The event began a new stretch of impossible times (or a long one counted again). */
  readonly newStretch: boolean;
}

/**
 * Samples held at most before one event: twice what the gateway lets through (its tap refuses more
 * than 32 before a mouse); more, from a recording, are not kept.
 */
const MAX_HELD_SAMPLES = 64;
const HELD: ClockStep = { events: [], newStretch: false };

/**
 * A stream through the rule, event by event, as sessions, enrolment and evaluations measure it:
 * each event on the time the rule chose; timing-only samples held until the event after them and
 * placed by its decision (dropped before a key). With a null policy (no client times) every event is
 * on its arrival and samples, which have no arrival of their own worth measuring, are dropped.
 */
export class EventTimes {
  private readonly rule: ClientTimeRule;
  private held: InputEvent[] = [];

  constructor(private readonly policy: ClientTimePolicy | null = DEFAULT_CLIENT_TIME_POLICY) {
    this.rule = new ClientTimeRule(policy ?? DEFAULT_CLIENT_TIME_POLICY);
  }

  next(e: InputEvent): ClockStep {
    if (e.timingOnly === true) {
      if (this.policy !== null && e.kind?.$case === 'mouse' && this.held.length < MAX_HELD_SAMPLES) this.held.push(e);
      return HELD;
    }
    const samples = e.kind?.$case === 'mouse' ? this.held : [];
    if (this.held.length > 0) this.held = [];
    const timed = this.rule.next(e.timeMs, this.policy === null ? undefined : e.clientTimeMs, e.kind, samples.length === 0 ? NO_SAMPLES : samples.map((s) => s.clientTimeMs ?? Number.NaN));
    const own: MeasuredEvent = { timeMs: timed.timeMs, kind: e.kind, onClientTime: timed.source === 'client' };
    if (samples.length === 0) return { events: [own], newStretch: timed.newStretch };
    const events: MeasuredEvent[] = [];
    samples.forEach((s, i) => {
      const t = timed.sampleTimesMs[i] as number;
      if (!Number.isNaN(t)) events.push({ timeMs: t, kind: s.kind, onClientTime: true });
    });
    events.push(own);
    return { events, newStretch: timed.newStretch };
  }

  report(): TimingReport {
    return this.rule.report();
  }

  /** What showed the client's times to be rewritten; undefined while they have not been. */
  get rewritten(): Coupling | undefined {
    return this.rule.rewritten;
  }
}

/**
 * A recorded stream through the rule, as the scorer's session applies it: each event with the time
 * the rule chose (its client time and sample flag dropped), samples where they were placed. For
 * evaluations and replays.
 */
export function resolveEventTimes(events: readonly InputEvent[], policy: ClientTimePolicy = DEFAULT_CLIENT_TIME_POLICY): { events: InputEvent[]; report: TimingReport } {
  const clock = new EventTimes(policy);
  const out = events.flatMap((e) => clock.next(e).events.map(({ timeMs, kind }) => ({ timeMs, kind })));
  return { events: out, report: clock.report() };
}
