import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MEDIAN_WINDOWS, WindowCusum } from './window-cusum.js';

test('a sum that stays up for a whole shift counts every window, and takes its median over the last ones', () => {
  // Windows of one value, each measure its own value: 7,000 barely relayed-looking windows, then clearly relayed ones.
  const cusum = new WindowCusum({ window: 1, neutral: 1, maxStep: 1, limit: 200 }, ([v]) => v as number);
  let alarm;
  let pushed = 0;
  for (; pushed < 7000 && !alarm; pushed++) alarm = cusum.push(1.01);
  assert.equal(alarm, undefined, 'still below the limit after 7,000 windows');
  while (!alarm) {
    alarm = cusum.push(1.05);
    pushed++;
  }
  assert.equal(alarm.windows, pushed, 'every window since the sum stood at 0');
  assert.ok(pushed - 7000 > MEDIAN_WINDOWS, 'more clearly relayed windows than the median keeps');
  assert.equal(alarm.measure, 1.05, 'the median of the last windows, not of the whole shift (1.01)');
});

test('windows that bring the sum back to 0 forget what came before', () => {
  const cusum = new WindowCusum({ window: 2, neutral: 1, maxStep: 1, limit: 3 }, (w) => (w[0] as number) * (w[1] as number));
  for (let i = 0; i < 4; i++) assert.equal(cusum.push(2), undefined); // two windows of measure 4, each step clipped to 1: sum 2
  for (let i = 0; i < 4; i++) assert.equal(cusum.push(0), undefined); // two local windows: back to 0
  for (let i = 0; i < 5; i++) assert.equal(cusum.push(4), undefined); // measure 16: sum 1, then 2
  assert.deepEqual(cusum.push(4), { windows: 3, measure: 16 }, 'the alarm counts only the windows since the sum stood at 0');
  assert.equal(cusum.windowsJudged, 7);
});
