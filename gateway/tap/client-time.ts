/**
 * Client event times (docs/client-times.md): before each `key` or `mouse`, the agent's page sends
 * `vdiguard,time,<ms>`, the event's own time on the page's clock, which the tap attaches to that
 * input's event (`InputEvent.clientTimeMs`) and never forwards. This module reads those
 * instructions and holds the time until the input it belongs to; it keeps one number, never what
 * was typed.
 *
 * The tap does not judge the time: it is the client's claim, and the scorer's rule
 * (scorer/timing/client-times.ts) decides against arrival whether to use it, counting what is
 * inconsistent as evidence. Here only the form is enforced, as strictly as `key` and `mouse`
 * (gateway/guac/input.ts), so that one value has one spelling and a refusal is unambiguous:
 * - exactly `vdiguard,time,<ms>` (or a sample, below); any other `vdiguard` instruction is refused;
 * - `<ms>` a non-negative decimal: no sign, exponent, leading zeros, NaN or Infinity; at most 3
 *   fraction digits, the last not 0 (what `String(Math.round(t * 1000) / 1000)` writes);
 * - below 10^12 ms (31 years since the page loaded: anything larger is no page's clock, and below
 *   it every 0.001 ms step is a distinct double);
 * - one time per input: a second before the `key` or `mouse` it belongs to is refused.
 * A time belongs to the next `key` or `mouse` of the connection, whatever passes between them; a
 * new connection starts without one. Input without a time has no client time (other Guacamole
 * clients keep today's behaviour).
 *
 * Timing-only samples, `vdiguard,sample,<ms>,<x>,<y>`: the points of the pointer's full-rate path
 * that the browser coalesced into the `mouse` that follows (getCoalescedEvents()), sent before that
 * mouse's time. They never reach the desktop; the scorer's mouse features measure them. The browser
 * is the adversary's, so what a sample may claim is bounded by what the desktop really receives:
 * - the form as strict as `time` (same `<ms>`) and `mouse` (x, y canonical 32-bit integers);
 * - samples, then the mouse's time, then the mouse: a key after a sample, a mouse without a time
 *   after samples, or a sample after the time is refused. The page sends them together from one
 *   event handler; instructions that are not input may pass between, as between a time and its input;
 * - at most MAX_SAMPLES_PER_MOVE before one mouse; times non-decreasing, none after the mouse's;
 * - positions clamped into the rectangle spanned by the previous mouse of the connection and this
 *   one. Clamped, not refused: a real pointer overshoots within a frame (it passes the point where
 *   the frame ends and comes back), and refusing that would end honest sessions; clamped, a forged
 *   path can only change the shape of the move between two positions the scorer also sees;
 * - before the connection's first mouse there is no rectangle: such samples are read and dropped.
 */
import { GuacProtocolError, readCoordinate, type GuacInput, type Instruction } from '../guac/index.js';

/** The opcode of the gateway's own instructions, both ways; from the browser it carries `time` and `sample`. */
export const EXTENSION_OPCODE = 'vdiguard';

/**
 * The most samples before one mouse: a 1000 Hz mouse coalesced into a 60 Hz frame gives 16 or 17;
 * twice that leaves room for a frame dispatched late. The page sends the latest ones when it has more.
 */
export const MAX_SAMPLES_PER_MOVE = 32;

/** A timing-only sample as the scorer receives it: clamped, with the mask of the buttons held during it. */
export interface Sample {
  /** Arrival of the message that held it, ms on the tap's clock. */
  readonly arrivalMs: number;
  /** Its time on the page's clock, ms. */
  readonly clientTimeMs: number;
  /** Remote-display pixels. */
  readonly x: number;
  readonly y: number;
  /** The buttons (left, middle, right) of the mouse before it: a sample never presses or releases. */
  readonly buttonMask: number;
}

/** What the page sent for one input instruction. */
export interface InputTimes {
  /** Its time on the page's clock, ms; undefined when none was sent. */
  readonly clientTimeMs: number | undefined;
  /** The samples before it, in order (only ever before a mouse). */
  readonly samples: readonly Sample[];
}

const NO_SAMPLES: readonly Sample[] = [];
/** The left, middle and right buttons: the wheel's bits are clicks, never held during a move. */
const HELD_BUTTONS = 1 | 2 | 4;

/** Integer part up to 12 digits, then an optional fraction of 1 to 3 digits not ending in 0. */
const CLIENT_TIME = /^(?:0|[1-9][0-9]{0,11})(?:\.[0-9]{0,2}[1-9])?$/;

export class ClientTimes {
  /** The time read for the next input instruction, in ms on the page's clock; undefined: none. */
  private pending: number | undefined;
  /** Samples read for the next mouse, as claimed (positions not yet clamped). */
  private samples: { arrivalMs: number; clientTimeMs: number; x: number; y: number }[] = [];
  /** The connection's last mouse: one corner of the rectangle its next samples are clamped into. */
  private lastMouse: { x: number; y: number; buttonMask: number } | undefined;

