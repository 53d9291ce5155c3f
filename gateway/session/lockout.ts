/**
 * What a security decision means for the agent beyond the session it ended. Without it a colluder
 * whose session was terminated logs in again and starts afresh at trust 1, about 30 s of use per
 * login, for ever. So after a terminate for mismatch or a failed MFA challenge the agent is
 * - locked (`VDIGUARD_AFTER_MISMATCH=lock`, the default): refused at login, for tickets and at the
 *   tunnel on every replica until an admin unlocks them; or
 * - on probation (`probation`): every session starts challenged, and at the trust the last one
 *   ended on, so the scorer's evidence continues instead of starting over; until an admin lifts it.
 * Either way the agent's other live sessions on this gateway end. Locks, probation and unlocks are
 * decisions in the audit trail.
 */
import type { Logger } from '../../lib/log.js';
import type { Decision } from '../../scorer/store/audit.js';
import type { AfterMismatch } from '../config.js';
import type { AgentLock, LockKind } from '../store/gateway-store.js';
import { gatewayDecision, type DecisionSink, type GatewayAction } from './decisions.js';
import type { DesktopSession, SessionDeps } from './session.js';

/** What the lockout needs of the login service (gateway/auth/login.ts). */
export interface LockPlacer {
  lock(l: Omit<AgentLock, 'lockedAt'>): Promise<void>;
  unlock(agentId: string): Promise<AgentLock | undefined>;
}

export interface LockoutDeps {
  readonly log: Logger;
  readonly policy: AfterMismatch;
  readonly locks: LockPlacer;
  readonly carryTrust: (lock: AgentLock, trust: number) => Promise<void>;
  /** The agent's live sessions on this gateway. */
  readonly sessionsOf: (agentId: string) => readonly DesktopSession[];
  readonly decisions: DecisionSink;
  readonly wallClock?: () => Date;
}

const KIND: Record<AfterMismatch, LockKind> = { lock: 'locked', probation: 'probation' };

/** The decision that records a lock or a probation being placed. */
export function lockDecision(lock: Omit<AgentLock, 'lockedAt'>, at: Date): Decision {
  const action: GatewayAction = lock.kind === 'locked' ? 'agent-locked' : 'probation';
  const what = lock.kind === 'locked' ? 'agent locked until an admin unlocks them' : 'agent on probation: sessions start challenged, at this trust';
  return gatewayDecision(facts(lock), action, `${what}, after ${lock.action}: ${lock.reason}`, at);
}

/** The decision that records an admin lifting a lock or probation. */
export function unlockDecision(lock: AgentLock, at: Date): Decision {
  return gatewayDecision(facts(lock), 'agent-unlocked', `${lock.kind === 'locked' ? 'lock' : 'probation'} lifted by an administrator (placed ${lock.lockedAt.toISOString()} after ${lock.action})`, at, 'admin');
}

/**
 * Lifts an agent's lock or probation and records it; shared by the gateway and the CLI on a store
 * no gateway holds. Undefined when the agent was neither locked nor on probation.
 */
export async function unlockAgent(unlock: (agentId: string) => Promise<AgentLock | undefined>, record: (d: Decision) => unknown, agentId: string, at: Date): Promise<AgentLock | undefined> {
  const lifted = await unlock(agentId);
  if (lifted) await record(unlockDecision(lifted, at));
  return lifted;
}

export class Lockout {
  private readonly wallClock: () => Date;

  constructor(private readonly d: LockoutDeps) {
    this.wallClock = d.wallClock ?? (() => new Date());
  }

  /** SessionDeps.onSecurityEnd: locks the agent (or puts them on probation), ends their other sessions. */
  readonly afterSecurityEnd: SessionDeps['onSecurityEnd'] = (s, action, reason) => {
    const lock = { agentId: s.agentId, kind: KIND[this.d.policy], trust: s.trust, sessionId: s.sessionId, action, reason };
    this.d.log.warn({ sessionId: s.sessionId, agentId: s.agentId, kind: lock.kind, action }, 'agent locked after a security decision');
    this.d.locks.lock(lock).catch((err: Error) =>
      // Refused on this replica already; other replicas would still let the agent in: log loudly.
      this.d.log.error({ agentId: s.agentId, err: err.message }, 'could not record the agent lock'),
    );
    this.record(lockDecision(lock, this.wallClock()));
    const why = lock.kind === 'locked' ? 'the agent was locked after a security decision in another session' : 'the agent was put on probation after a security decision in another session';
    for (const other of this.d.sessionsOf(s.agentId)) if (other.id.sessionId !== s.sessionId && other.status !== 'ended') other.lockedOut(why);
  };

  /** SessionDeps.probation of a new session of an agent with this standing (LoginService.admit). */
  probationOf(lock: AgentLock | undefined): SessionDeps['probation'] {
    if (lock?.kind !== 'probation') return undefined;
    return { reason: `on probation since ${lock.lockedAt.toISOString()} (${lock.action}): challenged first, trust carried over` };
  }

  /** A session on probation hands its final trust to the agent's next one. */
  watch(session: DesktopSession, lock: AgentLock | undefined): void {
    if (lock?.kind !== 'probation') return;
    session.once('ended', () =>
      this.d.carryTrust(lock, session.trust).catch((err: Error) => this.d.log.error({ agentId: lock.agentId, err: err.message }, 'could not carry the probation trust over')),
    );
  }

  /** An admin lifts the agent's lock or probation (gateway/admin/management.ts). */
  unlock(agentId: string): Promise<AgentLock | undefined> {
    return unlockAgent((id) => this.d.locks.unlock(id), (d) => this.record(d), agentId, this.wallClock());
  }

  private record(d: Decision): void {
    try {
      this.d.decisions.record(d);
    } catch (err) {
      this.d.log.error({ agentId: d.agentId, err: (err as Error).message }, 'decision not recorded');
    }
  }
}

function facts(lock: Omit<AgentLock, 'lockedAt'>): Parameters<typeof gatewayDecision>[0] {
  return { sessionId: lock.sessionId, agentId: lock.agentId, trust: lock.trust, state: lock.kind, trail: [], timing: null };
}
