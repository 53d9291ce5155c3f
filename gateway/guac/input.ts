/**
 * The canonical form of the two input instructions, `key` and `mouse`, and their values. The tap
 * (what the scorer scores) and the built-in bridge (what the desktop receives) both read input
 * through `readInput`, and the tap refuses what it refuses, so the two can never disagree.
 *
 * Why one strict spelling: guacd 1.6 (guacamole-server src/libguac/user-handlers.c) reads
 *   __guac_handle_key:   atoi(argv[0]) keysym, atoi(argv[1]) pressed
 *   __guac_handle_mouse: atoi(argv[0]) x, atoi(argv[1]) y, atoi(argv[2]) mask
 * and never checks argc (__guac_user_call_opcode_handler passes parser->argc unread): missing
 * arguments are read from stale parser storage, extra ones are ignored. atoi skips leading white
 * space, takes '+' and '-', stops at the first non-digit ("4.0x74" is 4, "97.9" is 97) and
 * truncates beyond `int` (4294967393 is 97); the bridge used Number() ("0x74" is 116, "9.7e1" is
 * 97). Any spelling other than plain decimal meant one thing to the desktop and another (or
 * nothing) to the scorer. guacamole-common-js 1.5.0 (Guacamole.Client sendKeyEvent,
 * sendMouseState; our page passes 1/0 for pressed) writes exactly this form with String(): so a
 * real browser never sends anything else, and refusing the rest costs a genuine agent nothing.
 *
 * Canonical:
 * - `key`: exactly 2 arguments; keysym 0..0x1FFFFFFF (X11 keysyms are 29 bits; Unicode keysyms
 *   end at 0x0110FFFF), pressed `0` or `1`.
 * - `mouse`: exactly 3 arguments; x and y signed 32-bit (negative while a drag leaves the display,
 *   Math.floor of the pointer position), button mask 0..31 (left, middle, right, wheel up, down).
 * - Decimal digits only, no leading zeros, no '+', '-' only on x and y and never "-0".
 */
import { GuacProtocolError } from './errors.js';
import type { Instruction } from './encoder.js';

export const KEYSYM_MAX = 0x1fffffff;
/** Left, middle, right, wheel up, wheel down. */
export const BUTTON_MASK_MAX = 0b11111;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

export type GuacInput =
  | { readonly kind: 'key'; readonly keysym: number; readonly pressed: boolean }
  | { readonly kind: 'mouse'; readonly x: number; readonly y: number; readonly buttonMask: number };

export type InputResult =
  | { readonly input: GuacInput; readonly error?: undefined }
  | { readonly input?: undefined; readonly error: GuacProtocolError };

/** Unsigned decimal: "0", or a non-zero digit then at most 9 more (the range check follows). */
const UNSIGNED = /^(?:0|[1-9][0-9]{0,9})$/;
/** Signed decimal: as UNSIGNED, with '-' only before a non-zero number. */
const SIGNED = /^(?:0|-?[1-9][0-9]{0,9})$/;

function integer(text: string, pattern: RegExp, min: number, max: number): number | undefined {
  if (!pattern.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}

/** A pointer coordinate in the canonical form of `mouse` x and y; undefined when it is not. */
export function readCoordinate(text: string): number | undefined {
  return integer(text, SIGNED, INT32_MIN, INT32_MAX);
}

/**
 * The values of a `key` or `mouse` instruction in canonical form, an error saying which argument
 * is not, or undefined for any other opcode. Messages name the argument, never its value: a keysym
 * is what was typed.
 */
export function readInput(ins: Instruction): InputResult | undefined {
  const a = ins.args;
  if (ins.opcode === 'key') {
    if (a.length !== 2) return refuse('key', `has ${a.length} arguments; it takes exactly 2 (keysym, pressed)`);
    const keysym = integer(a[0] as string, UNSIGNED, 0, KEYSYM_MAX);
    if (keysym === undefined) return refuse('key', `keysym is not a decimal integer 0..${KEYSYM_MAX} without sign or leading zeros`);
    if (a[1] !== '0' && a[1] !== '1') return refuse('key', 'pressed is not 0 or 1');
    return { input: { kind: 'key', keysym, pressed: a[1] === '1' } };
  }
  if (ins.opcode === 'mouse') {
    if (a.length !== 3) return refuse('mouse', `has ${a.length} arguments; it takes exactly 3 (x, y, button mask)`);
    const x = readCoordinate(a[0] as string);
    const y = readCoordinate(a[1] as string);
    if (x === undefined || y === undefined) return refuse('mouse', `${x === undefined ? 'x' : 'y'} is not a decimal 32-bit integer without '+', leading zeros or "-0"`);
    const buttonMask = integer(a[2] as string, UNSIGNED, 0, BUTTON_MASK_MAX);
    if (buttonMask === undefined) return refuse('mouse', `button mask is not a decimal integer 0..${BUTTON_MASK_MAX} without sign or leading zeros`);
    return { input: { kind: 'mouse', x, y, buttonMask } };
  }
  return undefined;
}

function refuse(opcode: 'key' | 'mouse', what: string): InputResult {
  return {
    error: new GuacProtocolError(
      'non-canonical-input',
      `"${opcode}" ${what}: input must be sent exactly as guacamole-common-js sends it`,
      opcode,
    ),
  };
}
