import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { encode, GuacParser, GuacStatus } from '../guac/index.js';
import { InputTap } from './tap.js';
import { MAX_SAMPLES_PER_MOVE } from './client-time.js';

function tap(limits = {}) {
  const events: InputEvent[] = [];
  let t = 100;
  const tp = new InputTap({ clock: () => t++, onInput: (e) => events.push(e) > 0, limits });
  return { tp, events };
}

const stream = '5.mouse,3.100,2.50,1.1;3.key,5.65307,1.1;4.sync,4.1234;3.key,5.65307,1.0;5.mouse,3.101,2.51,1.0;';

test('forwards whole instructions at once and as they came; split ones as soon as they complete, never in part', () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const { tp, events } = tap();
    const a = tp.push(stream.slice(0, cut));
    const b = tp.push(stream.slice(cut));
    const head = stream.slice(0, stream.lastIndexOf(';', cut - 1) + 1);
    const [first, second] = [String(a.forward ?? ''), String(b.forward ?? '')];
    assert.equal(first, head, 'the complete instructions of the first message, at once');
    assert.equal(first + second, stream, 'everything, once');
    assert.deepEqual(events.map((e) => e.kind?.$case), ['mouse', 'key', 'key', 'mouse']);
  }
});

test('several instructions in one message are all mirrored with that message\'s arrival time', () => {
  const { tp, events } = tap();
  tp.push(Buffer.from(stream));
  assert.equal(events.length, 4);
  assert.ok(events.every((e) => e.timeMs === 100));
  assert.deepEqual(events[0], { timeMs: 100, kind: { $case: 'mouse', value: { x: 100, y: 50, buttonMask: 1 } } });
  assert.deepEqual(events[1], { timeMs: 100, kind: { $case: 'key', value: { keysym: 65307, pressed: true } } });
});

test('an instruction split across messages is stamped when it completes', () => {
  const { tp, events } = tap();
  tp.push('3.key,5.6');
  tp.push('5307,1.1;');
  assert.equal(events.length, 1);
  assert.equal(events[0]?.timeMs, 101);
});

test('multi-byte characters split inside their bytes do not disturb the stream', () => {
  const { tp, events } = tap();
  const bytes = Buffer.from('3.ack,1.1,2.日本,3.256;3.key,3.100,1.1;5.mouse,1.1,1.2,1.0;');
  const forwarded: string[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const r = tp.push(bytes.subarray(i, i + 1));
    assert.equal(r.error, undefined);
    if (r.forward) forwarded.push(String(r.forward));
  }
  assert.equal(forwarded.join(''), bytes.toString('utf8'), 'each instruction forwarded whole when its last byte arrived');
  assert.equal(forwarded.length, 3);
  assert.deepEqual(events.map((e) => e.kind?.$case), ['key', 'mouse']);
});

test('malformed input is a fatal error with a clear message', () => {
  const { tp } = tap();
  const r = tp.push('3.key,x.1;');
  assert.ok(r.error);
  assert.equal(r.error.fatal, true);
  assert.match(r.error.message, /expected a digit/);
});

test('oversized instructions are reported (the connection closes) rather than buffered', () => {
  const { tp } = tap({ maxElementLength: 64, maxInstructionLength: 128 });
  const r = tp.push(`4.blob,1.0,200.${'x'.repeat(200)};`);
  assert.ok(r.error);
  assert.match(r.error.message, /limit is 64/);
});

/** The page's client time (./client-time.ts, docs/client-times.md). */
const time = (ms: string) => encode({ opcode: 'vdiguard', args: ['time', ms] });

/** The timing-only samples of a coalesced move (./client-time.ts): [ms, x, y] of each point. */
const samples = (...points: [string, string, string][]) => encode({ opcode: 'vdiguard', args: ['samples', ...points.flat()] });
/** n points 1 ms apart from t = 1, all at (1, 1). */
const nSamples = (n: number) => samples(...Array.from({ length: n }, (_, i): [string, string, string] => [String(i + 1), '1', '1']));

const badCoordinates: { name: string; v: string }[] = [
  { name: "'+'", v: '+1' },
  { name: '"-0"', v: '-0' },
  { name: 'a leading zero', v: '01' },
  { name: 'a fraction', v: '1.5' },
  { name: 'hex', v: '0x1' },
  { name: 'an exponent', v: '1e2' },
  { name: 'empty', v: '' },
  { name: 'past 32 bits', v: '2147483648' },
];

