/**
 * Differential test of the tap (issue 17): whatever a hostile browser sends, the input the desktop
 * side decodes from what the tap forwards equals, event for event, what the tap mirrored to the
 * scorer. The desktop side is decoded twice: by guacd's rules (a model of guacamole-server
 * src/libguac/user-handlers.c: __guac_handle_key and __guac_handle_mouse read argv[0..1] and
 * argv[0..2] with C atoi and never check argc) and by the built-in bridge's own parser (GuacParser
 * and readInput, as gateway/bridge/connection.ts uses them). An independent oracle (BigInt, not the
 * regular expressions of gateway/guac/input.ts) says which instructions are canonical: a stream
 * holding a non-canonical one must end there, with nothing after it forwarded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { encode, GuacParser, readInput, type Instruction } from '../guac/index.js';
import { InputTap } from './tap.js';

type Event = { key: number; pressed: boolean } | { x: number; y: number; mask: number };

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/**
 * glibc atoi: (int) strtol(s, NULL, 10). Leading isspace() skipped, one optional sign, decimal
 * digits up to the first other character (a NUL ends the C string too), clamped to `long` (64 bits)
 * on overflow, then converted to a 32-bit int by dropping the high bits (gcc's conversion).
 */
function atoi(s: string): number {
  let i = 0;
  while (i < s.length && ' \t\n\v\f\r'.includes(s[i] as string)) i++;
  let negative = false;
  if (s[i] === '+' || s[i] === '-') negative = s[i++] === '-';
  let n = 0n;
  for (; i < s.length && s[i]! >= '0' && s[i]! <= '9'; i++) {
    n = n * 10n + BigInt(s.charCodeAt(i) - 48);
    if (n > LONG_MAX + 1n) break;
  }
  let v = negative ? -n : n;
  if (v > LONG_MAX) v = LONG_MAX;
  if (v < LONG_MIN) v = LONG_MIN;
  return Number(BigInt.asIntN(32, v));
}

/** What guacd does with one instruction: the input event, or 'undefined' where it reads argv past argc. */
function guacdInput(ins: Instruction): Event | 'undefined' | undefined {
  const a = ins.args;
  if (ins.opcode === 'key') return a.length < 2 ? 'undefined' : { key: atoi(a[0]!), pressed: atoi(a[1]!) !== 0 };
  if (ins.opcode === 'mouse') return a.length < 3 ? 'undefined' : { x: atoi(a[0]!), y: atoi(a[1]!), mask: atoi(a[2]!) };
  return undefined;
}

/** What the bridge does with one instruction: the input event, 'abort', or undefined for other opcodes. */
function bridgeInput(ins: Instruction): Event | 'abort' | undefined {
  const r = readInput(ins);
  if (r === undefined) return undefined;
  if (r.error) return 'abort';
  const i = r.input;
  return i.kind === 'key' ? { key: i.keysym, pressed: i.pressed } : { x: i.x, y: i.y, mask: i.buttonMask };
}

function mirrored(e: InputEvent): Event {
  if (e.kind?.$case === 'key') return { key: e.kind.value.keysym, pressed: e.kind.value.pressed };
  if (e.kind?.$case === 'mouse') return { x: e.kind.value.x, y: e.kind.value.y, mask: e.kind.value.buttonMask };
  throw new Error('an event without a kind');
}

/** The oracle: plain decimal, as BigInt prints it (no '+', no leading zeros, no "-0"), within range. */
function canonical(s: string | undefined, min: bigint, max: bigint): boolean {
  if (s === undefined || !/^-?[0-9]+$/.test(s)) return false;
  const n = BigInt(s);
  return String(n) === s && n >= min && n <= max;
}

const ALLOWED = new Set(['key', 'mouse', 'sync', 'nop', 'size', 'disconnect', 'ack', '']);
const INT32 = [-(2n ** 31n), 2n ** 31n - 1n] as const;

function acceptable(ins: Instruction): boolean {
  const a = ins.args;
  if (ins.opcode === 'key') return a.length === 2 && canonical(a[0], 0n, 0x1fffffffn) && canonical(a[1], 0n, 1n);
  if (ins.opcode === 'mouse') return a.length === 3 && canonical(a[0], ...INT32) && canonical(a[1], ...INT32) && canonical(a[2], 0n, 31n);
  return ALLOWED.has(ins.opcode);
}

