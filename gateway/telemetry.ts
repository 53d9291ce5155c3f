/**
 * What the gateway tells the SOC through OpenTelemetry. One trace per desktop session: the login
 * span (its context travels inside the sealed ticket), the tunnel span that redeems the ticket, and
 * the session span, whose context goes to the scorer in the mirror's gRPC metadata so the scorer's
 * session span joins the same trace. The gateway's decisions are log records correlated with the
 * session span. Create it after the SDK has started; emitting never throws into a session.
 */
import { context, metrics, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { ATTR } from '../lib/telemetry/attributes.js';
import { decisionLogRecord, timingAttributes } from '../lib/telemetry/records.js';
import type { Decision } from '../scorer/store/audit.js';
import type { TimingReport } from '../scorer/timing/client-times.js';

export interface SessionTraceIds {
  readonly sessionId: string;
  readonly agentId: string;
  readonly desktopId: string;
  readonly address: string;
}

export interface SessionEnd {
  /** The gateway's action that ended it, or 'closed' when the browser or desktop went away. */
  readonly outcome: string;
  readonly reason: string;
  readonly minTrust: number;
  readonly finalTrust: number;
  /** The timing report of the session's last verdict; null when it had none. */
  readonly timing: TimingReport | null;
}

/** The trace context a ticket carried (its W3C traceparent), or the root when there is none. */
export function contextFromTraceparent(traceparent: string | undefined): Context {
  return traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

/** Bucket bounds of the verdict latency: fine around the 250 ms the product aims to stay under. */
export const VERDICT_LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 150, 200, 250, 500, 1000, 2500, 5000, 10_000];

export class GatewayTelemetry {
  private readonly tracer = trace.getTracer('vdiguard.gateway');
  private readonly logger = logs.getLogger('vdiguard.gateway');
  private readonly meter = metrics.getMeter('vdiguard.gateway');
  private readonly spans = new Map<string, Span>();
  private readonly logins = this.meter.createCounter('vdiguard.gateway.logins', { description: 'Login and ticket requests by outcome', unit: '{request}' });
  private readonly decisions = this.meter.createCounter('vdiguard.gateway.decisions', { description: "The gateway's decisions by action", unit: '{decision}' });
  private readonly active = this.meter.createUpDownCounter('vdiguard.gateway.sessions.active', { description: 'Desktop sessions open on this gateway', unit: '{session}' });
  private readonly verdictLatency = this.meter.createHistogram('vdiguard.gateway.verdict.latency', {
    description: "From writing the batch that held a scored window's last event to the scorer's verdict arriving",
    unit: 'ms',
    advice: { explicitBucketBoundaries: VERDICT_LATENCY_BUCKETS_MS },
  });

  /**
   * @param unscored sessions the scorer cannot follow right now (scorer unreachable or too slow)
   * @param mirrorDropped events dropped by the mirrors of the open sessions
   */
  constructor(unscored: () => number, mirrorDropped: () => number) {
    this.meter
      .createObservableGauge('vdiguard.gateway.sessions.unscored', { description: 'Open sessions the scorer cannot follow (scorer availability)', unit: '{session}' })
      .addCallback((r) => r.observe(unscored()));
    this.meter
      .createObservableGauge('vdiguard.gateway.mirror.dropped', { description: 'Events dropped by the mirrors of open sessions because the buffer was full', unit: '{event}' })
      .addCallback((r) => r.observe(mirrorDropped()));
  }

  verdictArrived(latencyMs: number): void {
    this.verdictLatency.record(latencyMs);
  }

  /** Runs an agent-facing request ('gateway.login', 'gateway.ticket') in a span of its own. */
  async request<T>(name: string, address: string, run: () => Promise<T>): Promise<T> {
    return this.tracer.startActiveSpan(name, { kind: SpanKind.SERVER, attributes: { [ATTR.clientAddress]: address } }, async (span) => {
      try {
        const result = await run();
        this.logins.add(1, { 'vdiguard.request': name, 'vdiguard.outcome': 'ok' });
        return result;
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'error';
        this.logins.add(1, { 'vdiguard.request': name, 'vdiguard.outcome': code });
        span.setStatus({ code: SpanStatusCode.ERROR, message: code });
        throw err;
      } finally {
        span.end();
      }
    });
  }

  /** The tunnel's ticket check, as a span in the login's trace; returns the context to continue. */
  tunnelOpened(traceparent: string | undefined, startedAt: number, address: string): Context {
    const parent = contextFromTraceparent(traceparent);
    const span = this.tracer.startSpan('gateway.tunnel', { kind: SpanKind.SERVER, startTime: startedAt, attributes: { [ATTR.clientAddress]: address } }, parent);
    span.end();
    return trace.setSpan(parent, span);
  }

  sessionStarted(ids: SessionTraceIds, parent: Context): Context {
    const span = this.tracer.startSpan(
      'gateway.session',
      {
        kind: SpanKind.SERVER,
        attributes: { [ATTR.sessionId]: ids.sessionId, [ATTR.agentId]: ids.agentId, [ATTR.desktopId]: ids.desktopId, [ATTR.clientAddress]: ids.address },
      },
      parent,
    );
    this.spans.set(ids.sessionId, span);
    this.active.add(1);
    return trace.setSpan(context.active(), span);
  }

  decision(d: Decision, desktopId: string): void {
    try {
      this.decisions.add(1, { [ATTR.action]: d.action });
      const span = this.spans.get(d.sessionId);
      this.logger.emit({ ...decisionLogRecord(d, desktopId), context: span ? trace.setSpan(ROOT_CONTEXT, span) : ROOT_CONTEXT });
    } catch {
      // A decision is enforced and audited whether or not it can be exported.
    }
  }

  sessionEnded(sessionId: string, end: SessionEnd): void {
    const span = this.spans.get(sessionId);
    if (!span) return;
    this.spans.delete(sessionId);
    this.active.add(-1);
    span.setAttributes({ [ATTR.outcome]: end.outcome, [ATTR.endReason]: end.reason, [ATTR.trustMin]: end.minTrust, [ATTR.trustFinal]: end.finalTrust, ...timingAttributes(end.timing) });
    span.end();
  }
}