const badTimes: { name: string; ms: string }[] = [
  { name: "'+'", ms: '+12' },
  { name: 'a sign', ms: '-12' },
  { name: '"-0"', ms: '-0' },
  { name: 'an exponent', ms: '1e3' },
  { name: 'a leading zero', ms: '012' },
  { name: 'hex', ms: '0x10' },
  { name: 'four fraction digits', ms: '12.3456' },
  { name: 'a trailing zero', ms: '12.50' },
  { name: 'a fraction of zeros', ms: '12.0' },
  { name: 'a point without digits after it', ms: '12.' },
  { name: 'a point without digits before it', ms: '.5' },
  { name: 'NaN', ms: 'NaN' },
  { name: 'Infinity', ms: 'Infinity' },
  { name: 'empty', ms: '' },
  { name: 'white space', ms: ' 12' },
  { name: 'a comma', ms: '12,5' },
  { name: 'fullwidth digits', ms: '１２' },
  { name: '10^12 ms (absurdly large)', ms: '1000000000000' },
  { name: 'a 300-digit number', ms: '9'.repeat(300) },
];

const refused: { name: string; input: string; message: RegExp }[] = [
  { name: 'non-numeric keysym', input: '3.key,1.a,1.1;', message: /"key" keysym is not a decimal integer/ },
  { name: 'hex keysym', input: '3.key,4.0x74,1.1;', message: /"key" keysym/ },
  { name: "'+' keysym", input: '3.key,4.+116,1.1;', message: /"key" keysym/ },
  { name: 'keysym past 29 bits', input: '3.key,9.536870912,1.1;', message: /0\.\.536870911/ },
  { name: 'pressed 2', input: '3.key,2.97,1.2;', message: /pressed is not 0 or 1/ },
  { name: 'key with 3 arguments', input: '3.key,2.97,1.1,1.1;', message: /has 3 arguments; it takes exactly 2/ },
  { name: 'mouse with 2 arguments', input: '5.mouse,1.1,1.2;', message: /has 2 arguments; it takes exactly 3/ },
  { name: 'mouse y "-0"', input: '5.mouse,1.1,2.-0,1.0;', message: /y is not a decimal 32-bit integer/ },
  { name: 'button bits Guacamole does not define', input: '5.mouse,1.7,1.8,2.37;', message: /button mask is not a decimal integer 0\.\.31/ },
  { name: 'touch', input: '5.touch,1.0,2.10,2.10,1.1,1.1,1.0,1.1;', message: /"touch" is not accepted from the browser/ },
  { name: 'clipboard while the policy is not `both`', input: '9.clipboard,1.0,10.text/plain;', message: /clipboard policy \(VDIGUARD_CLIPBOARD\)/ },
  { name: 'blob while the policy is not `both`', input: '4.blob,1.0,4.YWJj;', message: /clipboard policy/ },
  { name: 'file upload', input: '4.file,1.0,10.text/plain,5.a.txt;', message: /"file" is not accepted/ },
  { name: 'pipe', input: '4.pipe,1.0,10.text/plain,1.x;', message: /"pipe" is not accepted/ },
  ...badTimes.map(({ name, ms }) => ({ name: `client time, ${name}`, input: time(ms) + '3.key,2.98,1.0;', message: /vdiguard,time is not a decimal number of milliseconds below 10\^12/ })),
  { name: 'two client times before an input', input: time('1') + time('2') + '3.key,2.97,1.1;', message: /follows another time with no key or mouse between them/ },
  { name: 'two client times with only a sync between them', input: time('1') + '4.sync,1.1;' + time('2') + '3.key,2.97,1.1;', message: /follows another time/ },
  { name: 'a client time without its value', input: '8.vdiguard,4.time;', message: /must be exactly vdiguard,time,<ms>.*had 1 arguments$/ },
  { name: 'a client time with an extra argument', input: '8.vdiguard,4.time,1.1,1.2;', message: /had 3 arguments$/ },
  { name: 'a vdiguard instruction other than time or samples', input: '8.vdiguard,7.session,3.abc;', message: /must be exactly vdiguard,time,<ms> or vdiguard,samples,<ms>,<x>,<y>\.\.\..*the first neither "time" nor "samples"/ },
  { name: 'vdiguard without arguments', input: '8.vdiguard;', message: /had 0 arguments, the first neither "time" nor "samples"/ },
  { name: 'vdiguard,TIME', input: '8.vdiguard,4.TIME,1.1;', message: /the first neither "time" nor "samples"/ },
  { name: 'vdiguard,sample (one point, the singular)', input: '8.vdiguard,6.sample,1.1,1.2,1.3;', message: /the first neither "time" nor "samples"/ },
  ...badTimes.map(({ name, ms }) => ({ name: `sample time, ${name}`, input: samples(['1', '1', '1'], [ms, '1', '2']) + time('5') + '5.mouse,1.1,1.2,1.0;', message: /vdiguard,samples have a time that is not a decimal number of milliseconds/ })),
  ...badCoordinates.map(({ name, v }) => ({ name: `sample x, ${name}`, input: samples(['1', v, '2']) + time('5') + '5.mouse,1.1,1.2,1.0;', message: /vdiguard,samples have an x that is not a decimal 32-bit integer/ })),
  { name: 'sample y "-0"', input: samples(['1', '2', '-0']) + time('5') + '5.mouse,1.1,1.2,1.0;', message: /vdiguard,samples have a y that is not/ },
  { name: 'samples without points', input: '8.vdiguard,7.samples;', message: /must be 1 to 32 points of three values <ms>,<x>,<y>; it had 0 values/ },
  { name: 'a sample without its y', input: '8.vdiguard,7.samples,1.1,1.2;', message: /it had 2 values/ },
  { name: 'a value beyond the last point', input: '8.vdiguard,7.samples,1.1,1.2,1.3,1.4;', message: /it had 4 values/ },
  { name: 'samples followed by a key', input: samples(['1', '1', '1']) + time('2') + '3.key,2.97,1.1;', message: /vdiguard,samples were followed by a key/ },
  { name: 'samples followed by a mouse without a time', input: samples(['1', '1', '1']) + '5.mouse,1.1,1.2,1.0;', message: /followed by a mouse without its time/ },
  { name: 'samples after the time of their mouse', input: time('2') + samples(['1', '1', '1']) + '5.mouse,1.1,1.2,1.0;', message: /vdiguard,samples follow the time of their mouse/ },
  { name: 'two samples instructions before one mouse', input: samples(['1', '1', '1']) + samples(['2', '1', '1']) + time('5') + '5.mouse,1.1,1.2,1.0;', message: /follow other samples with no mouse between them/ },
  { name: 'samples later than their mouse', input: samples(['5.001', '1', '1']) + time('5') + '5.mouse,1.1,1.2,1.0;', message: /end later than the time of the mouse they precede/ },
  { name: 'samples going backwards', input: samples(['2', '1', '1'], ['1.999', '1', '1']) + time('5') + '5.mouse,1.1,1.2,1.0;', message: /go back in time/ },
  { name: `${MAX_SAMPLES_PER_MOVE + 1} samples before one mouse`, input: nSamples(MAX_SAMPLES_PER_MOVE + 1) + time('100') + '5.mouse,1.1,1.2,1.0;', message: new RegExp(`must be 1 to ${MAX_SAMPLES_PER_MOVE} points`) },
];

