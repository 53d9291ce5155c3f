import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { formatEvent, formatHeader, type RecordingHeader } from './format.js';
import { readRecording, readRecordingEvents, RecordingParser } from './reader.js';
import { writeRecording } from './writer.js';

const header: RecordingHeader = { format: 'vdiguard.recording.v1', agent: 'a1', source: 'test', session: 's1', illegal: false };
const key = (timeMs: number, keysym: number, pressed: boolean): InputEvent => ({ timeMs, kind: { $case: 'key', value: { keysym, pressed } } });
const mouse = (timeMs: number, x: number, y: number, buttonMask: number): InputEvent => ({ timeMs, kind: { $case: 'mouse', value: { x, y, buttonMask } } });

const eventArb = fc.oneof(
  fc.record({ keysym: fc.integer({ min: 0, max: 0x1fffffff }), pressed: fc.boolean() }).map((value) => ({ $case: 'key' as const, value: { ...value } })),
  fc.record({ x: fc.integer({ min: -5000, max: 70000 }), y: fc.integer({ min: -5000, max: 70000 }), buttonMask: fc.integer({ min: 0, max: 31 }) }).map((value) => ({ $case: 'mouse' as const, value: { ...value } })),
);
// The page's claimed time is optional and unordered: a recording keeps what a hostile client sent.
const claimArb = fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: undefined });
const eventsArb = fc.array(fc.tuple(fc.double({ min: 0, max: 1e5, noNaN: true }), eventArb, claimArb), { maxLength: 60 }).map((xs) => {
  let t = 0;
  return xs.map(([dt, kind, claim]): InputEvent => ({ timeMs: (t += dt), ...(claim === undefined ? {} : { clientTimeMs: claim }), kind }));
});

test('written recordings read back identically, whatever the batch size', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vdiguard-rec-'));
  await fc.assert(
    fc.asyncProperty(eventsArb, fc.integer({ min: 1, max: 7 }), async (events, batchSize) => {
      const file = join(dir, 'r.jsonl');
      await writeRecording(file, header, events);
      const rec = await readRecording(file, { batchSize });
      assert.deepEqual(rec.header, header);
      const got: InputEvent[] = [];
      for await (const b of rec.batches) {
        assert.ok(b.length <= batchSize && b.length > 0);
        got.push(...b);
      }
      assert.deepEqual(got, events);
    }),
    { numRuns: 40 },
  );
});

test('the parser gives the same events however the text is split into chunks', () => {
  const events = [key(0, 97, true), key(12.5, 97, false), mouse(20, 10, 20, 1), mouse(31, 11, 22, 0)];
  const text = formatHeader(header) + events.map(formatEvent).join('');
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 8 }), (cuts) => {
      const points = [0, ...[...cuts].sort((a, b) => a - b), text.length];
      const p = new RecordingParser('t');
      const got: InputEvent[] = [];
      for (let i = 1; i < points.length; i++) p.push(text.slice(points[i - 1], points[i]), got);
      p.end(got);
      assert.deepEqual(got, events);
    }),
  );
});

const H = formatHeader(header);
const cases: { name: string; text: string; error: RegExp }[] = [
  { name: 'empty file', text: '', error: /t\.jsonl:1: missing header/ },
  { name: 'event before header', text: '{"timeMs":1,"key":{"keysym":97,"pressed":true}}\n', error: /:1: an event comes before the header/ },
  { name: 'bad JSON', text: H + '{"timeMs":1,\n', error: /:2: not valid JSON/ },
  { name: 'unknown format', text: '{"format":"other","agent":"a","source":"s"}\n', error: /:1: unknown format "other"/ },
  { name: 'other version', text: '{"format":"vdiguard.recording.v9","agent":"a","source":"s"}\n', error: /:1: unsupported recording version/ },
  { name: 'header without agent', text: '{"format":"vdiguard.recording.v1","source":"s"}\n', error: /:1: header field "agent"/ },
  { name: 'decreasing time', text: H + formatEvent(key(10, 97, true)) + formatEvent(key(5, 97, false)), error: /:3: timestamps decrease \(5 ms after 10 ms\)/ },
  { name: 'absurd gap', text: H + formatEvent(key(0, 97, true)) + formatEvent(key(1e12, 97, false)), error: /:3: absurd timestamp/ },
  { name: 'negative time', text: H + '{"timeMs":-1,"key":{"keysym":97,"pressed":true}}\n', error: /:2: timeMs must be a number/ },
  { name: 'key and mouse', text: H + '{"timeMs":1,"key":{"keysym":97,"pressed":true},"mouse":{"x":1,"y":1,"buttonMask":0}}\n', error: /:2: an event has both/ },
  { name: 'bad keysym', text: H + '{"timeMs":1,"key":{"keysym":"a","pressed":true}}\n', error: /:2: key\.keysym must be a whole number/ },
  { name: 'bad mask', text: H + '{"timeMs":1,"mouse":{"x":1,"y":1,"buttonMask":64}}\n', error: /:2: mouse\.buttonMask must be/ },
  { name: 'fractional x', text: H + '{"timeMs":1,"mouse":{"x":1.5,"y":1,"buttonMask":0}}\n', error: /:2: mouse\.x must be a whole number/ },
  { name: 'unknown field', text: H + '{"timeMs":1,"text":"secret"}\n', error: /:2: unknown event field "text"/ },
  { name: 'negative client time', text: H + '{"timeMs":1,"clientTimeMs":-3,"key":{"keysym":97,"pressed":true}}\n', error: /:2: clientTimeMs must be a number of milliseconds/ },
  { name: 'client time as text', text: H + '{"timeMs":1,"clientTimeMs":"5","key":{"keysym":97,"pressed":true}}\n', error: /:2: clientTimeMs must be a number of milliseconds/ },
  { name: 'second header', text: H + H, error: /:2: a second header/ },
  { name: 'truncated last line', text: H + formatEvent(key(0, 97, true)) + '{"timeMs":3,"key":{"keys', error: /:3: truncated last line/ },
];
for (const c of cases) {
  test(`rejected with file, line and reason: ${c.name}`, () => {
    const p = new RecordingParser('t.jsonl');
    assert.throws(() => {
      p.push(c.text);
      p.end();
    }, c.error);
  });
}

test('a last line without newline that parses is accepted; CRLF lines too', () => {
  const p = new RecordingParser('t');
  const got = p.push(H.replace('\n', '\r\n') + '{"timeMs":1,"key":{"keysym":97,"pressed":true}}');
  p.end(got);
  assert.equal(got.length, 1);
});

test('reading names a missing file', async () => {
  await assert.rejects(readRecordingEvents('/nonexistent/x.jsonl'), /\/nonexistent\/x\.jsonl: no such file/);
});

test('a large recording streams in batches', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vdiguard-rec-'));
  const file = join(dir, 'big.jsonl');
  const n = 50_000;
  await writeFile(file, H + Array.from({ length: n }, (_, i) => formatEvent(mouse(i * 8, i % 1920, i % 1080, 0))).join(''));
  const rec = await readRecording(file, { batchSize: 1000 });
  let batches = 0;
  let count = 0;
  for await (const b of rec.batches) {
    batches += 1;
    count += b.length;
  }
  assert.equal(count, n);
  assert.equal(batches, n / 1000);
});
