/**
 * Writes that must not be lost when the database is briefly away or the process stops (audit
 * records, profile contributions, trust carried between sessions): records are written in order;
 * a write that fails because the database is unreachable stays at the head of the queue and is
 * retried with exponential backoff, so no caller waits for the database.
 *
 * With `writeBatch`, what queued up while a write ran goes in the next write together, up to
 * `maxBatch` records (one transaction: one commit and one flush of the database's log instead of
 * one per record), so a burst (a thousand sessions ending at a restart, or what queued during an
 * outage) lands in a few commits. A batch the database rejects (not an outage) is written again
 * one record at a time, so only the bad record is refused.
 *
 * At shutdown, what could not be written in time goes to the spill (lib/db/spill.ts), and the
 * next start writes it first (recover()). So records must be idempotent to write: the one in
 * flight when the process stopped may have landed as well.
 *
 * Bounded: past `maxPending` the oldest record is dropped and the drop is logged as an error with
 * its label.
 */
import type { Logger } from '../log.js';
import { isConnectionError } from './db.js';
import type { Spill } from './spill.js';

export interface WriteQueueOptions<R> {
  readonly log: Logger;
  /** Records held at most; the oldest is dropped beyond it. */
  readonly maxPending: number;
  /** First retry delay in milliseconds; doubles up to maxDelayMs. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Writes one record; writing it twice must leave what writing it once leaves. */
  readonly write: (record: R) => Promise<unknown>;
  /** Writes records in order, all or none (one transaction); unset: one at a time. */
  readonly writeBatch?: (records: readonly R[]) => Promise<unknown>;
  /** Records per batch at most (default 64). */
  readonly maxBatch?: number;
  /** A record's name in logs (never its content: it may be large). */
  readonly label: (record: R) => string;
  /** Where records go at close when they could not be written; none: they are logged as lost. */
  readonly spill?: Spill<R>;
}

const DEFAULT_MAX_BATCH = 64;

interface Entry<R> {
  readonly record: R;
  /** Read back from a spill file at start. */
  readonly recovered: boolean;
}

/** What close() did with the records still queued. */
export interface CloseResult {
  readonly unwritten: number;
  /** The spill file that holds them, when there is one. */
  readonly spilledTo?: string;
}

export class WriteQueue<R> {
  private readonly queue: Entry<R>[] = [];
  private running = false;
  /** Entries at the head being written now; they stay queued until they have landed. */
  private inFlight = 0;
  /** Records still to be written one at a time, after a batch of them was rejected. */
  private singlesLeft = 0;
  private delayMs: number;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  /** Spill files read at start, removed once their records are written. */
  private recoveredFiles: string[] = [];
  private recoveredLeft = 0;
  /** Records dropped because the queue was full, since start. */
  dropped = 0;

  constructor(private readonly options: WriteQueueOptions<R>) {
    this.delayMs = options.initialDelayMs;
  }

  get pending(): number {
    return this.queue.length;
  }

  enqueue(record: R): void {
    if (this.closed) {
      this.options.log.error({ write: this.options.label(record) }, 'write after shutdown discarded');
      return;
    }
    this.push({ record, recovered: false });
  }

  /**
   * Queues the records an earlier process spilled, ahead of anything queued since but a write in
   * flight: call it before the first enqueue. Returns how many; problems with the files are logged
   * as errors (each names the file kept and what to do).
   */
  recover(): number {
    const spill = this.options.spill;
    if (!spill) return 0;
    const { records, files, problems } = spill.load();
    for (const problem of problems) this.options.log.error({ problem }, 'spill file damaged: some records could not be recovered');
    this.queue.splice(this.inFlight, 0, ...records.map((record) => ({ record, recovered: true })));
    this.recoveredLeft += records.length;
    this.recoveredFiles.push(...files);
    if (records.length > 0) {
      this.options.log.info({ records: records.length, files }, 'recovered records spilled at the last shutdown');
    } else {
      this.forgetRecoveredFiles();
    }
    this.kick();
    return records.length;
  }

