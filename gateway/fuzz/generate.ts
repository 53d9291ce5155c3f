/**
 * The fuzz's input: Guacamole instructions written with the real encoder (gateway/guac), then
 * broken at the byte level the way a hostile client would (wrong lengths, missing ';', huge
 * lengths, invalid UTF-8, NUL, surrogate halves, instructions nested in values), and cut into
 * chunks at arbitrary places. Pure and seeded: case `index` of run `seed` is always the same input,
 * so a crash or hang is saved by regenerating it, and repeated with `--seed`.
 */
import { seededRandom } from '../../lib/random.js';
import { encodeInstruction } from '../guac/encoder.js';

export class Rng {
  readonly next: () => number;

  constructor(seed: number) {
    this.next = seededRandom(seed);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

/** The generator of case `index` of run `seed`: independent of every other case. */
export function caseRng(seed: number, index: number): Rng {
  return new Rng(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35));
}

/** One piece of input as the client sends it: text (a WebSocket text message) or bytes. */
export type Wire = string | Buffer;

const NUMBERS = ['0', '1', '-1', '65', '65307', '4294967295', '4294967296', '-2147483649', '9999999999', '1e3', '0x41', ' 65', '+65',
  '65 ', '1.5', 'NaN', 'Infinity', '-0', '00065', '', '１２'];
const TEXTS = ['', 'a', 'rdp', 'vnc', '$abc', 'VERSION_1_5_0', 'VERSION_9_9', 'VERSION_x', 'image/png', 'audio/L16', 'UTC', 'ping',
  'a,b;c.d', '1.2', '\0', 'héllo', '日本', '😀', '\ud800', '\udc00', '\ud800a', '3.key,1.1,1.1;', '.', ';', ','];
const OPCODES = ['key', 'mouse', 'size', 'sync', 'nop', 'disconnect', '', 'clipboard', 'blob', 'end', 'ack', 'argv', 'file', 'pipe',
  'touch', 'audio', 'video', 'image', 'timezone', 'name', 'select', 'connect', 'args', 'error', 'ready', 'KEY', 'key ', 'mouse\0'];

/** A plausible argument: numbers of every spelling, text of every kind, sometimes long. */
export function arg(rng: Rng): string {
  switch (rng.int(8)) {
    case 0: return String(rng.int(65536));
    case 1: return String(rng.int(0x1000000) - 0x800000);
    case 2: return rng.pick(NUMBERS);
    case 3: return rng.pick(TEXTS);
    case 4: return randomText(rng, rng.int(16));
    case 5: return rng.chance(0.9) ? randomText(rng, rng.int(200)) : 'x'.repeat(rng.pick([8191, 8192, 8193, 20000]));
    default: return String(rng.int(2));
  }
}

/** Text from every plane: ASCII, Latin-1, CJK, astral pairs, lone surrogate halves, NUL, controls. */
export function randomText(rng: Rng, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) {
    switch (rng.int(10)) {
      case 0: s += String.fromCharCode(0xd800 + rng.int(0x800)); break;
      case 1: s += String.fromCodePoint(0x10000 + rng.int(0x100000)); break;
      case 2: s += String.fromCharCode(0x80 + rng.int(0xd800 - 0x80)); break;
      case 3: s += String.fromCharCode(rng.int(0x20)); break;
      case 4: s += rng.pick([',', ';', '.', '0', '9']); break;
      default: s += String.fromCharCode(0x20 + rng.int(0x5f));
    }
  }
  return s;
}

/**
 * A well-formed instruction with arguments that may be anything; `withinLimits` keeps it under
 * guacd's limits (8192 characters, 128 elements), so that a receiver keeps the stream open.
 */
export function instruction(rng: Rng, withinLimits = false): string {
  const opcode = rng.chance(0.9) ? rng.pick(OPCODES) : randomText(rng, rng.int(8));
  const n = withinLimits || rng.chance(0.95) ? rng.int(5) : rng.int(140);
  const args: string[] = [];
  for (let i = 0; i < n; i++) args.push(withinLimits ? arg(rng).slice(0, 1000) : arg(rng));
  return encodeInstruction(opcode, ...args);
}

/** A `key` or `mouse` a browser could send, or one of its lying spellings. */
/**
 * A key or mouse instruction. `canonical`: only what guacamole-common-js sends (keysyms in range,
 * plain decimal numbers), so that it passes the input rules and reaches the desktop.
 */
export function inputInstruction(rng: Rng, options: { avoidEnter?: boolean; canonical?: boolean } = {}): string {
  const odd = (p: number) => !options.canonical && rng.chance(p);
  if (rng.chance(0.5)) {
    let keysym = rng.chance(0.7) ? 0x20 + rng.int(0x5f) : rng.pick([0xff08, 0xff09, 0xff1b, 0xffe1, 0xffe3, 0xffe9, 0xff51, 0xffbe, 0x1000000 + rng.int(0x110000), options.canonical ? 0xffff : rng.int(2 ** 32)]);
    if (options.avoidEnter && ENTER_KEYSYMS.includes(keysym)) keysym = 0x20;
    return encodeInstruction('key', odd(0.1) ? rng.pick(NUMBERS) : keysym, odd(0.05) ? arg(rng).slice(0, 64) : rng.int(2));
  }
  const coordinate = () => (odd(0.1) ? rng.pick(NUMBERS) : options.canonical ? rng.int(1080) : rng.int(1100) - 20);
  return encodeInstruction('mouse', coordinate(), coordinate(), odd(0.1) ? rng.pick(NUMBERS) : rng.int(32));
}

