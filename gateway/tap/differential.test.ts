/**
 * Differential test of the tap (issue 17): whatever a hostile browser sends, the input the desktop
 * side decodes from what the tap forwards equals, event for event, what the tap mirrored to the
 * scorer. The desktop side is decoded twice: by guacd's rules (a model of guacamole-server
 * src/libguac/user-handlers.c: __guac_handle_key and __guac_handle_mouse read argv[0..1] and
 * argv[0..2] with C atoi and never check argc) and by the built-in bridge's own parser (GuacParser
 * and readInput, as gateway/bridge/connection.ts uses them). An independent oracle (BigInt, not the
 * regular expressions of gateway/guac/input.ts) says which instructions are canonical: a stream
 * holding a non-canonical one must end there, with nothing after it forwarded. The page's client
 * times (`vdiguard,time,<ms>`, gateway/tap/client-time.ts) are in the streams too: the oracle says
 * which are canonical and which input each belongs to; none may reach the desktop side. So are the
 * timing-only samples of coalesced moves (`vdiguard,samples,<ms>,<x>,<y>...`): the oracle says which
 * streams of them are in order, and where each one goes (clamped, with the buttons held before it);
 * they are mirrored as samples, never as input, and never reach the desktop side.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { encode, GuacParser, readInput, type Instruction } from '../guac/index.js';
import { InputTap } from './tap.js';
import { MAX_SAMPLES_PER_MOVE } from './client-time.js';

type Event = { key: number; pressed: boolean } | { x: number; y: number; mask: number };
/** A sample as mirrored: where, its buttons, its time, and how many inputs were mirrored before it. */
type Sampled = { x: number; y: number; mask: number; t: number; after: number };

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
  if (ins.opcode === 'vdiguard') {
    if (a[0] === 'samples') {
      const points = (a.length - 1) / 3;
      if (!Number.isInteger(points) || points < 1 || points > MAX_SAMPLES_PER_MOVE) return false;
      for (let i = 1; i < a.length; i += 3) if (!canonicalTime(a[i] as string) || !canonical(a[i + 1], ...INT32) || !canonical(a[i + 2], ...INT32)) return false;
      return true;
    }
    return a.length === 2 && a[0] === 'time' && canonicalTime(a[1] as string);
  }
  return ALLOWED.has(ins.opcode);
}

/** A client time: a canonical integer below 10^12, then nothing or '.' and 1 to 3 digits, the last not 0. */
function canonicalTime(s: string): boolean {
  const [whole = '', fraction, more] = s.split('.');
  if (more !== undefined || !canonical(whole, 0n, 10n ** 12n - 1n)) return false;
  return fraction === undefined || (fraction.length >= 1 && fraction.length <= 3 && [...fraction].every((c) => c >= '0' && c <= '9') && !fraction.endsWith('0'));
}

/**
 * What the tap must do with a stream, by the oracle: the first instruction it must refuse (-1:
 * none), what reaches the desktop before it (everything but times and samples), each input's client
 * time (undefined: none sent), and the samples mirrored. Refused: a canonical time before another
 * with no input between; samples after a time or after other samples, or going back in time; a key
 * after samples; a mouse after samples without a time, or with one earlier than their last. Samples before a connection's first mouse are dropped;
 * the others are clamped into the rectangle of the mouse before and their own, and carry the left,
 * middle and right buttons of the mouse before.
 */
function expectation(list: readonly Instruction[]): { firstBad: number; desktop: Instruction[]; times: (number | undefined)[]; samples: Sampled[] } {
  const desktop: Instruction[] = [];
  const times: (number | undefined)[] = [];
  const samples: Sampled[] = [];
  let pending: string | undefined;
  let held: { t: number; x: number; y: number }[] = [];
  let lastMouse: { x: number; y: number; mask: number } | undefined;
  const result = (firstBad: number) => ({ firstBad, desktop, times, samples });
  for (let i = 0; i < list.length; i++) {
    const ins = list[i] as Instruction;
    if (!acceptable(ins)) return result(i);
    if (ins.opcode === 'vdiguard' && ins.args[0] === 'samples') {
      if (pending !== undefined || held.length > 0) return result(i);
      for (let k = 1; k < ins.args.length; k += 3) {
        const t = Number(ins.args[k]);
        if (held.length > 0 && t < held[held.length - 1]!.t) return result(i);
        held.push({ t, x: Number(ins.args[k + 1]), y: Number(ins.args[k + 2]) });
      }
      continue;
    }
    if (ins.opcode === 'vdiguard') {
      if (pending !== undefined) return result(i);
      pending = ins.args[1];
      continue;
    }
    if (ins.opcode === 'key' && held.length > 0) return result(i);
    if (ins.opcode === 'mouse') {
      const [x, y, mask] = ins.args.map(Number) as [number, number, number];
      if (held.length > 0 && (pending === undefined || Number(pending) < held[held.length - 1]!.t)) return result(i);
      const before = lastMouse;
      if (before !== undefined) {
        const clamp = (v: number, a: number, b: number) => Math.min(Math.max(a, b), Math.max(Math.min(a, b), v));
        for (const h of held) samples.push({ x: clamp(h.x, before.x, x), y: clamp(h.y, before.y, y), mask: before.mask, t: h.t, after: times.length });
      }
      held = [];
      lastMouse = { x, y, mask: mask & 7 };
    }
    if (ins.opcode === 'key' || ins.opcode === 'mouse') {
      times.push(pending === undefined ? undefined : Number(pending));
      pending = undefined;
    }
    desktop.push({ opcode: ins.opcode, args: [...ins.args] });
  }
  return result(-1);
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
/** A client time: mostly as the page writes it, else a spelling of its integer part, with or without a fraction of any length. */
const clientTime = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: 0, max: 1e12, noNaN: true }).map((t) => String(Math.round(t * 1000) / 1000)).filter((t) => Number(t) < 1e12) },
  { weight: 3, arbitrary: fc.tuple(spelling(fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 6n }), fc.bigInt({ min: -(10n ** 13n), max: 10n ** 13n }))), fc.constantFrom('', '.', '.5', '.05', '.005', '.0005', '.50', '.0', '.123', '.1234', '.9e1')).map(([w, f]) => w + f) },
);

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
  { weight: 10, arbitrary: clientTime.map((t) => ({ opcode: 'vdiguard', args: ['time', t] })) },
  { weight: 1, arbitrary: argc(fc.tuple(fc.constantFrom('time', 'session', 'Time', ''), clientTime)).map((args) => ({ opcode: 'vdiguard', args })) },
  { weight: 2, arbitrary: argc(fc.tuple(fc.constantFrom('samples', 'samples', 'sample', 'Samples'), clientTime, coordinate, coordinate)).map((args) => ({ opcode: 'vdiguard', args })) },
);

