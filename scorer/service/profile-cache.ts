/**
 * The profiles this scorer's sessions opened with, kept so that a session opened while the
 * database is down (an agent signing in again, a reconnect, a hand-over from a stopping scorer)
 * can still be scored with what the agent had.
 *
 * Bounded in bytes, not in entries: a profile with fitted templates takes some 45 KiB here (the
 * mouse action network's weights alone are a 37 KiB string), so a bound of 5,000 entries let one
 * scorer's cache reach 220 MiB, half the heap Node gives a process in the chart's 1 GiB pod. And
 * only agents whose sessions opened here are taken in: a scorer that fits another scorer's
 * agents (contributions are applied wherever there is room) does not keep their profiles.
 */
import type { ProfileBody } from '../profile/profile.js';
import type { ProfileRecord } from '../store/profiles.js';

/** What the cache holds of a profile: no windows (scoring needs the templates only). */
function withoutWindows(body: ProfileBody): ProfileBody {
  return { keystroke: { ...body.keystroke, windows: [] }, mouse: { ...body.mouse, windows: [] } };
}

interface Entry {
  readonly record: ProfileRecord | null;
  /** Its size in the heap, roughly: its JSON text (V8 keeps these strings one byte a character) and the agent id. */
  readonly bytes: number;
}

function entryOf(agentId: string, record: ProfileRecord | null): Entry {
  const kept = record && { ...record, body: withoutWindows(record.body) };
  return { record: kept, bytes: agentId.length + (kept ? JSON.stringify(kept.body).length : 0) + 64 };
}

export class ProfileCache {
  /** Least recently used first (a Map keeps insertion order; a use inserts again). */
  private readonly entries = new Map<string, Entry>();
  private held = 0;

  constructor(private readonly maxBytes: number) {}

  /** Bytes held, as entries count them. */
  get bytes(): number {
    return this.held;
  }

  get size(): number {
    return this.entries.size;
  }

  has(agentId: string): boolean {
    return this.entries.has(agentId);
  }

  /** The profile kept for the agent (null: the agent has none yet), or undefined when none is kept. */
  get(agentId: string): ProfileRecord | null | undefined {
    const entry = this.entries.get(agentId);
    if (!entry) return undefined;
    this.entries.delete(agentId);
    this.entries.set(agentId, entry);
    return entry.record;
  }

  /** Keeps what a session of the agent opened with, dropping the least recently used beyond the bound. */
  put(agentId: string, record: ProfileRecord | null): void {
    this.delete(agentId);
    const entry = entryOf(agentId, record);
    if (entry.bytes > this.maxBytes) return;
    this.set(agentId, entry);
  }

  /** Replaces a kept profile with its new version (a fit, a reset); an agent not kept stays out. */
  refresh(agentId: string, record: ProfileRecord): void {
    const old = this.entries.get(agentId);
    if (!old) return;
    // Set in place: a fit is not a use, so the agent keeps its place in the order.
    this.held -= old.bytes;
    this.set(agentId, entryOf(agentId, record));
  }

  delete(agentId: string): void {
    const entry = this.entries.get(agentId);
    if (!entry) return;
    this.entries.delete(agentId);
    this.held -= entry.bytes;
  }

  /** Sets the entry (in place when the agent is kept) and drops the least recently used until the bound holds. */
  private set(agentId: string, entry: Entry): void {
    this.entries.set(agentId, entry);
    this.held += entry.bytes;
    this.evict();
  }

  /** Drops the least recently used until the bound holds. */
  private evict(): void {
    for (const [oldest, e] of this.entries) {
      if (this.held <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.held -= e.bytes;
    }
  }
}