  /**
   * Reads a `vdiguard` instruction from the browser that arrived at `arrivalMs`; an error is fatal.
   * Messages never repeat the value.
   */
  take(ins: Instruction, arrivalMs: number): GuacProtocolError | undefined {
    const a = ins.args;
    if (a[0] === 'sample' && a.length === 4) return this.takeSample(a[1] as string, a[2] as string, a[3] as string, arrivalMs);
    if (a[0] !== 'time' || a.length !== 2) {
      return new GuacProtocolError(
        'opcode-not-allowed',
        `instruction "vdiguard" from the browser must be exactly vdiguard,time,<ms> or vdiguard,sample,<ms>,<x>,<y> (docs/client-times.md); it had ${a.length} arguments${a[0] === 'time' || a[0] === 'sample' ? '' : ', the first neither "time" nor "sample"'}`,
        EXTENSION_OPCODE,
      );
    }
    if (!CLIENT_TIME.test(a[1] as string)) {
      return badTime('is not a decimal number of milliseconds below 10^12 without sign, exponent or leading zeros, with at most 3 fraction digits and no trailing zero');
    }
    if (this.pending !== undefined) return badTime('follows another time with no key or mouse between them: send one time before each key or mouse');
    this.pending = Number(a[1]);
    return undefined;
  }

  /**
   * The client time of the input instruction just read, if one was sent for it, and the samples
   * before it (both are used up); an error (fatal) when samples were sent and this is not their mouse.
   */
  forInput(input: GuacInput): InputTimes | GuacProtocolError {
    const clientTimeMs = this.pending;
    this.pending = undefined;
    if (input.kind !== 'mouse') {
      if (this.samples.length > 0) return badSample('was followed by a key: samples are sent only before the mouse they precede');
      return { clientTimeMs, samples: NO_SAMPLES };
    }
    const previous = this.lastMouse;
    this.lastMouse = { x: input.x, y: input.y, buttonMask: input.buttonMask & HELD_BUTTONS };
    if (this.samples.length === 0) return { clientTimeMs, samples: NO_SAMPLES };
    const claimed = this.samples;
    this.samples = [];
    if (clientTimeMs === undefined) return badSample('was followed by a mouse without its time: send the samples, then vdiguard,time, then the mouse');
    if ((claimed[claimed.length - 1] as { clientTimeMs: number }).clientTimeMs > clientTimeMs) return badSample('is later than the time of the mouse it precedes');
    if (previous === undefined) return { clientTimeMs, samples: NO_SAMPLES };
    const [x0, x1] = previous.x <= input.x ? [previous.x, input.x] : [input.x, previous.x];
    const [y0, y1] = previous.y <= input.y ? [previous.y, input.y] : [input.y, previous.y];
    const samples = claimed.map((s) => ({
      arrivalMs: s.arrivalMs,
      clientTimeMs: s.clientTimeMs,
      x: Math.min(x1, Math.max(x0, s.x)),
      y: Math.min(y1, Math.max(y0, s.y)),
      buttonMask: previous.buttonMask,
    }));
    return { clientTimeMs, samples };
  }

  /** A new connection: a time or samples sent on the last one belong to nothing, and no mouse is known. */
  reset(): void {
    this.pending = undefined;
    this.samples = [];
    this.lastMouse = undefined;
  }

  private takeSample(ms: string, xText: string, yText: string, arrivalMs: number): GuacProtocolError | undefined {
    if (!CLIENT_TIME.test(ms)) return badSample('time is not a decimal number of milliseconds in the form of vdiguard,time');
    const x = readCoordinate(xText);
    const y = readCoordinate(yText);
    if (x === undefined || y === undefined) return badSample(`${x === undefined ? 'x' : 'y'} is not a decimal 32-bit integer without '+', leading zeros or "-0"`);
    if (this.pending !== undefined) return badSample('follows the time of its mouse: send the samples, then vdiguard,time, then the mouse');
    if (this.samples.length === MAX_SAMPLES_PER_MOVE) return badSample(`is one more than the ${MAX_SAMPLES_PER_MOVE} a mouse may have`);
    const clientTimeMs = Number(ms);
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && clientTimeMs < last.clientTimeMs) return badSample('is earlier than the sample before it');
    this.samples.push({ arrivalMs, clientTimeMs, x, y });
    return undefined;
  }
}

function badTime(what: string): GuacProtocolError {
  return new GuacProtocolError('bad-client-time', `vdiguard,time ${what} (docs/client-times.md)`, EXTENSION_OPCODE);
}

function badSample(what: string): GuacProtocolError {
  return new GuacProtocolError('bad-client-sample', `vdiguard,sample ${what} (docs/client-times.md)`, EXTENSION_OPCODE);
}
