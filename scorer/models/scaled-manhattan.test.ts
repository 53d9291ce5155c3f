import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScaledManhattan } from './scaled-manhattan.js';
import { equalErrorRate, rocAuc } from './metrics.js';

/** Deterministic pseudo-random normal numbers. */
function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

function user(center: number[], n: number, rnd: () => number): number[][] {
  return Array.from({ length: n }, () => center.map((c) => c + 0.3 * rnd()));
}

test('own windows score about N(0,1); another user scores far higher', () => {
  const rnd = gaussian(7);
  const a = [5, 4.5, 0.1, 120, 3];
  const b = [5.4, 4.1, 0.2, 90, 3.5];
  const m = new ScaledManhattan();
  const t = m.fit(user(a, 40, rnd));
  const own = user(a, 400, rnd).map((v) => m.score(t, v));
  const other = user(b, 400, rnd).map((v) => m.score(t, v));
  const mean = own.reduce((x, y) => x + y, 0) / own.length;
  const sd = Math.sqrt(own.reduce((x, y) => x + (y - mean) ** 2, 0) / own.length);
  assert.ok(Math.abs(mean) < 0.35, `mean ${mean}`);
  assert.ok(sd > 0.6 && sd < 1.5, `sd ${sd}`);
  assert.ok(rocAuc(own, other) > 0.99);
});

test('the template is plain JSON and scores the same after a round trip', () => {
  const rnd = gaussian(3);
  const ws = user([1, 2, 3], 10, rnd);
  ws[0]![1] = Number.NaN;
  const m = new ScaledManhattan();
  const t = m.fit(ws);
  const back = JSON.parse(JSON.stringify(t));
  const v = [1.1, 2.2, Number.NaN];
  assert.equal(m.score(back, v), m.score(t, v));
  assert.ok(Number.isFinite(m.score(t, v)), 'missing features are skipped');
  assert.ok(Number.isNaN(m.score(t, [Number.NaN, Number.NaN, Number.NaN])), 'no shared feature: no evidence');
});

test('features never seen in enrolment are ignored; constant features get a floor', () => {
  const m = new ScaledManhattan();
  const t = m.fit([
    [1, Number.NaN, 5],
    [1.2, Number.NaN, 5],
    [0.9, Number.NaN, 5],
  ]);
  assert.ok(Number.isFinite(m.score(t, [1, 100, 5])));
  assert.ok(Number.isFinite(m.score(t, [1, 0, 5.1])));
  assert.ok(m.score(t, [1, 0, 6]) > m.score(t, [1, 0, 5.1]));
});

test('too few enrolment windows is a clear error', () => {
  assert.throws(() => new ScaledManhattan().fit([[1], [2]]), /at least 3 enrolment windows, got 2/);
  assert.throws(() => new ScaledManhattan().fit([[1], [2, 3], [4]]), /different lengths/);
});

test('AUC and EER', () => {
  assert.equal(rocAuc([1, 2, 3], [4, 5, 6]), 1);
  assert.equal(rocAuc([4, 5, 6], [1, 2, 3]), 0);
  assert.equal(rocAuc([1, 1], [1, 1]), 0.5);
  assert.equal(equalErrorRate([1, 2, 3], [4, 5, 6]), 0);
  assert.equal(equalErrorRate([1, 2, 3, 4], [3.5, 5, 6, 7]), 0.25);
});