/**
 * The page's client time before an input (docs/client-times.md), a timing-only sample of a
 * coalesced move, or one of their lying spellings or sub-opcodes.
 */
export function timeInstruction(rng: Rng): string {
  const ms = rng.chance(0.8) ? String(Math.round(rng.next() * 1e12) / 1000) : rng.pick([...NUMBERS, '1.0', '1.2345', '.5', '5.', '1000000000000']);
  if (rng.chance(0.25)) {
    const coordinate = () => (rng.chance(0.9) ? rng.int(1100) - 20 : rng.pick(NUMBERS));
    const points = Array.from({ length: rng.chance(0.95) ? 1 + rng.int(20) : 33 }, (_, i) => [String(Number(ms) + i), coordinate(), coordinate()]).flat();
    return encodeInstruction('vdiguard', 'samples', ...(rng.chance(0.95) ? points : points.slice(1)));
  }
  return rng.chance(0.95) ? encodeInstruction('vdiguard', 'time', ms) : encodeInstruction('vdiguard', rng.pick(['time', 'session', '']), ...(rng.chance(0.5) ? [] : [ms, ms]));
}

/** Return, KP_Enter, Linefeed: the live session's shell must not run what the fuzz typed. */
const ENTER_KEYSYMS = [0xff0d, 0xff8d, 0xff0a];

/** Breaks an encoded instruction at the byte level; often it stays text, sometimes it becomes bytes. */
export function mutate(rng: Rng, wire: string): Wire {
  const at = rng.int(wire.length + 1);
  switch (rng.int(12)) {
    case 0: return wire.replace(/^\d+/, (n) => String(Math.max(0, Number(n) + rng.int(5) - 2)));
    case 1: return wire.replace(/,(\d+)\./, (_, n: string) => `,${Math.max(0, Number(n) + rng.int(7) - 3)}.`);
    case 2: return wire.endsWith(';') ? wire.slice(0, -1) : wire;
    case 3: return wire.slice(0, at) + rng.pick([';', ',', '.', '', '-', ' ']) + wire.slice(at + rng.int(2));
    case 4: return wire.replace(/\d+\./, rng.pick(['99999999999.', '4294967296.', '9999999999.', '2147483648.', '0000000001.', '.', '-1.']));
    case 5: return Buffer.concat([Buffer.from(wire.slice(0, at)), rng.pick(BAD_UTF8), Buffer.from(wire.slice(at))]);
    case 6: return wire.slice(0, at) + '\0' + wire.slice(at);
    case 7: return wire.slice(0, at) + rng.pick(['\ud800', '\udc00', '\udbff\udbff', '\udc00\ud800']) + wire.slice(at);
    case 8: return wire.slice(0, at) + encodeInstruction('key', 65, 1) + wire.slice(at);
    case 9: return wire.slice(0, at);
    case 10: return wire.repeat(2 + rng.int(3));
    default: {
      const b = Buffer.from(wire);
      if (b.length > 0) b[rng.int(b.length)] = rng.int(256);
      return b;
    }
  }
}

/** Bytes no valid UTF-8 stream holds: lone continuation, overlong, surrogate in UTF-8 (CESU), > U+10FFFF, truncated. */
const BAD_UTF8 = [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe6, 0x97], [0xff], [0xfe, 0xff]].map((b) => Buffer.from(b));

/** Joins pieces into one wire form: text stays text unless a piece is bytes. */
export function join(pieces: readonly Wire[]): Wire {
  if (pieces.every((p) => typeof p === 'string')) return (pieces as string[]).join('');
  return Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
}

/** The bytes a socket carries for `wire` (a lone surrogate half in text becomes U+FFFD). */
export function toBytes(wire: Wire): Buffer {
  return typeof wire === 'string' ? Buffer.from(wire) : wire;
}

/** Cuts the input at arbitrary places: inside length prefixes, UTF-8 sequences and surrogate pairs too. */
export function chunks(rng: Rng, wire: Wire): Wire[] {
  const out: Wire[] = [];
  let at = 0;
  while (at < wire.length) {
    const size = rng.chance(0.3) ? 1 + rng.int(4) : 1 + rng.int(rng.chance(0.5) ? 64 : 4096);
    out.push(wire.slice(at, at + size));
    at += size;
  }
  return out;
}

/** A stream of `count` instructions, most well-formed, some broken, as one wire form. */
export function stream(rng: Rng, count: number, mutationRate: number): Wire {
  const pieces: Wire[] = [];
  for (let i = 0; i < count; i++) {
    const wire = rng.chance(0.2) ? timeInstruction(rng) : rng.chance(0.5) ? inputInstruction(rng) : instruction(rng);
    pieces.push(rng.chance(mutationRate) ? mutate(rng, wire) : wire);
  }
  return join(pieces);
}