for (const { name, input, message } of refused) {
  test(`refused, nothing of the chunk forwarded or mirrored: ${name}`, () => {
    const { tp, events } = tap();
    const r = tp.push('3.key,2.98,1.1;' + input);
    assert.ok(r.error, 'the session ends');
    assert.equal(r.forward, undefined);
    assert.equal(r.error.fatal, true);
    assert.equal(r.error.guacStatus, GuacStatus.CLIENT_BAD_REQUEST);
    assert.match(r.error.message, message);
    assert.equal(events.length, 0, 'the key before it in the same chunk reached neither side');
    assert.equal(tp.inputEvents, 0);
  });
}

test('a refusal never repeats a keysym in its message', () => {
  const { tp } = tap();
  const r = tp.push('3.key,5.+6530,1.1;');
  assert.ok(r.error);
  assert.doesNotMatch(r.error.message, /6530/);
});

test('every opcode the page sends passes: key, mouse (negative while dragging), sync, nop, size, ack, ping, disconnect', () => {
  const { tp, events } = tap();
  const text = '3.key,9.536870911,1.0;5.mouse,2.-5,11.-2147483648,2.31;4.sync,4.1234;3.nop;4.size,4.1280,3.720;3.ack,1.1,21.Clipboard unsupported,3.256;0.,4.ping,13.1712345678901;10.disconnect;';
  const r = tp.push(text);
  assert.equal(r.forward, text);
  assert.deepEqual(events.map((e) => e.kind?.value), [{ keysym: 536870911, pressed: false }, { x: -5, y: -2147483648, buttonMask: 31 }]);
});

