/**
 * What the client-time rule did over an evaluation: its reports (scorer/timing/client-times.ts)
 * summed over streams of one kind (enrolment, genuine, impostor, ...), with the activity they cover,
 * so a protocol can say at each jitter level which times its events were measured on and how often
 * an honest link looked inconsistent.
 */
import type { TimingReport } from '../timing/client-times.js';
import { quantile, round } from './summary.js';

/** The counts a report keeps, without its envelope. */
type Counts = Omit<TimingReport, 'envelopeMs'>;

const COUNT_FIELDS = ['client', 'missing', 'backwards', 'future', 'outsideEnvelope', 'distrusted', 'inconsistentStretches'] as const satisfies readonly (keyof Counts)[];

export interface TimingSummary {
  /** Streams summed. */
  readonly streams: number;
  /** Events by the time they were measured on: the client's, or arrival (and why). */
  readonly events: Omit<Counts, 'inconsistentStretches'>;
  readonly inconsistentStretches: number;
  /** Activity the streams cover (first to last event), hours. */
  readonly hours: number;
  readonly stretchesPerHour: number;
  /** The envelope each stream ended with (ms): median and largest. */
  readonly envelopeMs: { readonly median: number; readonly max: number };
}

/** The counts of `after` that came after `before`, two reports of one stream (the envelope is `after`'s). */
export function reportSince(after: TimingReport, before: TimingReport | undefined): TimingReport {
  if (!before) return after;
  const out = { ...after };
  for (const f of COUNT_FIELDS) out[f] = after[f] - before[f];
  return out;
}

export class TimingTally {
  private readonly counts: Record<keyof Counts, number> = { client: 0, missing: 0, backwards: 0, future: 0, outsideEnvelope: 0, distrusted: 0, inconsistentStretches: 0 };
  private readonly envelopes: number[] = [];
  private activityMs = 0;

  /** Adds one stream's report and the activity it covers (ms). */
  add(report: TimingReport, activityMs: number): void {
    for (const f of COUNT_FIELDS) this.counts[f] += report[f];
    this.envelopes.push(report.envelopeMs);
    this.activityMs += activityMs;
  }

  summary(): TimingSummary {
    const { inconsistentStretches, ...events } = this.counts;
    const hours = this.activityMs / 3_600_000;
    return {
      streams: this.envelopes.length,
      events,
      inconsistentStretches,
      hours: round(hours, 3),
      stretchesPerHour: hours > 0 ? round(inconsistentStretches / hours, 2) : 0,
      envelopeMs: this.envelopes.length === 0 ? { median: 0, max: 0 } : { median: round(quantile(this.envelopes, 0.5), 1), max: round(Math.max(...this.envelopes), 1) },
    };
  }
}

/** The summaries as lines for people, one per kind of stream. */
export function timingLines(timing: Readonly<Record<string, TimingSummary>>): string[] {
  return Object.entries(timing).map(([kind, t]) => {
    const e = t.events;
    return `  event times, ${kind}: ${e.client} client, ${e.missing} without, arrival for ${e.outsideEnvelope} outside the envelope, ${e.future} future, ${e.backwards} backwards, ${e.distrusted} after times were found rewritten; ${t.inconsistentStretches} inconsistent stretches in ${t.hours.toFixed(2)} h (${t.stretchesPerHour} per hour); envelope median ${t.envelopeMs.median} ms, max ${t.envelopeMs.max} ms`;
  });
}
