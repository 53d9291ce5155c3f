/**
 * The gateway's live desktop sessions, looked up by what enforcement needs: trust belongs to the
 * agent, so a new connection finds the agent's session on that desktop, and revoking a login finds
 * every session that login ever attached to.
 */
import { VdiguardError } from '../../lib/errors.js';
import type { DesktopSession } from './session.js';

export class SessionRegistry {
  private readonly sessions = new Map<string, DesktopSession>();

  add(s: DesktopSession): void {
    this.sessions.set(s.id.sessionId, s);
    s.once('ended', () => this.sessions.delete(s.id.sessionId));
  }

  get(id: string): DesktopSession | undefined {
    return this.sessions.get(id);
  }

  /** The agent's sessions that have not ended, connected or waiting for a reconnect. */
  ofAgent(agentId: string): DesktopSession[] {
    return this.all().filter((s) => s.id.agentId === agentId && s.status !== 'ended');
  }

  /** The sessions a login attached to (its first connection or a later one). */
  ofLogin(loginId: string): DesktopSession[] {
    return this.all().filter((s) => s.status !== 'ended' && s.logins.has(loginId));
  }

  all(): DesktopSession[] {
    return [...this.sessions.values()];
  }

  get size(): number {
    return this.sessions.size;
  }
}

/**
 * Whether the agent, with these live sessions, may open one on another desktop. A pending challenge
 * blocks it, or a colluder would simply move to a second desktop to escape the challenge.
 */
export function checkNewSession(live: readonly Pick<DesktopSession, 'status' | 'id'>[], limit: number): void {
  if (live.some((s) => s.status === 'challenged')) {
    throw new VdiguardError('failed-precondition', 'your open desktop session is waiting for you to confirm your identity: answer it there first');
  }
  if (live.length >= limit) {
    const desktops = live.map((s) => s.id.desktopId).join(', ');
    throw new VdiguardError('resource-exhausted', `you already have ${live.length} desktop session(s) open (${desktops}), the most allowed: close one or sign out first`);
  }
}
