/**
 * The frame loop of one connection: at a steady cadence, encode what changed in the framebuffer and
 * send it as image streams followed by `sync`. The client answers each `sync` with the same
 * timestamp; while it lags too far behind, frames are held back (changes accumulate and are sent
 * together later), and when it stops answering altogether the connection is ended, as guacd does.
 */
import { encodeInstruction } from '../guac/encoder.js';
import { chooseFormat, encodeImage, imageInstructions, type EncoderOptions } from './encoding.js';
import type { Framebuffer } from './framebuffer.js';

export interface DisplayOptions extends EncoderOptions {
  /** Time between frames, in milliseconds. */
  readonly frameIntervalMs: number;
  /** Frames are held back while the oldest unanswered `sync` is older than this, in milliseconds. */
  readonly maxLagMs: number;
  /** The client is considered gone when a `sync` stays unanswered this long, in milliseconds. */
  readonly ackTimeoutMs: number;
  /** A `sync` is sent at least this often, even when nothing changes, in milliseconds (keep-alive). */
  readonly keepaliveMs: number;
}

export interface DisplayStats {
  /** Frames sent (a frame is everything up to one `sync`). */
  frames: number;
  /** Bytes of instructions sent for frames. */
  bytes: number;
  /** Frames skipped because the client lagged. */
  throttled: number;
  /** CPU time spent encoding, in microseconds (user + system of this process while encoding). */
  encodeMicros: number;
}

export interface DisplaySink {
  /** Sends text to the client; false when the socket's buffer is full (the frame loop then waits). */
  send(text: string): boolean;
  /** The client stopped answering: end the connection. */
  timeout(message: string): void;
  /** Encoding failed: end the connection. */
  fail(err: Error): void;
  /** A frame with image data went out (for the first-frame measurement). */
  frameSent?(): void;
}

export class Display {
  readonly stats: DisplayStats = { frames: 0, bytes: 0, throttled: 0, encodeMicros: 0 };
  private timer: NodeJS.Timeout | undefined;
  private encoding = false;
  /** Timestamps of frames sent and not yet answered, oldest first. */
  private readonly pending: number[] = [];
  private lastSent = 0;
  private stream = 0;

  constructor(
    private readonly fb: Framebuffer,
    private readonly sink: DisplaySink,
    private readonly options: DisplayOptions,
    /** Image mimetypes the client listed. */
    private readonly accepted: ReadonlySet<string>,
    /** Milliseconds, monotonic. */
    private readonly now: () => number = () => Math.floor(performance.now()),
  ) {}

  start(): void {
    // The client's display starts empty: the first frame is the whole screen.
    this.fb.markDirty({ x: 0, y: 0, width: this.fb.width, height: this.fb.height });
    this.lastSent = this.now();
    this.timer = setInterval(() => void this.tick(), this.options.frameIntervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A `sync` from the client: every frame up to that timestamp has been rendered. */
  ack(timestamp: number): void {
    while (this.pending.length > 0 && (this.pending[0] as number) <= timestamp) this.pending.shift();
  }

  /** Milliseconds the oldest unanswered frame has waited (0 when none). */
  get lag(): number {
    return this.pending.length === 0 ? 0 : this.now() - (this.pending[0] as number);
  }

  async tick(): Promise<void> {
    if (this.encoding || !this.timer) return;
    const lag = this.lag;
    if (lag > this.options.ackTimeoutMs) {
      this.stop();
      this.sink.timeout(`the client acknowledged no frame for ${Math.round(lag / 1000)} s`);
      return;
    }
    const now = this.now();
    if (this.fb.isDirty) {
      if (lag > this.options.maxLagMs) {
        this.stats.throttled++;
        return;
      }
      await this.flush();
    } else if (now - this.lastSent >= this.options.keepaliveMs) {
      this.sendSync(encodeInstruction('sync', this.stamp()), false);
    }
  }

  /** Encodes and sends every dirty region, then `sync`. */
  private async flush(): Promise<void> {
    this.encoding = true;
    try {
      const rects = this.fb.takeDirty();
      const cpu = process.cpuUsage();
      const parts = await Promise.all(
        rects.map(async (r) => {
          const rgba = this.fb.crop(r);
          const mimetype = chooseFormat(rgba, r.width, r.height, this.accepted, this.options);
          const data = await encodeImage(rgba, r.width, r.height, mimetype, this.options);
          return { r, mimetype, data };
        }),
      );
      const used = process.cpuUsage(cpu);
      this.stats.encodeMicros += used.user + used.system;
      if (!this.timer) return;
      let out = '';
      for (const { r, mimetype, data } of parts) {
        this.stream = (this.stream % 64) + 1;
        out += imageInstructions(this.stream, 0, mimetype, r.x, r.y, data);
      }
      out += encodeInstruction('sync', this.stamp());
      this.sendSync(out, true);
    } catch (err) {
      this.stop();
      this.sink.fail(err as Error);
    } finally {
      this.encoding = false;
    }
  }

  private stamp(): number {
    // Strictly increasing, so acknowledgements can be matched to frames.
    const t = Math.max(this.now(), (this.pending.at(-1) ?? 0) + 1);
    this.pending.push(t);
    this.lastSent = t;
    return t;
  }

  private sendSync(text: string, frame: boolean): void {
    if (frame) {
      this.stats.frames++;
      this.stats.bytes += text.length;
    }
    this.sink.send(text);
    if (frame) this.sink.frameSent?.();
  }
}
