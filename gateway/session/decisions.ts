/**
 * Audit records of the gateway's own decisions (enforcement, challenges, mirror policy), built by
 * pure functions from session state with an injected clock, written through a sink that never
 * throws into a session (the scorer's retrying write queue in production).
 */
import type { Decision, TrustPoint } from '../../scorer/store/audit.js';
import type { TimingReport } from '../../scorer/timing/client-times.js';

export type GatewayAction =
  | 'terminate'
  | 'challenge'
  | 'challenge-passed'
  | 'challenge-failed'
  | 'fail-open'
  | 'fail-closed'
  | 'monitor-challenge'
  | 'monitor-terminate'
  | 'admin-kill'
  | 'login-ended'
  | 'mirror-overflow'
  | 'protocol-error'
  | 'agent-locked'
  | 'agent-unlocked'
  | 'probation'
  /** The desktop could not be reached or trusted (gateway/session/desktop-errors.ts). */
  | 'desktop-error';

export interface DecisionSink {
  record(d: Decision): void;
}

export interface SessionFacts {
  readonly sessionId: string;
  readonly agentId: string;
  readonly trust: number;
  readonly state: string;
  readonly trail: readonly TrustPoint[];
  /** The timing report of the session's latest verdict; null before the first. */
  readonly timing: TimingReport | null;
}

export function gatewayDecision(s: SessionFacts, action: GatewayAction, reason: string, at: Date, source: 'gateway' | 'admin' = 'gateway'): Decision {
  return {
    sessionId: s.sessionId,
    agentId: s.agentId,
    decidedAt: at,
    source,
    trust: s.trust,
    state: s.state,
    action,
    reason,
    trail: s.trail.slice(-20),
    timing: s.timing,
  };
}
