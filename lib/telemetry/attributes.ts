/**
 * Attribute and event names for SOC analysts to query, stable across releases (documented in the
 * README). Values are identifiers, trust figures and decisions: never input.
 */
import type { TimingReport } from '../audit-records.js';

export const ATTR = {
  sessionId: 'vdiguard.session.id',
  agentId: 'vdiguard.agent.id',
  desktopId: 'vdiguard.desktop.id',
  clientAddress: 'client.address',
  outcome: 'vdiguard.session.outcome',
  endReason: 'vdiguard.session.end_reason',
  trustMin: 'vdiguard.trust.min',
  trustFinal: 'vdiguard.trust.final',
  trust: 'vdiguard.trust',
  trustState: 'vdiguard.trust.state',
  windowsScored: 'vdiguard.windows.scored',
  action: 'vdiguard.decision.action',
  source: 'vdiguard.decision.source',
  modality: 'vdiguard.modality',
  verdictAction: 'vdiguard.verdict.action',
} as const;

/**
 * Which times a session's events were measured on (scorer/timing/client-times.ts): counts of events
 * and the jitter envelope in ms, one attribute per field of the report.
 */
export const TIMING_ATTR = {
  client: 'vdiguard.timing.client',
  missing: 'vdiguard.timing.missing',
  backwards: 'vdiguard.timing.backwards',
  future: 'vdiguard.timing.future',
  outsideEnvelope: 'vdiguard.timing.outside_envelope',
  distrusted: 'vdiguard.timing.distrusted',
  inconsistentStretches: 'vdiguard.timing.inconsistent_stretches',
  envelopeMs: 'vdiguard.timing.envelope_ms',
} as const satisfies Record<keyof TimingReport, string>;

/** The event name of security decisions emitted as OpenTelemetry log records. */
export const DECISION_EVENT = 'vdiguard.decision';
