/** The gateway's live desktop sessions, for the admin API. */
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

  /** The session of this login and desktop whose connection dropped, if it still waits for a reconnect. */
  awaitingReconnect(loginId: string, desktopId: string): DesktopSession | undefined {
    return [...this.sessions.values()].find((s) => s.awaitingReconnect && s.id.loginId === loginId && s.id.desktopId === desktopId);
  }

  all(): DesktopSession[] {
    return [...this.sessions.values()];
  }

  get size(): number {
    return this.sessions.size;
  }
}
