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
 * Timing-only samples, `vdiguard,samples,<ms>,<x>,<y>[,<ms>,<x>,<y>...]`: the points of the
 * pointer's full-rate path that the browser coalesced into the `mouse` that follows
 * (getCoalescedEvents()), in one instruction sent before that mouse's time. They never reach the
 * desktop; the scorer's mouse features measure them. One instruction per move, not one per point: a
 * point then costs the tap the ~26 characters of its three values (a parser reading them at ~20 ns a
 * character), not a 47-character instruction in a WebSocket message of its own. The browser is the
 * adversary's, so what a sample may claim is bounded by what the desktop really receives:
 * - the form as strict as `time` (each `<ms>`) and `mouse` (x, y canonical 32-bit integers);
 * - one instruction of samples, then the mouse's time, then the mouse: a second before the mouse, a
 *   key after samples, a mouse without a time after them, or samples after the time are refused.
 *   The page sends them together from one event handler; instructions that are not input may pass
 *   between, as between a time and its input;
 * - 1 to MAX_SAMPLES_PER_MOVE points; times non-decreasing, none after the mouse's;
 * - positions clamped into the rectangle spanned by the previous mouse of the connection and this
 *   one. Clamped, not refused: a real pointer overshoots within a frame (it passes the point where
 *   the frame ends and comes back), and refusing that would end honest sessions; clamped, a forged
 *   path can only change the shape of the move between two positions the scorer also sees;
 * - before the connection's first mouse there is no rectangle: such samples are read and dropped.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { GuacProtocolError, readCoordinate, type GuacInput, type Instruction } from '../guac/index.js';

/** The opcode of the gateway's own instructions, both ways; from the browser it carries `time` and `samples`. */
export const EXTENSION_OPCODE = 'vdiguard';

/**
 * The most samples before one mouse: a 1000 Hz mouse coalesced into a 60 Hz frame gives 16 or 17;
 * twice that leaves room for a frame dispatched late. The page sends the latest ones when it has more.
 */
export const MAX_SAMPLES_PER_MOVE = 32;

const NO_SAMPLES: readonly InputEvent[] = [];
/** The left, middle and right buttons: the wheel's bits are clicks, never held during a move. */
const HELD_BUTTONS = 1 | 2 | 4;

/** Integer part up to 12 digits, then an optional fraction of 1 to 3 digits not ending in 0. */
const CLIENT_TIME = /^(?:0|[1-9][0-9]{0,11})(?:\.[0-9]{0,2}[1-9])?$/;

export class ClientTimes {
  /** The time read for the next input instruction, in ms on the page's clock; undefined: none. */
  private pending: number | undefined;
  /** The samples read for the next mouse, as claimed: [ms, x, y] of each, flat; empty: none. */
  private claimed: number[] = [];
  /** When the samples arrived, ms on the tap's clock. */
  private claimedAt = 0;
  /** The connection's last mouse (one corner of the rectangle its next samples are clamped into); NaN: none yet. */
  private lastX = Number.NaN;
  private lastY = Number.NaN;
  /** Its left, middle and right buttons. */
  private lastButtons = 0;