/** Spellings of a number: the canonical one, and what atoi, Number() or a sloppy parser would also take. */
const spelling = (n: fc.Arbitrary<bigint>): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: n.map(String) },
    {
      weight: 4,
      arbitrary: fc.tuple(n, fc.constantFrom('0', '00', '+', ' ', '\t', '\n', '-', '0x', '+0', '-0', ''), fc.constantFrom('', '.0', '.9', 'e0', 'e1', 'x', ' ', '\0', '\0' + '1', '.', 'n', '٧')).map(([v, pre, post]) => {
        const body = pre === '0x' ? (v < 0n ? -v : v).toString(16) : String(v);
        return pre + body + post;
      }),
    },
    { weight: 1, arbitrary: fc.constantFrom('', '-0', '0', '1', '-', '+', '0x', 'NaN', 'Infinity', '1e3', '4294967296', '4294967393', '9223372036854775808', '٩٧', '１') },
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  );

const keysym = spelling(fc.oneof(fc.bigInt({ min: 0n, max: 0x1fffffffn }), fc.bigInt({ min: -(2n ** 40n), max: 2n ** 70n }), fc.constantFrom(97n, 65307n, 0x1fffffffn, 0x20000000n, 2n ** 32n + 97n)));
const pressed = fc.oneof({ weight: 8, arbitrary: fc.constantFrom('0', '1') }, { weight: 2, arbitrary: spelling(fc.bigInt({ min: -3n, max: 3n })) });
const coordinate = spelling(fc.oneof(fc.bigInt({ min: -2000n, max: 5000n }), fc.bigInt({ min: -(2n ** 33n), max: 2n ** 33n }), fc.constantFrom(...INT32, INT32[0] - 1n, INT32[1] + 1n)));
const mask = spelling(fc.oneof(fc.bigInt({ min: 0n, max: 31n }), fc.bigInt({ min: -40n, max: 2n ** 34n })));

/** The same elements, or one dropped, or one too many. */
const argc = (args: fc.Arbitrary<string[]>): fc.Arbitrary<string[]> =>
  fc.tuple(args, fc.constantFrom('keep', 'keep', 'keep', 'keep', 'drop', 'extra'), fc.string({ maxLength: 4 })).map(([a, how, extra]) =>
    how === 'drop' ? a.slice(0, -1) : how === 'extra' ? [...a, extra] : a,
  );

/** Mostly what a real browser sends, so that streams run long before (or without) a refusal. */
const instruction: fc.Arbitrary<Instruction> = fc.oneof(
  { weight: 12, arbitrary: fc.tuple(fc.integer({ min: 0, max: 0x1fffffff }), fc.constantFrom('0', '1')).map(([k, p]) => ({ opcode: 'key', args: [String(k), p] })) },
  { weight: 12, arbitrary: fc.tuple(fc.integer(), fc.integer(), fc.integer({ min: 0, max: 31 })).map((a) => ({ opcode: 'mouse', args: a.map(String) })) },
  { weight: 2, arbitrary: argc(fc.tuple(keysym, pressed)).map((args) => ({ opcode: 'key', args })) },
  { weight: 2, arbitrary: argc(fc.tuple(coordinate, coordinate, mask)).map((args) => ({ opcode: 'mouse', args })) },
  {
    weight: 6,
    arbitrary: fc.constantFrom<Instruction>(
      { opcode: 'sync', args: ['1234'] },
      { opcode: 'nop', args: [] },
      { opcode: 'size', args: ['1280', '720'] },
      { opcode: 'ack', args: ['1', 'Clipboard unsupported', '256'] },
      { opcode: '', args: ['ping', '1712345678901'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      opcode: fc.oneof(fc.constantFrom('touch', 'clipboard', 'blob', 'end', 'file', 'pipe', 'argv', 'audio', 'put', 'get', 'select', 'connect', 'KEY', 'key ', 'mouse\0'), fc.string({ maxLength: 8 })),
      args: fc.array(fc.oneof(keysym, fc.string({ maxLength: 8 })), { maxLength: 7 }),
    }),
  },
  { weight: 1, arbitrary: fc.constantFrom<Instruction>({ opcode: 'disconnect', args: [] }) },
);

/** A stream of instructions, as bytes cut at arbitrary points (inside lengths and multi-byte characters too). */
const stream = fc.tuple(fc.array(instruction, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 8 })).map(([list, cuts]) => {
  const bytes = Buffer.from(list.map(encode).join(''), 'utf8');
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let last = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(last, p));
    last = p;
  }
  return { list, chunks };
});

