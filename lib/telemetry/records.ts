/** Telemetry records built by pure functions, shared by the gateway and the scorer. */
import { SeverityNumber, type LogRecord } from '@opentelemetry/api-logs';
import { ATTR, DECISION_EVENT, TIMING_ATTR } from './attributes.js';
import type { Decision } from '../audit-records.js';
import type { TimingReport } from '../audit-records.js';

/** Decisions that end or endanger a session are warnings; the rest are information. */
const WARNINGS = new Set(['terminate', 'fail-closed', 'fail-open', 'challenge-failed', 'admin-kill', 'monitor-terminate', 'protocol-error', 'agent-locked', 'probation', 'desktop-error']);

/** The log record of a security decision, taken by the scorer, the gateway or an admin. */
export function decisionLogRecord(d: Decision, desktopId: string): LogRecord {
  const warning = WARNINGS.has(d.action);
  return {
    eventName: DECISION_EVENT,
    severityNumber: warning ? SeverityNumber.WARN : SeverityNumber.INFO,
    severityText: warning ? 'WARN' : 'INFO',
    body: d.reason,
    timestamp: d.decidedAt,
    attributes: {
      [ATTR.sessionId]: d.sessionId,
      [ATTR.agentId]: d.agentId,
      [ATTR.desktopId]: desktopId,
      [ATTR.action]: d.action,
      [ATTR.source]: d.source,
      [ATTR.trust]: d.trust,
      [ATTR.trustState]: d.state,
      ...timingAttributes(d.timing),
    },
  };
}

/** The timing report as attributes; none while no report is known. */
export function timingAttributes(t: TimingReport | null): Record<string, number> {
  if (t === null) return {};
  return Object.fromEntries((Object.keys(TIMING_ATTR) as (keyof TimingReport)[]).map((k) => [TIMING_ATTR[k], t[k]]));
}
