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
 * - exactly `vdiguard,time,<ms>`; any other `vdiguard` instruction is refused;
 * - `<ms>` a non-negative decimal: no sign, exponent, leading zeros, NaN or Infinity; at most 3
 *   fraction digits, the last not 0 (what `String(Math.round(t * 1000) / 1000)` writes);
 * - below 10^12 ms (31 years since the page loaded: anything larger is no page's clock, and below
 *   it every 0.001 ms step is a distinct double);
 * - one time per input: a second before the `key` or `mouse` it belongs to is refused.
 * A time belongs to the next `key` or `mouse` of the connection, whatever passes between them; a
 * new connection starts without one. Input without a time has no client time (other Guacamole
 * clients keep today's behaviour).
 */
import { GuacProtocolError, type Instruction } from '../guac/index.js';

/** The opcode of the gateway's own instructions, both ways; from the browser it carries only `time`. */
export const EXTENSION_OPCODE = 'vdiguard';

/** Integer part up to 12 digits, then an optional fraction of 1 to 3 digits not ending in 0. */
const CLIENT_TIME = /^(?:0|[1-9][0-9]{0,11})(?:\.[0-9]{0,2}[1-9])?$/;

export class ClientTimes {
  /** The time read for the next input instruction, in ms on the page's clock; undefined: none. */
  private pending: number | undefined;

  /** Reads a `vdiguard` instruction from the browser; an error is fatal. Messages never repeat the value. */
  take(ins: Instruction): GuacProtocolError | undefined {
    if (ins.args[0] !== 'time' || ins.args.length !== 2) {
      return new GuacProtocolError(
        'opcode-not-allowed',
        `instruction "vdiguard" from the browser must be exactly vdiguard,time,<ms> (docs/client-times.md); it had ${ins.args.length} arguments${ins.args[0] === 'time' ? '' : ', the first not "time"'}`,
        EXTENSION_OPCODE,
      );
    }
    if (!CLIENT_TIME.test(ins.args[1] as string)) {
      return badTime('is not a decimal number of milliseconds below 10^12 without sign, exponent or leading zeros, with at most 3 fraction digits and no trailing zero');
    }
    if (this.pending !== undefined) return badTime('follows another time with no key or mouse between them: send one time before each key or mouse');
    this.pending = Number(ins.args[1]);
    return undefined;
  }

  /** The client time of the input instruction just read, if one was sent for it (and it is used up). */
  forInput(): number | undefined {
    const t = this.pending;
    this.pending = undefined;
    return t;
  }

  /** A new connection: a time sent on the last one belongs to nothing. */
  reset(): void {
    this.pending = undefined;
  }
}

function badTime(what: string): GuacProtocolError {
  return new GuacProtocolError('bad-client-time', `vdiguard,time ${what} (docs/client-times.md)`, EXTENSION_OPCODE);
}
