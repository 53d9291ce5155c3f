/**
 * Connection tickets: what a successful login hands the browser to open one desktop tunnel.
 * Sealed with AES-256-GCM (unforgeable, unreadable), short-lived, bound to the agent, the desktop
 * and the login it came from, and single-use (its id is recorded when redeemed, in the store
 * shared by gateway replicas). guacamole-lite's own token never reaches the browser: the tunnel
 * builds it server-side only after a ticket is redeemed.
 */
import { randomBytes } from 'node:crypto';
import { context, propagation } from '@opentelemetry/api';
import { VdiguardError } from '../../lib/errors.js';
import type { SecretBox } from './secret-box.js';

export interface TicketClaims {
  /** Random id, recorded when the ticket is used. */
  readonly id: string;
  readonly agentId: string;
  readonly desktopId: string;
  /** The login (agent token) the ticket was issued under; revoked logins' tickets are refused. */
  readonly loginId: string;
  /** Expiry, milliseconds since the Unix epoch. */
  readonly exp: number;
  /** W3C traceparent of the login that issued it, so the desktop session joins the login's trace. */
  readonly trace?: string;
}

export interface TicketDeps {
  readonly box: SecretBox;
  /** Records a ticket id as used; false when it was used before. */
  readonly markUsed: (id: string, expiresAt: Date) => Promise<boolean>;
  readonly isRevoked?: (loginId: string) => Promise<boolean>;
  readonly ttlMs: number;
  readonly now?: () => number;
}

export class Tickets {
  private readonly now: () => number;

  constructor(private readonly d: TicketDeps) {
    this.now = d.now ?? Date.now;
  }

  issue(agentId: string, desktopId: string, loginId: string): { ticket: string; expiresAt: number } {
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    const claims: TicketClaims = { id: randomBytes(16).toString('base64url'), agentId, desktopId, loginId, exp: this.now() + this.d.ttlMs, trace: carrier.traceparent };
    return { ticket: this.d.box.seal('ticket', JSON.stringify(claims)), expiresAt: claims.exp };
  }

  /** Checks a ticket and uses it up; throws `unauthenticated` with the reason otherwise. */
  async redeem(ticket: unknown): Promise<TicketClaims> {
    const claims = this.inspect(ticket);
    if (await this.d.isRevoked?.(claims.loginId)) throw new VdiguardError('unauthenticated', 'this login was ended; log in again');
    if (!(await this.d.markUsed(claims.id, new Date(claims.exp)))) {
      throw new VdiguardError('unauthenticated', 'this connection ticket was already used; log in again');
    }
    return claims;
  }

  /** Checks a ticket's seal and expiry, without using it up. */
  inspect(ticket: unknown): TicketClaims {
    const text = typeof ticket === 'string' ? this.d.box.open('ticket', ticket) : undefined;
    let claims: TicketClaims | undefined;
    try {
      claims = text === undefined ? undefined : (JSON.parse(text) as TicketClaims);
    } catch {
      claims = undefined;
    }
    if (!claims || typeof claims.id !== 'string' || typeof claims.exp !== 'number') {
      throw new VdiguardError('unauthenticated', 'invalid connection ticket');
    }
    if (this.now() > claims.exp) throw new VdiguardError('unauthenticated', 'the connection ticket expired; log in again');
    return claims;
  }
}

/** The agent's login: a sealed token the page keeps in memory to get tickets (reconnects) and answer challenges. */
export interface LoginClaims {
  readonly loginId: string;
  readonly agentId: string;
  readonly exp: number;
}

export function sealLogin(box: SecretBox, agentId: string, ttlMs: number, now = Date.now()): { token: string; claims: LoginClaims } {
  const claims: LoginClaims = { loginId: randomBytes(16).toString('base64url'), agentId, exp: now + ttlMs };
  return { token: box.seal('login', JSON.stringify({ login: claims })), claims };
}

export function openLogin(box: SecretBox, token: unknown, now = Date.now()): LoginClaims {
  const text = typeof token === 'string' ? box.open('login', token) : undefined;
  let parsed: { login?: LoginClaims } | undefined;
  try {
    parsed = text === undefined ? undefined : (JSON.parse(text) as { login?: LoginClaims });
  } catch {
    parsed = undefined;
  }
  const claims = parsed?.login;
  if (!claims || typeof claims.agentId !== 'string') throw new VdiguardError('unauthenticated', 'not logged in');
  if (now > claims.exp) throw new VdiguardError('unauthenticated', 'the login expired; log in again');
  return claims;
}
