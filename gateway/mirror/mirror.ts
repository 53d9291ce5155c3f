/**
 * The mirror: one ScorerService.Session stream per desktop session. The tap pushes events into a
 * bounded queue (push returns at once and never throws); the mirror sends them in batches (every
 * `batchMs`, or sooner when `batchEvents` are waiting), keeps recent batches until the scorer has
 * surely applied them, and when the stream breaks reconnects with backoff and resumes the session
 * (open with resume=true; the scorer says the last batch it applied, the mirror resends the rest).
 *
 * A full buffer refuses new events rather than dropping queued ones: `push` says so, and the session
 * keeps that input from the desktop (fail-closed), so nothing reaches the desktop that the scorer
 * will not see. A flood of input cannot open a silent gap.
 *
 * The mirror never decides what a missing scorer means: it reports `scored(false)` when it loses
 * the scorer (or had to refuse events) and `scored(true)` when it has it again, and the session
 * applies the configured policy (fail-closed or fail-open) after the grace period. A stream the
 * scorer ends with a status that resending cannot change (the batch is invalid, too large, the
 * session cannot be opened) is final: the mirror stops and reports `refused`, and the session
 * applies its policy at once instead of the mirror resending the same batch forever.
 */
import { status, type ClientDuplexStream } from '@grpc/grpc-js';
import type { InputEvent, SessionOpen, SessionRequest, SessionResponse, Verdict } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import type { Logger } from '../../lib/log.js';

export type SessionStream = ClientDuplexStream<SessionRequest, SessionResponse>;

export interface MirrorOptions {
  /** Opens a new Session stream to the scorer. */
  readonly connect: () => SessionStream;
  readonly open: Omit<SessionOpen, 'resume'>;
  /**
   * The session's trust now, sent as the initial trust when the mirror resumes: a scorer that no
   * longer holds the session (it restarted, or the stream moved to another) starts from where the
   * session stood, so a restart is never a way back to trust 1. One that holds it keeps its own.
   */
  readonly trustNow?: () => number;
  readonly batchMs: number;
  readonly batchEvents: number;
  /** Events held at most (waiting, plus sent but possibly not applied); the oldest go beyond it. */
  readonly bufferEvents: number;
  /**
   * A verdict, with its latency when known: milliseconds from writing the batch that held the
   * window's last event to the verdict's arrival (scoring, queueing and the round trip).
   */
  readonly onVerdict: (v: Verdict, latencyMs?: number) => void;
  /** false: the scorer cannot follow the session (lost, or events dropped); true: it can again. */
  readonly onScored: (scored: boolean, why: string) => void;
  /** The scorer refused the session for good; the mirror has stopped. */
  readonly onRefused: (why: string) => void;
  readonly log: Logger;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
}

interface Batch {
  readonly seq: number;
  readonly events: InputEvent[];
}

export type MirrorState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Statuses worth a reconnect: the scorer or the network may be back, and the batch may pass then. */
const TRANSIENT = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.CANCELLED, status.ABORTED, status.UNKNOWN, status.INTERNAL]);

export class Mirror {
  private _state: MirrorState = 'connecting';
  private stream: SessionStream | undefined;
  /** Events not yet in a batch. */
  private waiting: InputEvent[] = [];
  /** Batches sent (or to send) that the scorer may not have applied yet, oldest first. */
  private recent: Batch[] = [];
  private recentEvents = 0;
  private seq = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs: number;
  private accepted = false;
  /** The stream's buffer is full (write returned false): batches wait in `recent` until 'drain'. */
  private congested = false;
  /** Highest seq written to the current stream. */
  private sentSeq = 0;
  private everAccepted = false;
  private scored = true;
  /** Events per batch: the configured size, or less when the scorer accepts fewer. */
  private batchEvents: number;
  /** Events refused because the buffer was full. */
  dropped = 0;
  /** Batches written to a stream. */
  batchesSent = 0;
  /** When recent batches were written to the current stream, by seq, for verdict latency. */
  private written: { seq: number; at: number }[] = [];

  constructor(private readonly o: MirrorOptions) {
    this.retryMs = o.backoff?.initialMs ?? 200;
    this.batchEvents = o.batchEvents;
    this.connect();
  }

