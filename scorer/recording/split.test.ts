import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { splitIndex } from './split.js';

const key = (timeMs: number, keysym: number, pressed: boolean): InputEvent => ({ timeMs, kind: { $case: 'key', value: { keysym, pressed } } });
const mouse = (timeMs: number, buttonMask: number): InputEvent => ({ timeMs, kind: { $case: 'mouse', value: { x: 1, y: 1, buttonMask } } });

test('splits where nothing is held, at or after the fraction', () => {
  // a down, b down, a up, b up, c down, c up
  const events = [key(0, 97, true), key(1, 98, true), key(2, 97, false), key(3, 98, false), key(4, 99, true), key(5, 99, false)];
  assert.equal(splitIndex(events, 0.34), 4, 'index 2 has b still held; the first free moment is 4');
  assert.equal(splitIndex(events, 0.75), 6, 'index 5 has c held');
});

test('a held mouse button also postpones the split; the wheel does not', () => {
  const events = [mouse(0, 1), mouse(1, 1), mouse(2, 0), mouse(3, 8), mouse(4, 0)];
  assert.equal(splitIndex(events, 0.2), 3);
  assert.equal(splitIndex(events, 0.8), 4);
});

test('a button whose release was lost does not hold the split forever', () => {
  const events = [mouse(0, 1), mouse(100, 1), mouse(6000, 1), mouse(6100, 1)];
  assert.equal(splitIndex(events, 0.5), 2);
});

test('rejects fractions outside (0, 1)', () => {
  assert.throws(() => splitIndex([], 1), /between 0 and 1/);
});

test('a key whose release was lost does not hold the split forever', () => {
  const events = [key(0, 97, true), key(100, 98, true), key(150, 98, false), key(9000, 99, true), key(9100, 99, false), key(9200, 100, true)];
  assert.equal(splitIndex(events, 0.3), 3, 'key 97 was never released; after 5 s it no longer counts');
});
