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

  all(): DesktopSession[] {
    return [...this.sessions.values()];
  }

  get size(): number {
    return this.sessions.size;
  }
}