function run(chunks: Buffer[]): { ended: boolean; events: Event[]; desktop: Instruction[] } {
  const events: Event[] = [];
  const tap = new InputTap({ clock: () => 0, onInput: (e) => events.push(mirrored(e)) > 0 });
  const forwarded: Buffer[] = [];
  let ended = false;
  for (const chunk of chunks) {
    const r = tap.push(chunk);
    if (r.error) {
      ended = true;
      break;
    }
    if (r.forward !== null) forwarded.push(Buffer.from(r.forward));
  }
  const desktop: Instruction[] = [];
  for (const r of new GuacParser().push(Buffer.concat(forwarded))) {
    assert.ok(r.instruction, `the desktop side parses what the tap forwarded: ${r.error?.message}`);
    desktop.push(r.instruction);
  }
  return { ended, events, desktop };
}

test('property: what guacd and the bridge decode from the forwarded bytes is what the tap mirrored, event for event', () => {
  fc.assert(
    fc.property(stream, ({ list, chunks }) => {
      const { ended, events, desktop } = run(chunks);
      const byGuacd = desktop.map(guacdInput).filter((e) => e !== undefined);
      const byBridge = desktop.map(bridgeInput).filter((e) => e !== undefined);
      assert.deepEqual(byGuacd, events, 'guacd types exactly what was scored');
      assert.deepEqual(byBridge, events, 'the bridge types exactly what was scored');
      for (const ins of desktop) assert.ok(ALLOWED.has(ins.opcode), `only allowed opcodes reach the desktop, not ${JSON.stringify(ins.opcode)}`);

      const firstBad = list.findIndex((ins) => !acceptable(ins));
      const sent = list.map((i) => ({ opcode: i.opcode, args: [...i.args] }));
      if (firstBad === -1) {
        assert.equal(ended, false, 'a canonical stream is never ended');
        assert.deepEqual(desktop, sent, 'and all of it is forwarded');
      } else {
        assert.equal(ended, true, `the tap ends the stream at ${JSON.stringify(list[firstBad])}`);
        assert.ok(desktop.length <= firstBad, 'nothing from the offending instruction on is forwarded');
        assert.deepEqual(desktop, sent.slice(0, desktop.length));
      }
    }),
    { numRuns: 5000 },
  );
});

test('the guacd model is C atoi: sign, white space, stop at a non-digit, 32-bit truncation', () => {
  const cases: [string, number][] = [
    ['97', 97], ['+97', 97], ['  -5', -5], ['097', 97], ['4.0x74', 4], ['0x74', 0], ['9.7e1', 9], ['97\u00001', 97],
    ['4294967393', 97], ['2147483648', -2147483648], ['-2147483649', 2147483647], ['99999999999999999999', -1], ['', 0], ['-', 0], ['٩٧', 0],
  ];
  for (const [s, n] of cases) assert.equal(atoi(s), n, JSON.stringify(s));
});

test('the spellings of issue 17 reach neither side, and the stream ends there', () => {
  for (const arg of ['4.0x74', '0x74', '+116', '0116', '116.0', '1.16e2', ' 116', '4294967412', '-0', '']) {
    const wire = encode({ opcode: 'key', args: ['97', '1'] }) + encode({ opcode: 'key', args: [arg, '1'] }) + encode({ opcode: 'key', args: ['98', '1'] });
    const { ended, events, desktop } = run([Buffer.from(wire)]);
    assert.equal(ended, true, JSON.stringify(arg));
    assert.deepEqual(events, []);
    assert.deepEqual(desktop, []);
  }
});
