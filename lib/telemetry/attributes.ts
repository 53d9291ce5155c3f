/**
 * Attribute and event names for SOC analysts to query, stable across releases (documented in the
 * README). Values are identifiers, trust figures and decisions: never input.
 */
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

/** The event name of security decisions emitted as OpenTelemetry log records. */
export const DECISION_EVENT = 'vdiguard.decision';
