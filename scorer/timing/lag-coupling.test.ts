import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { gaussian, seededRandom } from '../../lib/random.js';
import { ALICE, MALLORY, typing } from '../testing/typist.js';
import { DEFAULT_LAG_COUPLING_POLICY, describeCoupling, LagCouplingTest, type Coupling } from './lag-coupling.js';

/**
 * Claims and arrivals through a link with Gaussian jitter (order kept, as one TCP stream): every
 * event's offset is `arrival - claim`, and the test is run on them all.
 */
function firstFinding(claims: readonly InputEvent[], truth: readonly InputEvent[], sdMs: number, seed: number): Coupling | undefined {
  const rand = seededRandom(seed);
  const test = new LagCouplingTest();
  let last = 0;
  for (let i = 0; i < claims.length; i++) {
    const arrival = Math.max(last, (truth[i] as InputEvent).timeMs + 40 + sdMs * gaussian(rand));
    last = arrival;
    const claim = (claims[i] as InputEvent).timeMs;
    const found = test.observe((claims[i] as InputEvent).kind, claim, arrival - claim);
    if (found) return found;
  }
  return undefined;
}

/**
 * Mallory's true keystrokes with each release claimed so the dwell looks like Alice's: the claim
 * moves the release by at most `budgetMs` (the rule's envelope bounds it), toward Alice's dwell at
 * the rank Mallory's has among Mallory's own.
 */
function forgedDwells(truth: readonly InputEvent[], budgetMs: number): InputEvent[] {
  const press = new Map<number, number>();
  return truth.map((e) => {
    if (e.kind?.$case !== 'key') return e;
    const { keysym, pressed } = e.kind.value;
    if (pressed) {
      press.set(keysym, e.timeMs);
      return e;
    }
    const at = press.get(keysym) as number;
    const dwell = e.timeMs - at;
    const aliceDwell = ALICE.dwellMs * Math.pow(dwell / MALLORY.dwellMs, ALICE.spread / MALLORY.spread);
    const claim = Math.min(e.timeMs, Math.max(e.timeMs - budgetMs, at + aliceDwell));
    return { ...e, timeMs: claim };
  });
}

test("an honest page's lags do not follow its intervals: no finding over hours of typing, on a clean link or a jittery one", () => {
  for (const sd of [0.5, 5, 20, 50]) {
    for (const who of [ALICE, MALLORY]) {
      const truth = typing(who, 6000, 11);
      assert.equal(firstFinding(truth, truth, sd, 3), undefined, `jitter ${sd} ms`);
    }
  }
});

test('a page that rewrites its release times toward another rhythm is found, on dwells, within a few hundred keystrokes', () => {
  const truth = typing(MALLORY, 600, 12);
  for (const sd of [5, 20]) {
    const found = firstFinding(forgedDwells(truth, 50), truth, sd, 4);
    assert.ok(found, `jitter ${sd} ms: not found`);
    assert.equal(found.kind, 'dwell');
    // Mallory holds keys longer than Alice: releases are claimed earlier than they happened, so
    // their lag grows by what was taken off.
    assert.ok(found.meanChangeMs > DEFAULT_LAG_COUPLING_POLICY.minMeanMs, JSON.stringify(found));
    assert.match(describeCoupling(found), /^over \d+ key dwells the lag behind arrival changed by \d+\.\d ms on average/);
  }
});

test('arrival order cuts off short intervals on a jittery link, and the test keeps both sides alike: fast rollover typing at 30 ms is no finding', () => {
  const fast = { dwellMs: 60, flightMs: 90, spread: 0.35 };
  for (let seed = 1; seed <= 3; seed++) {
    const truth = typing(fast, 6000, 13 + seed);
    assert.equal(firstFinding(truth, truth, 30, seed), undefined, `seed ${seed}`);
  }
});

test("pointer moves are not paired: a browser dispatches them once per frame, so their lags follow their intervals by design", () => {
  const rand = seededRandom(6);
  const test = new LagCouplingTest();
  let t = 0;
  for (let i = 0; i < 20_000; i++) {
    // Samples at 125 Hz with jitter; each dispatched at the next 60 Hz frame.
    t += 8 + 2 * gaussian(rand);
    const dispatched = Math.ceil(t / 16.667) * 16.667;
    const found = test.observe({ $case: 'mouse', value: { x: i % 800, y: 300, buttonMask: 0 } }, t, dispatched + 30 - t);
    assert.equal(found, undefined);
  }
});

test('clicks are paired press to release, and a claim not used (inconsistent) pairs with nothing', () => {
  const test = new LagCouplingTest({ ...DEFAULT_LAG_COUPLING_POLICY, minPairs: 3 });
  const click = (down: boolean) => ({ $case: 'mouse' as const, value: { x: 10, y: 10, buttonMask: down ? 1 : 0 } });
  let found: Coupling | undefined;
  for (let i = 0; i < 10; i++) {
    const t = i * 1000;
    // The release's lag grows with the claimed hold: rewritten, whatever the hold.
    const hold = 60 + 10 * i;
    test.observe(click(true), t, 30);
    found = test.observe(click(false), t + hold, i === 0 ? undefined : 30 + hold / 2) ?? found;
  }
  assert.ok(found);
  assert.equal(found.kind, 'click');
  assert.equal(found.pairs >= 3 && found.pairs <= 9, true, `${found.pairs} pairs: the unused release paired with nothing`);
});
