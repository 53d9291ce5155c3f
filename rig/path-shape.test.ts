import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InputEvent } from '../proto/gen/vdiguard/scorer/v1/scorer.js';
import { seededRandom } from '../lib/random.js';
import { pathShape } from './path-shape.js';

const key = (t: number, pressed: boolean, client?: number): InputEvent => ({ timeMs: t, clientTimeMs: client, kind: { $case: 'key', value: { keysym: 0x61, pressed } } });
const move = (t: number, x: number): InputEvent => ({ timeMs: t, clientTimeMs: t, kind: { $case: 'mouse', value: { x, y: 0, buttonMask: 0 } } });

test('pathShape counts keys, pointer points and bursts on client times only', () => {
  const s = pathShape([key(0, true, 0), key(1, false, 0), key(2, true, 50), key(3, false), move(10, 0), move(18, 4), move(26, 8), move(500, 9)]);
  assert.equal(s.keys, 3, 'the key without a client time is left out');
  assert.equal(s.keyBursts, 0.5, 'one of two key gaps is 0 ms');
  assert.equal(s.pointer, 4);
  assert.deepEqual(s.pointerIntervalMs, [8, 8, 8], 'the 474 ms pause ends the movement');
  assert.equal(s.pointerRegular, 1);
  assert.ok(Number.isNaN(s.disagreementMs), 'too few points to place one');
});

test("pathShape measures how far the pointer's times are off its path", () => {
  // Constant speed, 16 ms reports, each stamped 0-8 ms late.
  const random = seededRandom(5);
  const points = Array.from({ length: 60 }, (_, i) => move(i * 16 + Math.round(8 * random()), i * 16));
  const s = pathShape(points);
  assert.ok(s.disagreements > 20, `${s.disagreements} points placed`);
  assert.ok(s.disagreementMs > 2, `off by ${s.disagreementMs} ms`);
  const smooth = pathShape(Array.from({ length: 60 }, (_, i) => move(i * 16, i * 16)));
  assert.ok(smooth.disagreementMs < 0.5, `a smooth device is off by ${smooth.disagreementMs} ms`);
});

test("pathShape measures how far the pointer's reports stray from a device's rhythm in steady movement", () => {
  const device = pathShape(Array.from({ length: 400 }, (_, i) => move(i * 8, i * 6)));
  assert.equal(device.offRhythm, 0);
  assert.ok(device.rhythmWindows >= 5, `${device.rhythmWindows} windows`);
  // The same steps, each interval 3 ms off the 8 ms period every other time: half off the rhythm.
  const bunched = pathShape(Array.from({ length: 400 }, (_, i) => move(i * 8 + (i % 4 === 1 ? 3 : 0), i * 6)));
  assert.equal(bunched.offRhythm, 0.5);
  assert.ok(Number.isNaN(pathShape([move(0, 0), move(8, 6)]).offRhythm), 'no window');
});