  /**
   * Reads a `vdiguard` instruction from the browser that arrived at `arrivalMs`; an error is fatal.
   * Messages never repeat the value.
   */
  take(ins: Instruction, arrivalMs: number): GuacProtocolError | undefined {
    const a = ins.args;
    if (a[0] === 'samples') return this.takeSamples(a, arrivalMs);
    if (a[0] !== 'time' || a.length !== 2) {
      return new GuacProtocolError(
        'opcode-not-allowed',
        `instruction "vdiguard" from the browser must be exactly vdiguard,time,<ms> or vdiguard,samples,<ms>,<x>,<y>... (docs/client-times.md); it had ${a.length} arguments${a[0] === 'time' ? '' : ', the first neither "time" nor "samples"'}`,
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
   * The samples sent before the input instruction just read (used up), clamped, in order, as the
   * timing-only mouse moves the scorer receives: stamped with the arrival of the message that held
   * them (all the samples of a move arrive together), with the buttons of the mouse before them (a
   * sample never presses or releases). Only ever before a mouse with its time; an error (fatal)
   * when samples were sent and this is not their mouse. Call before forInput(), which uses up the
   * time they are checked against.
   */
  samplesBefore(input: GuacInput): readonly InputEvent[] | GuacProtocolError {
    const claimed = this.claimed;
    if (input.kind !== 'mouse') return claimed.length > 0 ? badSamples('were followed by a key: samples are sent only before the mouse they precede') : NO_SAMPLES;
    const [px, py, buttonMask] = [this.lastX, this.lastY, this.lastButtons];
    this.lastX = input.x;
    this.lastY = input.y;
    this.lastButtons = input.buttonMask & HELD_BUTTONS;
    if (claimed.length === 0) return NO_SAMPLES;
    this.claimed = [];
    const clientTimeMs = this.pending;
    if (clientTimeMs === undefined) return badSamples('were followed by a mouse without its time: send the samples, then vdiguard,time, then the mouse');
    if ((claimed[claimed.length - 3] as number) > clientTimeMs) return badSamples('end later than the time of the mouse they precede');
    if (Number.isNaN(px)) return NO_SAMPLES;
    const [x0, x1] = px <= input.x ? [px, input.x] : [input.x, px];
    const [y0, y1] = py <= input.y ? [py, input.y] : [input.y, py];
    const samples: InputEvent[] = [];
    for (let i = 0; i < claimed.length; i += 3) {
      const x = Math.min(x1, Math.max(x0, claimed[i + 1] as number));
      const y = Math.min(y1, Math.max(y0, claimed[i + 2] as number));
      samples.push({ timeMs: this.claimedAt, kind: { $case: 'mouse', value: { x, y, buttonMask } }, clientTimeMs: claimed[i] as number, timingOnly: true });
    }
    return samples;
  }

  /** The client time of the input instruction just read, if one was sent for it (and it is used up). */
  forInput(): number | undefined {
    const t = this.pending;
    this.pending = undefined;
    return t;
  }

  /** A new connection: a time or samples sent on the last one belong to nothing, and no mouse is known. */
  reset(): void {
    this.pending = undefined;
    this.claimed = [];
    this.lastX = Number.NaN;
    this.lastY = Number.NaN;
  }

  /** Reads `samples,<ms>,<x>,<y>...` (the instruction's arguments). */
  private takeSamples(a: readonly string[], arrivalMs: number): GuacProtocolError | undefined {
    const n = (a.length - 1) / 3;
    if (!Number.isInteger(n) || n < 1 || n > MAX_SAMPLES_PER_MOVE) return badSamples(`must be 1 to ${MAX_SAMPLES_PER_MOVE} points of three values <ms>,<x>,<y>; it had ${a.length - 1} values`);
    if (this.pending !== undefined) return badSamples('follow the time of their mouse: send the samples, then vdiguard,time, then the mouse');
    if (this.claimed.length > 0) return badSamples('follow other samples with no mouse between them: send one vdiguard,samples before a mouse');
    const claimed: number[] = [];
    let last = 0;
    for (let i = 1; i < a.length; i += 3) {
      if (!CLIENT_TIME.test(a[i] as string)) return badSamples('have a time that is not a decimal number of milliseconds in the form of vdiguard,time');
      const t = Number(a[i]);
      const x = readCoordinate(a[i + 1] as string);
      const y = readCoordinate(a[i + 2] as string);
      if (x === undefined || y === undefined) return badSamples(`have ${x === undefined ? 'an x' : 'a y'} that is not a decimal 32-bit integer without '+', leading zeros or "-0"`);
      if (t < last) return badSamples('go back in time: each point\'s time must not be earlier than the one before');
      last = t;
      claimed.push(t, x, y);
    }
    this.claimed = claimed;
    this.claimedAt = arrivalMs;
    return undefined;
  }
}

function badTime(what: string): GuacProtocolError {
  return new GuacProtocolError('bad-client-time', `vdiguard,time ${what} (docs/client-times.md)`, EXTENSION_OPCODE);
}

function badSamples(what: string): GuacProtocolError {
  return new GuacProtocolError('bad-client-sample', `vdiguard,samples ${what} (docs/client-times.md)`, EXTENSION_OPCODE);
}
