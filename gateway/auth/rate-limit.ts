/**
 * Sliding-window rate limits for logins, per key (an agent id, a client address). In memory: each
 * gateway replica limits on its own, which bounds guessing to replicas x limit per window.
 */
export interface RateLimitOptions {
  /** Events allowed per window. */
  readonly limit: number;
  readonly windowMs: number;
  /** Keys tracked at most; the oldest are forgotten beyond it, so a flood cannot exhaust memory. */
  readonly maxKeys?: number;
  readonly now?: () => number;
}

export class RateLimiter {
  private readonly hits = new Map<string, number[]>();
  private readonly now: () => number;
  private readonly maxKeys: number;

  constructor(private readonly o: RateLimitOptions) {
    this.now = o.now ?? Date.now;
    this.maxKeys = o.maxKeys ?? 100_000;
  }

  /** Milliseconds until `key` may try again; 0 when it may now. */
  retryAfterMs(key: string): number {
    const list = this.recent(key);
    if (list.length < this.o.limit) return 0;
    return Math.max(1, (list[0] as number) + this.o.windowMs - this.now());
  }

  record(key: string): void {
    const list = this.recent(key);
    list.push(this.now());
    this.hits.delete(key);
    this.hits.set(key, list);
    if (this.hits.size > this.maxKeys) this.hits.delete(this.hits.keys().next().value as string);
  }

  reset(key: string): void {
    this.hits.delete(key);
  }

  private recent(key: string): number[] {
    const since = this.now() - this.o.windowMs;
    const list = (this.hits.get(key) ?? []).filter((t) => t > since);
    if (list.length === 0) this.hits.delete(key);
    else this.hits.set(key, list);
    return list;
  }
}