/**
 * A move as the page sends it when chromium coalesced it: its samples, its time, the move. Mostly in
 * order; sometimes a point is late, the time is missing or early, or there are none or too many.
 */
const sampledMove: fc.Arbitrary<Instruction[]> = fc
  .tuple(
    fc.array(fc.tuple(fc.double({ min: 0, max: 1000, noNaN: true }), fc.integer({ min: -50, max: 2000 }), fc.integer({ min: -50, max: 2000 })), { maxLength: MAX_SAMPLES_PER_MOVE + 2 }),
    fc.constantFrom('sorted', 'sorted', 'sorted', 'as drawn'),
    fc.constantFrom('after', 'after', 'after', 'none', 'early'),
    fc.tuple(fc.integer({ min: -50, max: 2000 }), fc.integer({ min: -50, max: 2000 }), fc.constantFrom(0, 0, 1, 4, 8)),
  )
  .map(([points, order, time, mouse]) => {
    const ms = (t: number) => String(Math.round(t * 1000) / 1000);
    const list = order === 'sorted' ? [...points].sort((a, b) => a[0] - b[0]) : points;
    const last = Math.max(0, ...list.map((p) => Math.round(p[0] * 1000) / 1000));
    const out: Instruction[] = [{ opcode: 'vdiguard', args: ['samples', ...list.flatMap(([t, x, y]) => [ms(t), String(x), String(y)])] }];
    if (time !== 'none') out.push({ opcode: 'vdiguard', args: ['time', ms(time === 'after' ? last + 1 : Math.max(0, last - 1))] });
    out.push({ opcode: 'mouse', args: mouse.map(String) });
    return out;
  });

/** A stream of instructions, as bytes cut at arbitrary points (inside lengths and multi-byte characters too). */
const stream = fc.tuple(fc.array(fc.oneof({ weight: 6, arbitrary: instruction.map((i) => [i]) }, { weight: 1, arbitrary: sampledMove }), { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 8 })).map(([groups, cuts]) => {
  const list = groups.flat();
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

function run(chunks: Buffer[]): { ended: boolean; events: Event[]; times: (number | undefined)[]; samples: Sampled[]; desktop: Instruction[] } {
  const events: Event[] = [];
  const times: (number | undefined)[] = [];
  const samples: Sampled[] = [];
  const tap = new InputTap({
    clock: () => 0,
    onInput: (e) => {
      if (e.timingOnly === true) samples.push({ ...(mirrored(e) as Sampled), t: e.clientTimeMs as number, after: events.length });
      else times.push(e.clientTimeMs), events.push(mirrored(e));
      return true;
    },
  });
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
  return { ended, events, times, samples, desktop };
}

test('property: what guacd and the bridge decode from the forwarded bytes is what the tap mirrored, event for event', () => {
  fc.assert(
    fc.property(stream, ({ list, chunks }) => {
      const { ended, events, times, samples, desktop } = run(chunks);
      const byGuacd = desktop.map(guacdInput).filter((e) => e !== undefined);
      const byBridge = desktop.map(bridgeInput).filter((e) => e !== undefined);
      assert.deepEqual(byGuacd, events, 'guacd types exactly what was scored');
      assert.deepEqual(byBridge, events, 'the bridge types exactly what was scored');
      for (const ins of desktop) assert.ok(ALLOWED.has(ins.opcode), `only allowed opcodes reach the desktop, not ${JSON.stringify(ins.opcode)}`);

      const expected = expectation(list);
      assert.deepEqual(times, expected.times.slice(0, times.length), 'each input carries the time sent for it, or none');
      assert.deepEqual(samples, expected.samples.filter((x) => x.after < events.length), 'the samples before each mirrored mouse, bounded, and no others');
      if (expected.firstBad === -1) {
        assert.equal(ended, false, 'a canonical stream is never ended');
        assert.deepEqual(desktop, expected.desktop, 'and all of it but the times is forwarded');
        assert.equal(times.length, expected.times.length);
      } else {
        assert.equal(ended, true, `the tap ends the stream at ${JSON.stringify(list[expected.firstBad])}`);
        assert.deepEqual(desktop, expected.desktop.slice(0, desktop.length), 'nothing from the offending instruction on is forwarded');
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