  /**
   * Resolves true once every queued record has landed, false if `timeoutMs` passes first. A retry
   * waiting out its backoff runs now: whoever drains (a shutdown) has no time to wait for it.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.queue.length === 0 && !this.running) return true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.kick();
    }
    let timeout: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const expired = new Promise<boolean>((resolve) => (timeout = setTimeout(() => resolve(false), timeoutMs)));
    const result = await Promise.race([idle, expired]);
    clearTimeout(timeout);
    return result;
  }

  /**
   * Stops writing. What is still queued (the record in flight included: it may not have landed)
   * goes to the spill, or is logged as lost when there is none or it cannot be written.
   */
  close(): CloseResult {
    this.closed = true;
    clearTimeout(this.timer);
    const unwritten = this.queue.map((e) => e.record);
    if (unwritten.length === 0) return { unwritten: 0 };
    const labels = unwritten.map((r) => this.options.label(r));
    if (this.options.spill) {
      try {
        const spilledTo = this.options.spill.save(unwritten);
        // The new file holds what the recovered files still had to write.
        this.forgetRecoveredFiles();
        this.options.log.warn({ records: unwritten.length, spilledTo }, 'unwritten records spilled: the next start writes them');
        return { unwritten: unwritten.length, spilledTo };
      } catch (err) {
        this.options.log.error({ writes: labels, err: (err as Error).message }, 'shutting down with unwritten records: the spill could not be written');
        return { unwritten: unwritten.length };
      }
    }
    this.options.log.error({ writes: labels }, 'shutting down with unwritten records');
    return { unwritten: unwritten.length };
  }

  private push(entry: Entry<R>): void {
    this.queue.push(entry);
    if (this.queue.length > this.options.maxPending) {
      // Writes in flight at the head are not dropped: they may already have landed.
      const [lost] = this.queue.splice(this.inFlight, 1) as [Entry<R>];
      this.dropped++;
      this.settled(lost);
      this.options.log.error({ write: this.options.label(lost.record), dropped: this.dropped }, 'write queue full: oldest write dropped');
    }
    this.kick();
  }

  private kick(): void {
    if (this.running || this.timer !== undefined || this.closed) return;
    void this.runAll();
  }

  private async runAll(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0 && !this.closed) {
      const batch = this.queue.slice(0, this.nextBatchSize());
      this.inFlight = batch.length;
      try {
        await this.writeEntries(batch);
        this.delayMs = this.options.initialDelayMs;
      } catch (err) {
        this.inFlight = 0;
        // Closed while this write ran (shutdown): close() has spilled it with the rest.
        if (this.closed) break;
        if (isConnectionError(err)) {
          this.options.log.warn(
            { write: this.options.label((batch[0] as Entry<R>).record), records: batch.length, pending: this.queue.length, retryInMs: this.delayMs, err: (err as Error).message },
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
        if (batch.length > 1) {
          // Not an outage: one of them is bad. Alone, each of the others lands and the bad one is refused.
          this.singlesLeft = batch.length;
          continue;
        }
        // Not an outage: retrying cannot help, so the record is reported rather than kept forever.
        this.options.log.error({ write: this.options.label((batch[0] as Entry<R>).record), err: (err as Error).message }, 'write rejected by the database');
      }
      this.inFlight = 0;
      if (this.closed) break;
      if (this.queue[0] === batch[0]) {
        this.queue.splice(0, batch.length);
        for (const e of batch) this.settled(e);
      }
      if (this.singlesLeft > 0) this.singlesLeft--;
    }
    this.running = false;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private nextBatchSize(): number {
    if (!this.options.writeBatch || this.singlesLeft > 0) return 1;
    return Math.min(this.queue.length, this.options.maxBatch ?? DEFAULT_MAX_BATCH);
  }

  private writeEntries(batch: readonly Entry<R>[]): Promise<unknown> {
    if (batch.length === 1 || !this.options.writeBatch) return this.options.write((batch[0] as Entry<R>).record);
    return this.options.writeBatch(batch.map((e) => e.record));
  }

  /** A record has left the queue: once every recovered one has, their files go. */
  private settled(entry: Entry<R>): void {
    if (!entry.recovered) return;
    this.recoveredLeft--;
    if (this.recoveredLeft === 0) this.forgetRecoveredFiles();
  }

  private forgetRecoveredFiles(): void {
    this.options.spill?.remove(this.recoveredFiles);
    this.recoveredFiles = [];
  }
}
