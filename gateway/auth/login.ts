/**
 * Agent login: password plus TOTP, checked by the sign-in code agents and admins share
 * (gateway/auth/credentials.ts: the login throttle first, then password and code), yielding a login token
 * (kept in the page's memory) and single-use connection tickets for the agent's desktops. Every
 * failure answers the same "wrong agent, password or code" so nothing tells which part was wrong.
 * An agent locked after a security decision is told so, but only once password and code were
 * right: the lock is no secret from the agent, and must not tell a guesser the password was good.
 */
import { VdiguardError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { AgentLock, AgentSecrets, GatewayStore } from '../store/gateway-store.js';
import { CredentialCheck, type Credentials } from './credentials.js';
import type { SecretBox } from './secret-box.js';
import type { ThrottlePolicy } from './throttle.js';
import { openLogin, sealLogin, Tickets, type LoginClaims } from './tickets.js';

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
  private readonly credentials: CredentialCheck;
  private readonly now: () => number;
  /** Logins this replica revoked, effective at once (the store tells the other replicas). */
  private readonly revokedHere = new Map<string, number>();
  /** Locks placed on this replica whose store write has not landed yet: effective here at once. */
  private readonly lockedHere = new Map<string, AgentLock>();

  constructor(private readonly o: LoginOptions) {
    this.now = o.now ?? Date.now;
    this.credentials = new CredentialCheck({ store: o.store, throttle: o.throttle, totpSkewSteps: o.totpSkewSteps, log: o.log, now: this.now });
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
    const outcome = await this.credentials.signIn(agentId, () => this.credentialsOf(agentId), req.password, req.code, address);
    if (!outcome.ok) {
      this.o.log.info({ agentId, address, outcome: outcome.why, checkMs: outcome.checkMs }, 'login refused');
      throw new VdiguardError('unauthenticated', 'wrong agent, password or code');
    }
    const agent = outcome.who;
    await this.admit(agent.agentId).catch((err: unknown) => {
      this.o.log.info({ agentId, address, outcome: 'locked' }, 'login refused');
      throw err;
    });
    const desktops = (await this.o.store.listDesktops(agent.agentId)).map((d) => ({ id: d.desktopId, name: d.displayName }));
    const { token, claims } = sealLogin(this.o.box, agent.agentId, LOGIN_TTL_MS, this.now());
    this.o.log.info({ agentId, address, loginId: claims.loginId, checkMs: outcome.checkMs }, 'login');
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
    return this.credentials.code(agentId, () => this.credentialsOf(agentId), code, address);
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

  private async credentialsOf(agentId: string): Promise<(AgentSecrets & Credentials) | undefined> {
    const agent = await this.o.store.agentSecrets(agentId);
    return agent && { ...agent, active: agent.status === 'active' };
  }

  private async isRevoked(loginId: string): Promise<boolean> {
    return this.revokedHere.has(loginId) || (await this.o.store.isLoginRevoked(loginId));
  }
}
