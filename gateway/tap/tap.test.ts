import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { InputTap } from './tap.js';

function tap(limits = {}) {
  const events: InputEvent[] = [];
  let t = 100;
  const tp = new InputTap({ clock: () => t++, onInput: (e) => events.push(e), limits });
  return { tp, events };
}

const stream = '5.mouse,3.100,2.50,1.1;3.key,5.65307,1.1;4.sync,4.1234;3.key,5.65307,1.0;5.mouse,3.101,2.51,1.0;';

test('forwards each chunk unchanged, at once, wherever it is split', () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const { tp, events } = tap();
    const a = tp.push(stream.slice(0, cut));
    const b = tp.push(stream.slice(cut));
    assert.equal(a.forward, stream.slice(0, cut));
    assert.equal(b.forward, stream.slice(cut));
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
  const bytes = Buffer.from('4.name,2.日本;3.key,3.100,1.1;5.mouse,1.1,1.2,1.0;');
  for (let i = 0; i < bytes.length; i++) {
    const r = tp.push(bytes.subarray(i, i + 1));
    assert.equal(r.error, undefined);
    assert.deepEqual(r.forward, bytes.subarray(i, i + 1));
  }
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

test('key and mouse with non-numeric arguments are forwarded but not mirrored', () => {
  const { tp, events } = tap();
  const r = tp.push('3.key,1.a,1.1;5.mouse,1.1,1.2;');
  assert.equal(r.forward, '3.key,1.a,1.1;5.mouse,1.1,1.2;');
  assert.equal(events.length, 0);
});

test('button bits Guacamole does not define are forwarded to the desktop but never mirrored', () => {
  const { tp, events } = tap();
  const r = tp.push('5.mouse,1.7,1.8,2.37;5.mouse,1.7,1.8,10.4294967295;');
  assert.equal(r.forward, '5.mouse,1.7,1.8,2.37;5.mouse,1.7,1.8,10.4294967295;');
  assert.deepEqual(events.map((e) => (e.kind?.$case === 'mouse' ? e.kind.value.buttonMask : -1)), [5, 31]);
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