test('while held, input is mirrored but not forwarded; other instructions pass re-encoded', () => {
  const { tp, events } = tap();
  tp.holding = true;
  const r = tp.push(stream);
  assert.equal(r.forward, '4.sync,4.1234;');
  assert.equal(events.length, 4, 'the scorer still sees who is at the keyboard');
  assert.equal(tp.heldEvents, 4);
  assert.equal(tp.push('3.key,2.97,1.1;').forward, null);
  tp.holding = false;
  assert.equal(tp.push('3.key,2.97,1.1;').forward, '3.key,2.97,1.1;');
  assert.equal(events.length, 6);
});

/** What the desktop side reads from the bytes the tap forwarded: its instructions, until the first it cannot parse. */
function desktopReads(forwarded: (string | Buffer | null | undefined)[]): string[] {
  const p = new GuacParser();
  const out: string[] = [];
  for (const f of forwarded) {
    if (!f) continue;
    for (const r of p.push(f)) {
      if (r.error) return out;
      out.push(encode(r.instruction));
    }
  }
  return out;
}

test('a hold that starts inside an instruction cannot smuggle a key to the desktop', () => {
  // A sync whose 40-character value, read from where the desktop's copy of the instruction broke
  // off (11 characters in), ends early and holds a key: a tap that forwarded the raw head and then
  // the re-encoded whole instruction would have the desktop type it.
  const value = 'x'.repeat(19) + ';3.key,2.97,1.1;3.nop';
  const { tp, events } = tap();
  const a = tp.push('4.sync,40.' + value.slice(0, 11));
  tp.holding = true; // the challenge verdict arrives between the two messages
  const b = tp.push(value.slice(11) + ';');
  assert.deepEqual(events, [], 'the tap saw no key');
  assert.deepEqual(desktopReads([a.forward, b.forward]), [`4.sync,40.${value};`], 'and the desktop reads the one sync');
});

