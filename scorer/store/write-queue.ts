/**
 * Writes that must not be lost when the database is briefly away (audit records, profile
 * versions): they run in order, one at a time; a write that fails because the database is
 * unreachable stays at the head of the queue and is retried with exponential backoff, so scoring
 * never waits for the database. Bounded: past `maxPending` the oldest write is dropped and the drop
 * is logged as an error with its label.
 */
import type { Logger } from '../../lib/log.js';
import { isConnectionError } from '../../lib/db/db.js';

export interface WriteQueueOptions {
  readonly log: Logger;
  /** Writes held at most; the oldest is dropped beyond it. */
  readonly maxPending: number;
  /** First retry delay in milliseconds; doubles up to maxDelayMs. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

interface PendingWrite {
  readonly label: string;
  readonly run: () => Promise<unknown>;
}

export class WriteQueue {
  private readonly queue: PendingWrite[] = [];
  private running = false;
  private delayMs: number;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  /** Writes dropped because the queue was full, since start. */
  dropped = 0;

  constructor(private readonly options: WriteQueueOptions) {
    this.delayMs = options.initialDelayMs;
  }

  get pending(): number {
    return this.queue.length;
  }

  enqueue(label: string, run: () => Promise<unknown>): void {
    if (this.closed) {
      this.options.log.error({ write: label }, 'write after shutdown discarded');
      return;
    }
    this.queue.push({ label, run });
    if (this.queue.length > this.options.maxPending) {
      // The write in flight at the head is not dropped: it may already have landed.
      const [lost] = this.queue.splice(this.running ? 1 : 0, 1) as [PendingWrite];
      this.dropped++;
      this.options.log.error({ write: lost.label, dropped: this.dropped }, 'write queue full: oldest write dropped');
    }
    this.kick();
  }

  /** Resolves true once every queued write has landed, false if `timeoutMs` passes first. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.queue.length === 0 && !this.running) return true;
    let timeout: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const expired = new Promise<boolean>((resolve) => (timeout = setTimeout(() => resolve(false), timeoutMs)));
    const result = await Promise.race([idle, expired]);
    clearTimeout(timeout);
    return result;
  }

  /** Stops retrying; what is still queued is logged as lost. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.queue.length > 0) {
      this.options.log.error({ writes: this.queue.map((w) => w.label) }, 'shutting down with unwritten records');
    }
  }

  private kick(): void {
    if (this.running || this.timer !== undefined || this.closed) return;
    void this.runAll();
  }

  private async runAll(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0 && !this.closed) {
      const head = this.queue[0] as PendingWrite;
      try {
        await head.run();
        this.delayMs = this.options.initialDelayMs;
      } catch (err) {
        // Closed while this write ran (shutdown): close() has reported it among the unwritten.
        if (this.closed) break;
        if (isConnectionError(err)) {
          this.options.log.warn(
            { write: head.label, pending: this.queue.length, retryInMs: this.delayMs, err: (err as Error).message },
            'database unavailable: write will be retried',
          );
          this.running = false;
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.kick();
          }, this.delayMs);
          this.delayMs = Math.min(this.delayMs * 2, this.options.maxDelayMs);
          return;
        }
        // Not an outage: retrying cannot help, so the record is reported rather than kept forever.
        this.options.log.error({ write: head.label, err: (err as Error).message }, 'write rejected by the database');
      }
      if (this.queue[0] === head) this.queue.shift();
    }
    this.running = false;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}
