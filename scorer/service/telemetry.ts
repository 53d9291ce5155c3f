/**
 * What the scorer tells the SOC through OpenTelemetry: one span per desktop session (a child of
 * the gateway's span, whose context arrives in the stream's metadata), each security decision as a
 * log record correlated with that span, and metrics of the scoring path. Records are built by pure
 * functions; emitting them never throws into a session. Create it after the SDK has started
 * (lib/telemetry), or everything it does is a no-op.
 */
import { INVALID_SPAN_CONTEXT, metrics, ROOT_CONTEXT, SpanKind, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { ATTR } from '../../lib/telemetry/attributes.js';
import { decisionLogRecord, timingAttributes } from '../../lib/telemetry/records.js';
import type { Decision } from '../store/audit.js';
import type { SessionVerdict } from '../session/session.js';
import type { TimingReport } from '../timing/client-times.js';

export interface SessionSummary {
  readonly outcome: 'closed' | 'terminated' | 'lost';
  readonly reason: string;
  readonly minTrust: number | null;
  readonly finalTrust: number | null;
  readonly windowsScored: number;
  /** The session's event timing at its end; null when unknown. */
  readonly timing: TimingReport | null;
}

/** The attributes a session span ends with. */
export function sessionEndAttributes(s: SessionSummary): Attributes {
  const attrs: Attributes = { [ATTR.outcome]: s.outcome, [ATTR.endReason]: s.reason, [ATTR.windowsScored]: s.windowsScored, ...timingAttributes(s.timing) };
  if (s.minTrust !== null) attrs[ATTR.trustMin] = s.minTrust;
  if (s.finalTrust !== null) attrs[ATTR.trustFinal] = s.finalTrust;
  return attrs;
}

export class ScorerTelemetry {
  private readonly tracer = trace.getTracer('vdiguard.scorer');
  private readonly logger = logs.getLogger('vdiguard.scorer');
  private readonly meter = metrics.getMeter('vdiguard.scorer');
  private readonly events = this.meter.createCounter('vdiguard.scorer.events', { description: 'Input events received', unit: '{event}' });
  private readonly verdicts = this.meter.createCounter('vdiguard.scorer.verdicts', { description: 'Verdicts by trust state and action', unit: '{verdict}' });
  private readonly batchDuration = this.meter.createHistogram('vdiguard.scorer.batch.duration', { description: 'Time to score one batch of events', unit: 'ms' });
  private readonly activeSessions = this.meter.createUpDownCounter('vdiguard.scorer.sessions.active', { description: 'Sessions held by this scorer', unit: '{session}' });

  constructor(read: { pendingWrites: () => number; fitHeapCommittedBytes: () => number | undefined }) {
    this.meter
      .createObservableGauge('vdiguard.scorer.writes.pending', { description: 'Audit and profile writes waiting for the database', unit: '{write}' })
      .addCallback((r) => r.observe(read.pendingWrites()));
    this.meter
      .createObservableGauge('vdiguard.scorer.fit.heap.committed', { description: "V8 heap reserved by the template fit workers, each as of its last fit (not in the scorer's own heap figures)", unit: 'By' })
      .addCallback((r) => {
        const bytes = read.fitHeapCommittedBytes();
        if (bytes !== undefined) r.observe(bytes);
      });
  }

  sessionOpened(ids: { sessionId: string; agentId: string; desktopId: string; clientAddress: string }, parent: Context | undefined): Span {
    return safe(
      () => {
        this.activeSessions.add(1);
        return this.tracer.startSpan(
          'scorer.session',
          {
            kind: SpanKind.SERVER,
            attributes: {
              [ATTR.sessionId]: ids.sessionId,
              [ATTR.agentId]: ids.agentId,
              [ATTR.desktopId]: ids.desktopId,
              [ATTR.clientAddress]: ids.clientAddress,
            },
          },
          parent,
        );
      },
      () => trace.wrapSpanContext(INVALID_SPAN_CONTEXT),
    );
  }

  batchScored(events: number, verdicts: readonly SessionVerdict[], ms: number): void {
    safe(() => {
      this.events.add(events);
      this.batchDuration.record(ms);
      for (const v of verdicts) this.verdicts.add(1, { [ATTR.trustState]: v.level, [ATTR.verdictAction]: v.action, [ATTR.modality]: v.modality });
    }, () => undefined);
  }

  decision(span: Span, d: Decision, desktopId: string): void {
    safe(() => this.logger.emit({ ...decisionLogRecord(d, desktopId), context: trace.setSpan(ROOT_CONTEXT, span) }), () => undefined);
  }

  sessionClosed(span: Span, s: SessionSummary): void {
    safe(() => {
      this.activeSessions.add(-1);
      span.setAttributes(sessionEndAttributes(s));
      span.end();
    }, () => undefined);
  }
}

/** Telemetry must never break scoring: a failure to record is swallowed. */
function safe<T>(record: () => T, fallback: () => T): T {
  try {
    return record();
  } catch {
    return fallback();
  }
}