function pasting(maxPasteBytes?: number) {
  const events: InputEvent[] = [];
  const tp = new InputTap({ clock: () => 0, onInput: (e) => events.push(e) > 0, clipboard: 'both', maxPasteBytes });
  return { tp, events };
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
const paste = (stream: string, ...parts: string[]) =>
  encode({ opcode: 'clipboard', args: [stream, 'text/plain'] }) + parts.map((p) => encode({ opcode: 'blob', args: [stream, b64(p)] })).join('') + encode({ opcode: 'end', args: [stream] });

test('clipboard both: a paste passes as it came, and nothing of it reaches the scorer', () => {
  const { tp, events } = pasting();
  const text = paste('0', 'hello ', 'world') + '3.key,2.97,1.1;' + paste('0', 'again');
  assert.equal(tp.push(text).forward, text);
  assert.deepEqual(events.map((e) => e.kind?.$case), ['key'], 'the key only');
  assert.equal(tp.inputEvents, 1);
});

test('clipboard to-browser or off: a paste ends the session', () => {
  for (const clipboard of ['to-browser', 'off'] as const) {
    const tp = new InputTap({ clock: () => 0, onInput: () => true, clipboard });
    const r = tp.push(paste('0', 'x'));
    assert.equal(r.error?.fatal, true, clipboard);
    assert.match(r.error?.message ?? '', /VDIGUARD_CLIPBOARD/);
  }
});

const badPastes: { name: string; input: string; message: RegExp }[] = [
  { name: 'blob on a stream no clipboard opened', input: '4.blob,1.3,4.YWJj;', message: /no paste is open on that stream/ },
  { name: 'end on a stream no clipboard opened', input: '3.end,1.3;', message: /no paste is open/ },
  { name: 'blob after its stream ended', input: paste('0', 'a') + '4.blob,1.0,4.YWJj;', message: /no paste is open/ },
  { name: 'blob on "01" when "1" is open (guacd reads both as 1)', input: '9.clipboard,1.1,10.text/plain;4.blob,2.01,4.YWJj;', message: /canonical form/ },
  { name: 'stream "+1"', input: '9.clipboard,2.+1,10.text/plain;', message: /canonical form/ },
  { name: 'an image', input: '9.clipboard,1.0,9.image/png;', message: /only text\/plain/ },
  { name: 'text/html', input: '9.clipboard,1.0,9.text/html;', message: /only text\/plain/ },
  { name: 'a stream opened twice', input: '9.clipboard,1.0,10.text/plain;9.clipboard,1.0,10.text/plain;', message: /already open/ },
  { name: 'five streams open at once', input: [0, 1, 2, 3, 4].map((i) => `9.clipboard,1.${i},10.text/plain;`).join(''), message: /more than 4/ },
  { name: 'data that is not base64', input: '9.clipboard,1.0,10.text/plain;4.blob,1.0,4.a*bc;', message: /not base64/ },
  { name: 'base64 without its padding', input: '9.clipboard,1.0,10.text/plain;4.blob,1.0,3.YWJ;', message: /not base64/ },
  { name: 'blob without data', input: '9.clipboard,1.0,10.text/plain;4.blob,1.0;', message: /expected 2 arguments/ },
  { name: 'end with an extra argument', input: '9.clipboard,1.0,10.text/plain;3.end,1.0,1.x;', message: /expected 1 arguments/ },
];

for (const { name, input, message } of badPastes) {
  test(`paste refused, nothing of the chunk forwarded: ${name}`, () => {
    const { tp, events } = pasting();
    const r = tp.push('3.key,2.98,1.1;' + input);
    assert.equal(r.forward, undefined);
    assert.equal(r.error?.guacStatus, GuacStatus.CLIENT_BAD_REQUEST);
    assert.match(r.error?.message ?? '', message);
    assert.doesNotMatch(r.error?.message ?? '', /YWJj|abc/, 'never the pasted data');
    assert.equal(events.length, 0);
  });
}

test('a paste is capped: up to the limit passes, one byte more across blobs ends the session', () => {
  const { tp } = pasting(10);
  assert.equal(tp.push(paste('0', '12345', '67890')).error, undefined);
  const r = tp.push(paste('0', '12345', '678901'));
  assert.match(r.error?.message ?? '', /larger than 10 bytes/);
});

test('while held, a paste is not forwarded (nor mirrored); after the hold it is', () => {
  const { tp, events } = pasting();
  tp.holding = true;
  assert.equal(tp.push(paste('0', 'secret') + '4.sync,1.1;').forward, '4.sync,1.1;');
  tp.holding = false;
  assert.equal(tp.push(paste('0', 'later')).forward, paste('0', 'later'));
  assert.equal(events.length, 0);
});

test('a reconnect starts with no paste open', () => {
  const { tp } = pasting();
  assert.equal(tp.push('9.clipboard,1.0,10.text/plain;').error, undefined);
  tp.newConnection();
  assert.match(tp.push('4.blob,1.0,4.YWJj;').error?.message ?? '', /no paste is open/);
});

// ---- Client event times (./client-time.ts, docs/client-times.md) ---------------------------------

test('the page\'s time instruction is consumed: never forwarded, its time on the next input\'s event', () => {
  const { tp, events } = tap();
  assert.equal(tp.push(time('1234.5')).forward, null, 'a message that is only a time forwards nothing');
  assert.equal(tp.push('3.key,2.97,1.1;').forward, '3.key,2.97,1.1;', 'its input goes on as it came');
  assert.equal(tp.push(time('1300.125')).forward, null);
  assert.equal(tp.push('5.mouse,2.10,2.20,1.0;').forward, '5.mouse,2.10,2.20,1.0;');
  assert.deepEqual(events, [
    { timeMs: 101, kind: { $case: 'key', value: { keysym: 97, pressed: true } }, clientTimeMs: 1234.5 },
    { timeMs: 103, kind: { $case: 'mouse', value: { x: 10, y: 20, buttonMask: 0 } }, clientTimeMs: 1300.125 },
  ]);
  assert.equal(tp.inputEvents, 2, 'times are not input');
});

test('input without a time has no client time (other Guacamole clients), with one after a time it has', () => {
  const { tp, events } = tap();
  tp.push('3.key,2.97,1.1;' + time('5') + '3.key,2.97,1.0;' + '3.key,2.98,1.1;');
  assert.deepEqual(events.map((e) => e.clientTimeMs), [undefined, 5, undefined]);
  assert.equal('clientTimeMs' in events[0]!, false, 'not even as an undefined field');
});

const timed = time('10') + '3.key,2.97,1.1;' + '4.sync,4.1234;' + time('10.001') + '5.mouse,3.100,2.50,1.1;' + time('999999999999.999') + '3.key,2.97,1.0;';
const untimed = '3.key,2.97,1.1;4.sync,4.1234;5.mouse,3.100,2.50,1.1;3.key,2.97,1.0;';

test('times mixed with input in messages cut anywhere: the desktop reads the input only, each event has its time', () => {
  for (let cut = 0; cut <= timed.length; cut++) {
    const { tp, events } = tap();
    const a = tp.push(timed.slice(0, cut));
    const b = tp.push(timed.slice(cut));
    assert.equal(a.error ?? b.error, undefined);
    assert.deepEqual(desktopReads([a.forward, b.forward]), desktopReads([untimed]), `cut at ${cut}`);
    assert.equal(String(a.forward ?? '') + String(b.forward ?? ''), untimed, 're-encoded, nothing of a time left');
    assert.deepEqual(events.map((e) => e.clientTimeMs), [10, 10.001, 999999999999.999]);
  }
});

test('the tap does not judge a time, it passes the claim on: backwards and far-off times reach the scorer as sent', () => {
  const { tp, events } = tap();
  tp.push(time('5000') + '3.key,2.97,1.1;' + time('0') + '3.key,2.97,1.0;');
  assert.deepEqual(events.map((e) => e.clientTimeMs), [5000, 0], 'the scorer\'s rule (scorer/timing/client-times.ts) counts it');
});

test('a malformed time is refused with one message whatever its value: it never repeats it', () => {
  const message = (ms: string) => tap().tp.push(time(ms)).error;
  for (const { ms } of badTimes) {
    assert.equal(message(ms)?.reason, 'bad-client-time', ms);
    assert.equal(message(ms)?.message, message('x')?.message);
  }
});

test('canonical times at the edges are taken', () => {
  for (const ms of ['0', '0.001', '0.1', '7', '1234.5', '999999999999', '999999999999.999']) {
    const { tp, events } = tap();
    assert.equal(tp.push(time(ms) + '3.key,2.97,1.1;').error, undefined, ms);
    assert.equal(events[0]?.clientTimeMs, Number(ms));
  }
});

test('two times in separate messages: the second ends the session', () => {
  const { tp, events } = tap();
  assert.equal(tp.push(time('1')).forward, null);
  assert.equal(tp.push('4.sync,1.1;').forward, '4.sync,1.1;');
  assert.equal(tp.push(time('2')).error?.reason, 'bad-client-time');
  assert.equal(events.length, 0);
});

test('a time with no input after it yet: what passes meanwhile is forwarded, the time waits for the next key or mouse', () => {
  const { tp, events } = tap();
  assert.equal(tp.push(time('42') + '4.sync,1.1;3.nop;').forward, '4.sync,1.1;3.nop;');
  assert.equal(tp.push('4.size,4.1280,3.720;').forward, '4.size,4.1280,3.720;');
  assert.equal(events.length, 0);
  tp.push('5.mouse,1.1,1.2,1.0;');
  assert.deepEqual(events.map((e) => e.clientTimeMs), [42]);
});

test('a reconnect starts without a time: one sent just before the connection dropped belongs to nothing', () => {
  const { tp, events } = tap();
  assert.equal(tp.push(time('42')).forward, null);
  tp.newConnection();
  assert.equal(tp.push(time('50')).error, undefined, 'not "a second time": the first went with its connection');
  tp.push('3.key,2.97,1.1;');
  tp.push('3.key,2.97,1.0;');
  assert.deepEqual(events.map((e) => e.clientTimeMs), [50, undefined]);
});

test('while held, times are consumed like the input they belong to: mirrored with it, neither forwarded', () => {
  const { tp, events } = tap();
  tp.holding = true;
  assert.equal(tp.push(time('7')).forward, null);
  assert.equal(tp.push('3.key,2.97,1.1;').forward, null);
  assert.equal(tp.push(time('8') + '3.key,2.97,1.0;4.sync,1.1;').forward, '4.sync,1.1;');
  assert.deepEqual(events.map((e) => e.clientTimeMs), [7, 8], 'the scorer still weighs who is at the keyboard, on their times');
  assert.equal(tp.heldEvents, 2);
  tp.holding = false;
  assert.equal(tp.push(time('9') + '3.key,2.98,1.1;').forward, '3.key,2.98,1.1;', 'after the hold the input goes on, its time does not');
  assert.equal(events.at(-1)?.clientTimeMs, 9);
});

test('a time split byte by byte is taken when it completes, and forwards nothing', () => {
  const { tp, events } = tap();
  const bytes = Buffer.from(time('1234.567') + '3.key,2.97,1.1;');
  const forwarded: string[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const r = tp.push(bytes.subarray(i, i + 1));
    assert.equal(r.error, undefined);
    if (r.forward) forwarded.push(String(r.forward));
  }
  assert.deepEqual(forwarded, ['3.key,2.97,1.1;']);
  assert.equal(events[0]?.clientTimeMs, 1234.567);
});

// ---- Timing-only samples of the pointer's full-rate path (./client-time.ts) ------------------------

/** A move from (100, 50) to (110, 40) at page time 20, with two samples between: the page's order. */
const sampled = '5.mouse,3.100,2.50,1.0;' + samples(['12.5', '103', '47'], ['16', '107', '44']) + time('20') + '5.mouse,3.110,2.40,1.0;';

test('samples are consumed: never forwarded, mirrored as timing-only moves just before their mouse, at their message\'s arrival', () => {
  const { tp, events } = tap();
  assert.equal(tp.push('5.mouse,3.100,2.50,1.0;').forward, '5.mouse,3.100,2.50,1.0;');
  assert.equal(tp.push(samples(['12.5', '103', '47'], ['16', '107', '44'])).forward, null, 'a message that is only samples forwards nothing');
  assert.equal(events.length, 1, 'samples wait for their mouse');
  assert.equal(tp.push(time('20')).forward, null);
  assert.equal(tp.push('5.mouse,3.110,2.40,1.0;').forward, '5.mouse,3.110,2.40,1.0;');
  assert.deepEqual(events.slice(1), [
    { timeMs: 101, kind: { $case: 'mouse', value: { x: 103, y: 47, buttonMask: 0 } }, clientTimeMs: 12.5, timingOnly: true },
    { timeMs: 101, kind: { $case: 'mouse', value: { x: 107, y: 44, buttonMask: 0 } }, clientTimeMs: 16, timingOnly: true },
    { timeMs: 103, kind: { $case: 'mouse', value: { x: 110, y: 40, buttonMask: 0 } }, clientTimeMs: 20 },
  ]);
  assert.equal(tp.inputEvents, 2, 'samples are not input');
});

test('samples mixed with input in messages cut anywhere: the desktop reads the mice only, nothing of the samples left', () => {
  const plain = '5.mouse,3.100,2.50,1.0;5.mouse,3.110,2.40,1.0;';
  for (let cut = 0; cut <= sampled.length; cut++) {
    const { tp, events } = tap();
    const a = tp.push(sampled.slice(0, cut));
    const b = tp.push(sampled.slice(cut));
    assert.equal(a.error ?? b.error, undefined, `cut at ${cut}`);
    assert.equal(String(a.forward ?? '') + String(b.forward ?? ''), plain, `cut at ${cut}`);
    assert.deepEqual(events.map((e) => [e.timingOnly ?? false, e.clientTimeMs]), [[false, undefined], [true, 12.5], [true, 16], [false, 20]]);
  }
});

test('a sample\'s position is clamped into the rectangle of the mice around it: an overshoot or a forged detour stays between them', () => {
  const { tp, events } = tap();
  tp.push('5.mouse,3.100,2.50,1.0;' + samples(['1', '112', '47'], ['2', '-5000', '9999'], ['3', '105', '45']) + time('4') + '5.mouse,3.110,2.40,1.0;');
  assert.deepEqual(events.filter((e) => e.timingOnly).map((e) => (e.kind?.$case === 'mouse' ? [e.kind.value.x, e.kind.value.y] : [])), [[110, 47], [100, 50], [105, 45]]);
});

test('a sample carries the buttons held before its mouse: it never presses or releases one, and never the wheel', () => {
  const { tp, events } = tap();
  tp.push('5.mouse,2.10,2.10,1.1;' + samples(['1', '12', '12']) + time('2') + '5.mouse,2.14,2.14,1.0;');
  tp.push(samples(['3', '15', '15']) + time('4') + '5.mouse,2.16,2.16,1.1;');
  tp.push('5.mouse,2.16,2.16,2.17;' + samples(['5', '17', '17']) + time('6') + '5.mouse,2.18,2.18,1.0;');
  assert.deepEqual(events.filter((e) => e.timingOnly).map((e) => (e.kind?.$case === 'mouse' ? e.kind.value.buttonMask : -1)), [1, 0, 1]);
});

test('samples before the first mouse of a connection have no rectangle: read, checked and dropped', () => {
  const { tp, events } = tap();
  assert.equal(tp.push(samples(['1', '5', '5']) + time('2') + '5.mouse,2.10,2.10,1.0;').forward, '5.mouse,2.10,2.10,1.0;');
  assert.deepEqual(events.map((e) => e.timingOnly ?? false), [false]);
  tp.newConnection();
  tp.push(samples(['3', '12', '12']) + time('4') + '5.mouse,2.14,2.14,1.0;');
  assert.deepEqual(events.map((e) => e.timingOnly ?? false), [false, false], 'a reconnect forgets the last mouse');
  tp.push(samples(['5', '15', '15']) + time('6') + '5.mouse,2.16,2.16,1.0;');
  assert.deepEqual(events.map((e) => e.timingOnly ?? false), [false, false, true, false]);
});

test(`up to ${MAX_SAMPLES_PER_MOVE} samples before one mouse are taken, up to its time, equal times too; instructions that are not input may pass between`, () => {
  const { tp, events } = tap();
  tp.push('5.mouse,1.1,1.1,1.0;');
  const r = tp.push(nSamples(MAX_SAMPLES_PER_MOVE) + '4.sync,1.1;' + time(String(MAX_SAMPLES_PER_MOVE)) + '5.mouse,1.1,1.1,1.0;');
  assert.equal(r.error, undefined);
  assert.equal(r.forward, '4.sync,1.1;5.mouse,1.1,1.1,1.0;');
  assert.equal(events.filter((e) => e.timingOnly).length, MAX_SAMPLES_PER_MOVE);
  assert.equal(tp.push(samples(['40', '1', '1'], ['40', '1', '1']) + time('40') + '5.mouse,1.1,1.1,1.0;').error, undefined, 'the next move may have its own');
});

test('samples left without their mouse when the connection drops belong to nothing', () => {
  const { tp, events } = tap();
  tp.push('5.mouse,1.1,1.1,1.0;' + samples(['1', '1', '1']));
  tp.newConnection();
  assert.equal(tp.push('3.key,2.97,1.1;').error, undefined, 'not "samples followed by a key"');
  assert.equal(events.filter((e) => e.timingOnly).length, 0);
});

test('while held, samples go with their mouse: mirrored, neither forwarded', () => {
  const { tp, events } = tap();
  tp.holding = true;
  assert.equal(tp.push(sampled + '4.sync,1.1;').forward, '4.sync,1.1;');
  assert.equal(events.filter((e) => e.timingOnly).length, 2);
  assert.equal(tp.heldEvents, 2, 'the two mice; samples are not input');
});

test('a sample the scorer cannot take withholds nothing: only input does', () => {
  const events: InputEvent[] = [];
  const tp = new InputTap({ clock: () => 1, onInput: (e) => (e.timingOnly === true ? false : events.push(e) > 0) });
  assert.equal(tp.push(sampled).forward, '5.mouse,3.100,2.50,1.0;5.mouse,3.110,2.40,1.0;');
  assert.equal(tp.unmirroredEvents, 0);
  assert.equal(events.length, 2);
});

test('refused samples end the session as bad-client-sample, with one message whatever their values: it never repeats them', () => {
  const error = (ms: string, x: string) => tap().tp.push(samples([ms, x, '1'])).error;
  for (const { ms } of badTimes) {
    assert.equal(error(ms, '1')?.reason, 'bad-client-sample', ms);
    assert.equal(error(ms, '1')?.message, error('x', '1')?.message);
  }
  for (const { v } of badCoordinates) {
    assert.equal(error('1', v)?.reason, 'bad-client-sample', v);
    assert.equal(error('1', v)?.message, error('1', 'x')?.message);
  }
});
