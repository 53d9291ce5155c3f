/**
 * Agent login: password plus TOTP, each attempt counted by the shared login throttle before the
 * password is checked (gateway/auth/throttle.ts), yielding a login token
 * (kept in the page's memory) and single-use connection tickets for the agent's desktops. Every
 * failure answers the same "wrong agent, password or code" so nothing tells which part was wrong.
 * An agent locked after a security decision is told so, but only once password and code were
 * right: the lock is no secret from the agent, and must not tell a guesser the password was good.
 */
import { VdiguardError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { AgentLock, GatewayStore } from '../store/gateway-store.js';
import { dummyHash, verifyPassword } from './password.js';
import type { SecretBox } from './secret-box.js';
import { LoginThrottle, type ThrottlePolicy } from './throttle.js';
import { openLogin, sealLogin, Tickets, type LoginClaims } from './tickets.js';
import { matchTotp } from './totp.js';

/** How long a login may ask for tickets (reconnects) before the agent logs in again. */
export const LOGIN_TTL_MS = 12 * 60 * 60 * 1000;

export const LOCKED_MESSAGE = 'This account is locked after a security decision. Please contact your supervisor.';

export interface LoginOptions {
  readonly store: GatewayStore;
  readonly box: SecretBox;
  readonly log: Logger;
  readonly ticketMs: number;
  readonly totpSkewSteps: number;
  readonly throttle: ThrottlePolicy;
  readonly now?: () => number;
}

export interface LoginResult {
  readonly token: string;
  readonly agentId: string;
  readonly displayName: string;
  readonly desktops: { id: string; name: string }[];
  /** Present when a desktop was named, or the agent has exactly one. */
  readonly ticket?: { ticket: string; desktopId: string; expiresAt: number };
}

export class LoginService {
  readonly tickets: Tickets;
  private readonly throttle: LoginThrottle;
  private readonly now: () => number;
  /** Logins this replica revoked, effective at once (the store tells the other replicas). */
  private readonly revokedHere = new Map<string, number>();
  /** Locks placed on this replica whose store write has not landed yet: effective here at once. */
  private readonly lockedHere = new Map<string, AgentLock>();

  constructor(private readonly o: LoginOptions) {
    this.now = o.now ?? Date.now;
    this.throttle = new LoginThrottle(o.store, o.throttle, this.now);
    this.tickets = new Tickets({
      box: o.box,
      ttlMs: o.ticketMs,
      now: this.now,
      markUsed: (id, exp) => o.store.useTicket(id, exp),
      isRevoked: (loginId) => this.isRevoked(loginId),
    });
  }

  async login(req: { agent: unknown; password: unknown; code: unknown; desktop?: unknown }, address: string): Promise<LoginResult> {
    const agentId = typeof req.agent === 'string' ? req.agent.slice(0, 100) : '';
    const admission = await this.throttle.admit(agentId, address);
    if (!admission.admitted) {
      this.o.log.info({ agentId, address, waitMs: admission.waitMs }, 'login throttled');
      throw new VdiguardError('resource-exhausted', `too many login attempts; try again in ${describeWait(admission.waitMs)}`, { retryAfterMs: admission.waitMs });
    }
    const agent = agentId ? await this.o.store.agentSecrets(agentId) : undefined;
    const passwordOk = await verifyPassword(typeof req.password === 'string' ? req.password : '', agent?.passwordHash ?? (await dummyHash()));
    const step = agent && passwordOk ? matchTotp(agent.totpSecret, String(req.code ?? ''), this.now(), this.o.totpSkewSteps) : undefined;
    const fresh = step !== undefined && agent ? await this.o.store.useTotpStep(agent.agentId, step) : false;
    if (!agent || !passwordOk || step === undefined || !fresh || agent.status !== 'active') {
      this.o.log.info({ agentId, address, outcome: !fresh && step !== undefined ? 'code reused' : agent?.status === 'disabled' ? 'disabled' : 'wrong credentials' }, 'login refused');
      throw new VdiguardError('unauthenticated', 'wrong agent, password or code');
    }
    await this.throttle.succeeded(admission);
    await this.admit(agent.agentId).catch((err: unknown) => {
      this.o.log.info({ agentId, address, outcome: 'locked' }, 'login refused');
      throw err;
    });
    const desktops = (await this.o.store.listDesktops(agent.agentId)).map((d) => ({ id: d.desktopId, name: d.displayName }));
    const { token, claims } = sealLogin(this.o.box, agent.agentId, LOGIN_TTL_MS, this.now());
    this.o.log.info({ agentId, address, loginId: claims.loginId }, 'login');
    const wanted = typeof req.desktop === 'string' && req.desktop ? req.desktop : desktops.length === 1 ? desktops[0]?.id : undefined;
    const ticket = wanted ? await this.ticket(token, wanted) : undefined;
    return { token, agentId: agent.agentId, displayName: agent.displayName, desktops, ticket };
  }

  /** A new connection ticket under an existing login (first connection or a reconnect). */
  async ticket(token: unknown, desktopId: unknown): Promise<{ ticket: string; desktopId: string; expiresAt: number }> {
    const login = await this.check(token);
    const agent = await this.o.store.agentSecrets(login.agentId);
    if (!agent || agent.status !== 'active') throw new VdiguardError('unauthenticated', 'this agent may no longer log in');
    await this.admit(login.agentId);
    const id = typeof desktopId === 'string' ? desktopId : '';
    if (!id || !(await this.o.store.desktopFor(login.agentId, id))) {
      throw new VdiguardError('not-found', `no desktop ${JSON.stringify(id.slice(0, 100))} for this agent`);
    }
    return { ...this.tickets.issue(login.agentId, id, login.loginId), desktopId: id };
  }

  /** The login behind a token; throws `unauthenticated` when it is invalid, expired or revoked. */
  async check(token: unknown): Promise<LoginClaims> {
    const login = openLogin(this.o.box, token, this.now());
    if (await this.isRevoked(login.loginId)) throw new VdiguardError('unauthenticated', 'this login was ended; log in again');
    return login;
  }

  /**
   * A fresh TOTP code for a challenge, from the session's address: same replay protection and
   * throttle as a login (a throttled attempt is a wrong code, checked or not).
   */
  async verifyCode(agentId: string, code: unknown, address: string): Promise<boolean> {
    const admission = await this.throttle.admit(agentId, address);
    if (!admission.admitted) return false;
    const agent = await this.o.store.agentSecrets(agentId);
    const step = agent && agent.status === 'active' ? matchTotp(agent.totpSecret, String(code ?? ''), this.now(), this.o.totpSkewSteps) : undefined;
    const ok = step !== undefined && (await this.o.store.useTotpStep(agentId, step));
    if (ok) await this.throttle.succeeded(admission);
    return ok;
  }

  /** Ends a login for every replica: its token gets no more tickets, its open tickets are refused. */
  async revoke(loginId: string): Promise<void> {
    const until = this.now() + LOGIN_TTL_MS;
    this.revokedHere.set(loginId, until);
    for (const [id, t] of this.revokedHere) if (t < this.now()) this.revokedHere.delete(id);
    await this.o.store.revokeLogin(loginId, new Date(until));
  }

  /**
   * Whether the agent may have a desktop session now: throws `permission-denied` when they are
   * locked; returns their probation (the next session starts challenged, at its trust) or undefined.
   */
  async admit(agentId: string): Promise<AgentLock | undefined> {
    const lock = this.lockedHere.get(agentId) ?? (await this.o.store.agentLock(agentId));
    if (lock?.kind === 'locked') throw new VdiguardError('permission-denied', LOCKED_MESSAGE);
    return lock;
  }

  /** Locks the agent (or puts them on probation) for every replica; refused here at once. */
  async lock(l: Omit<AgentLock, 'lockedAt'>): Promise<void> {
    const placed: AgentLock = { ...l, lockedAt: new Date(this.now()) };
    const before = this.lockedHere.get(l.agentId);
    this.lockedHere.set(l.agentId, before?.kind === 'locked' ? { ...placed, kind: 'locked' } : placed);
    await this.o.store.lockAgent(l);
    // Landed: from now on the store decides, so an unlock on another replica counts here too.
    if (this.lockedHere.get(l.agentId)?.sessionId === l.sessionId) this.lockedHere.delete(l.agentId);
  }

  /** Lifts the agent's lock or probation; returns what was lifted (undefined: there was none). */
  async unlock(agentId: string): Promise<AgentLock | undefined> {
    const here = this.lockedHere.get(agentId);
    this.lockedHere.delete(agentId);
    return (await this.o.store.unlockAgent(agentId)) ?? here;
  }

  private async isRevoked(loginId: string): Promise<boolean> {
    return this.revokedHere.has(loginId) || (await this.o.store.isLoginRevoked(loginId));
  }
}

function describeWait(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  return seconds < 120 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`;
}
