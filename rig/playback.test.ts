import { test } from 'node:test';
import assert from 'node:assert/strict';
import { play, type Action } from './playback.js';
import type { Injector } from './injector.js';

function recorder(): Injector & { at: number[] } {
  const at: number[] = [];
  return { at, key: () => at.push(performance.now()), pointer: () => at.push(performance.now()), close: async () => undefined };
}

test('a hold moves the rest of the recording later by the wait, keeping its intervals', async () => {
  const actions: Action[] = [0, 40, 80].map((atMs) => ({ atMs, x: atMs, y: 0, mask: 0 }));
  const injector = recorder();
  const start = performance.now();
  const late = await play(actions, injector, () => false, () => performance.now() - start < 150);
  const [a, b, c] = injector.at.map((t) => t - start) as [number, number, number];
  assert.ok(a >= 150, `the first action waited out the hold: ${a} ms`);
  assert.ok(Math.abs(b - a - 40) < 15 && Math.abs(c - b - 40) < 15, `intervals kept: ${b - a}, ${c - b} ms`);
  assert.ok(late.every((l) => l < 15), `none counted late for the hold: ${late.join(', ')}`);
});

test('stop ends a playback that is held', async () => {
  const injector = recorder();
  const started = performance.now();
  await play([{ atMs: 0, x: 0, y: 0, mask: 0 }], injector, () => performance.now() - started > 100, () => true);
  assert.equal(injector.at.length, 0);
});