  get state(): MirrorState {
    return this._state;
  }

  /**
   * Queues one event; false when the buffer is full and the event was refused (the scorer will
   * never see it). O(1) amortised; never blocks, never throws.
   */
  push(event: InputEvent): boolean {
    if (this._state === 'closed') return false;
    // A timing-only sample (docs/client-times.md) only refines the path between two moves, and a
    // 1000 Hz mouse sends 16 for each: it may fill half the buffer, so that while the scorer is slow
    // or away samples never take the room input needs. Refusing one loses no input.
    if (event.timingOnly === true) {
      if (!this.makeRoom(this.o.bufferEvents / 2)) return false;
    } else if (!this.makeRoom()) {
      this.dropped++;
      this.setScored(false, this.accepted ? 'the scorer is too slow: input refused' : 'mirror buffer full: input refused');
      return false;
    }
    this.waiting.push(event);
    if (this.waiting.length >= this.batchEvents) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), this.o.batchMs);
    return true;
  }

  /** Sends what is waiting, tells the scorer why the session ends, and closes the stream. */
  close(reason: string): void {
    if (this._state === 'closed') return;
    this.flush();
    this.stop();
    const s = this.stream;
    this.stream = undefined;
    if (s && this.accepted) {
      s.write({ kind: { $case: 'close', value: { reason } } });
      s.end();
      // The scorer ends the stream after the close; do not hold the process for it.
      setTimeout(() => s.cancel(), 2000).unref();
    } else {
      s?.cancel();
    }
  }

  private stop(): void {
    this._state = 'closed';
    clearTimeout(this.flushTimer);
    clearTimeout(this.retryTimer);
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    while (this.waiting.length > 0) {
      const events = this.waiting.splice(0, this.batchEvents);
      const batch = { seq: ++this.seq, events };
      this.recent.push(batch);
      this.recentEvents += events.length;
    }
    this.sendPending();
  }

  /** Writes the batches the current stream has not had yet, until its buffer is full. */
  private sendPending(): void {
    if (!this.accepted || !this.stream) return;
    // `recent` holds consecutive seqs, so the first batch not yet written is found by arithmetic,
    // not by walking past the written ones that a resume may need (some 64, on every flush).
    const first = this.recent[0]?.seq ?? this.sentSeq + 1;
    for (let i = Math.max(0, this.sentSeq + 1 - first); i < this.recent.length && !this.congested; i++) {
      const b = this.recent[i] as Batch;
      this.sentSeq = b.seq;
      this.batchesSent++;
      this.written.push({ seq: b.seq, at: performance.now() });
      if (this.written.length > 256) this.written.shift();
      if (!this.stream.write({ kind: { $case: 'events', value: { seq: b.seq, events: b.events } } })) this.congested = true;
    }
    // Keep only what a resume could need: a few batches already written.
    while (this.recent.length > 64 && (this.recent[0] as Batch).seq <= this.sentSeq - 32) this.forget();
  }

  private forget(): void {
    const b = this.recent.shift();
    if (b) this.recentEvents -= b.events.length;
  }

  /** Room for one more event below `limit`, forgetting batches already written (the scorer most likely has them) if need be. */
  private makeRoom(limit = this.o.bufferEvents): boolean {
    while (this.waiting.length + this.recentEvents >= limit) {
      const b = this.recent[0];
      if (!b || b.seq > this.sentSeq || !this.accepted) return false;
      this.forget();
    }
    return true;
  }

  private connect(): void {
    if (this._state === 'closed') return;
    this.accepted = false;
    // A batch sent again on the new stream is timed from then: verdict latency is the scorer's, not the outage's.
    this.written = [];
    this.congested = false;
    let stream: SessionStream;
    try {
      stream = this.o.connect();
    } catch (err) {
      this.lost(`cannot reach the scorer: ${(err as Error).message}`);
      return;
    }
    this.stream = stream;
    stream.on('data', (res: SessionResponse) => this.onResponse(stream, res));
    stream.on('drain', () => {
      if (stream !== this.stream) return;
      this.congested = false;
      this.sendPending();
      if (!this.congested && this.accepted) this.setScored(true, 'the scorer caught up');
    });
    stream.on('error', (err: Error & { code?: number; details?: string }) => {
      if (stream !== this.stream) return;
      const why = `${err.code === undefined ? '' : `${status[err.code] ?? err.code}: `}${err.details ?? err.message}`;
      if (err.code !== undefined && !TRANSIENT.has(err.code)) this.refused(why);
      else this.lost(`scorer stream failed: ${why}`);
    });
    stream.on('end', () => {
      if (stream === this.stream) this.lost('scorer ended the stream');
    });
    const trust = this.everAccepted ? this.o.trustNow?.() : undefined;
    const open = trust !== undefined && trust < 1 ? { ...this.o.open, initialTrust: trust } : this.o.open;
    stream.write({ kind: { $case: 'open', value: { ...open, resume: this.everAccepted } } });
  }

  private onResponse(stream: SessionStream, res: SessionResponse): void {
    if (stream !== this.stream || !res.kind) return;
    if (res.kind.$case === 'accepted') {
      const { lastBatchSeq, resumed, maxBatchEvents } = res.kind.value;
      const after = resumed ? Number(lastBatchSeq) : 0;
      // Batches the scorer applied are done; the rest go again, in order.
      while (this.recent.length > 0 && (this.recent[0] as Batch).seq <= after) this.forget();
      if (maxBatchEvents > 0 && maxBatchEvents < this.batchEvents) this.shrinkBatches(maxBatchEvents, after);
      this.accepted = true;
      this.sentSeq = after;
      if (this.everAccepted) this.o.log.info({ sessionId: this.o.open.sessionId, resumed, resent: this.recent.length }, 'mirror resumed');
      this.everAccepted = true;
      this.retryMs = this.o.backoff?.initialMs ?? 200;
      this._state = 'open';
      this.flush();
      this.setScored(true, 'scorer stream open');
      return;
    }
    const seq = res.kind.value.batchSeq;
    // Batches are applied in order: those before this one are done.
    while (this.written.length > 0 && (this.written[0] as { seq: number }).seq < seq) this.written.shift();
    const batch = this.written[0]?.seq === seq ? this.written[0] : undefined;
    this.o.onVerdict(res.kind.value, batch ? performance.now() - batch.at : undefined);
  }

  /**
   * The scorer accepts fewer events per batch than configured: a misconfiguration that would have
   * every full batch refused. Batches it has not applied are cut again to its size, numbered on
   * from the last one it applied.
   */
  private shrinkBatches(max: number, after: number): void {
    this.o.log.error(
      { sessionId: this.o.open.sessionId, mirrorBatchEvents: this.o.batchEvents, scorerMaxBatchEvents: max },
      `VDIGUARD_MIRROR_BATCH_EVENTS (${this.o.batchEvents}) is above the scorer's VDIGUARD_MAX_BATCH_EVENTS (${max}): batches are cut to ${max}; set VDIGUARD_MIRROR_BATCH_EVENTS to at most ${max}`,
    );
    this.batchEvents = max;
    this.waiting = [...this.recent.flatMap((b) => b.events), ...this.waiting];
    this.recent = [];
    this.recentEvents = 0;
    this.seq = after;
  }

  /** Resending cannot help: stop, and let the session apply its policy now. */
  private refused(why: string): void {
    this.dropStream();
    this.stop();
    this.waiting = [];
    this.recent = [];
    this.recentEvents = 0;
    this.o.log.error({ sessionId: this.o.open.sessionId, why }, 'the scorer refused the session: not resending');
    this.o.onRefused(why);
  }

  private lost(why: string): void {
    if (this._state === 'closed') return;
    this.dropStream();
    this.accepted = false;
    this._state = 'reconnecting';
    this.setScored(false, why);
    this.o.log.warn({ sessionId: this.o.open.sessionId, why, retryMs: this.retryMs }, 'mirror lost the scorer');
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, this.o.backoff?.maxMs ?? 5000);
  }

  private dropStream(): void {
    const s = this.stream;
    this.stream = undefined;
    s?.removeAllListeners();
    s?.on('error', () => undefined);
    s?.cancel();
  }

  private setScored(scored: boolean, why: string): void {
    if (scored === this.scored) return;
    this.scored = scored;
    this.o.onScored(scored, why);
  }
}
