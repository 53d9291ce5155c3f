/**
 * Password hashes, a few at a time, with a bounded wait behind them. Each scrypt hash costs some
 * 60 ms of a core and 32 MiB (password.ts). At a shift start hundreds of agents sign in within a
 * minute; a gateway that started every hash at once would answer each later than the last, until
 * pages time out, and starve the sessions it already holds of CPU meanwhile. So a gateway hashes
 * `concurrency` at a time and lets a wait of at most `maxWaitMs` build behind them; an attempt that
 * would wait longer is answered "busy, try again in N seconds" (503 with Retry-After) before it is
 * counted by the login throttle or anything is looked up, so a busy gateway costs nobody an attempt.
 *
 * The wait is estimated from the hashes ahead and the recent mean time of one hash, so the bound
 * follows the machine's speed and load rather than a fixed count.
 */
import { VdiguardError } from '../../lib/errors.js';

export interface HashQueueOptions {
  /** Hashes running at once; they run on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise). */
  readonly concurrency: number;
  /** The longest expected wait an attempt is queued for; beyond it the attempt is refused as busy. */
  readonly maxWaitMs: number;
  /** The time of one hash assumed until one has been measured, ms. */
  readonly initialHashMs: number;
  readonly now?: () => number;
}

/** A place in the queue, taken before the attempt is counted; `leave` it in a `finally`. */
export interface HashPlace {
  /** Runs `hash` when a slot is free. Once per place. */
  run<T>(hash: () => Promise<T>): Promise<T>;
  /** Gives the place back; a place that never ran leaves the queue. Safe to call more than once. */
  leave(): void;
}

/** Weight of the newest hash in the mean hash time. */
const MEAN_WEIGHT = 0.2;

export class HashQueue {
  /** Places taken whose hash has not started (waiting for a slot, or still before `run`). */
  private queued = 0;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private meanHashMs: number;
  private readonly now: () => number;

  constructor(private readonly o: HashQueueOptions) {
    if (!(o.concurrency >= 1)) throw new Error('a hash queue needs a concurrency of at least 1');
    this.meanHashMs = o.initialHashMs;
    this.now = o.now ?? Date.now;
  }

  /** How long an attempt arriving now is expected to wait before its hash completes, ms. */
  expectedWaitMs(): number {
    return Math.ceil(((this.queued + this.running + 1) / this.o.concurrency) * this.meanHashMs);
  }

  /** Takes a place; throws `unavailable` with a retry time when the wait would exceed the bound. */
  enter(): HashPlace {
    const wait = this.expectedWaitMs();
    if (wait > this.o.maxWaitMs) {
      // Come back when the hashes queued now are done: a shorter answer brings every refused
      // attempt back into a queue that is still full, and refuses it again.
      const retryAfterMs = Math.max(1000, wait);
      throw new VdiguardError('unavailable', `the gateway is busy signing in other agents; try again in ${Math.ceil(retryAfterMs / 1000)} seconds`, { retryAfterMs });
    }
    this.queued++;
    let state: 'entered' | 'ran' | 'left' = 'entered';
    return {
      run: async <T>(hash: () => Promise<T>): Promise<T> => {
        if (state !== 'entered') throw new Error('a hash place runs once, before it is left');
        state = 'ran';
        await this.slot();
        const started = this.now();
        try {
          return await hash();
        } finally {
          this.meanHashMs += MEAN_WEIGHT * (this.now() - started - this.meanHashMs);
          this.release();
        }
      },
      leave: () => {
        if (state === 'entered') this.queued--;
        state = 'left';
      },
    };
  }

  /** Resolves when this place may hash; moves it from the queued to the running. */
  private slot(): Promise<void> {
    if (this.running < this.o.concurrency) {
      this.queued--;
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** A hash finished: its slot goes to the longest waiting place, or is freed. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) {
      this.queued--;
      next();
    } else {
      this.running--;
    }
  }
}
