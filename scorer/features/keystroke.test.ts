import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { KeyClass, keyClassOf } from './keyclass.js';
import { KEYSTROKE_FEATURES, KeystrokeExtractor } from './keystroke.js';
import { windowsOf } from './windows.js';

const key = (timeMs: number, keysym: number, pressed: boolean): InputEvent => ({ timeMs, kind: { $case: 'key', value: { keysym, pressed } } });
const idx = (name: (typeof KEYSTROKE_FEATURES)[number]): number => KEYSTROKE_FEATURES.indexOf(name);

/** Keystrokes at a fixed rhythm: press every `pp` ms, held `dwell` ms. */
function typing(keysyms: number[], pp: number, dwell: number, t0 = 0): InputEvent[] {
  const out: InputEvent[] = [];
  keysyms.forEach((k, i) => {
    out.push(key(t0 + i * pp, k, true), key(t0 + i * pp + dwell, k, false));
  });
  return out.sort((a, b) => a.timeMs - b.timeMs);
}

test('key classes are coarse: digits one class, letters by keyboard half', () => {
  for (let d = 0x30; d <= 0x39; d++) assert.equal(keyClassOf(d), KeyClass.digit);
  assert.equal(keyClassOf(0x61), KeyClass.letterLeft); // a
  assert.equal(keyClassOf(0x41), KeyClass.letterLeft); // A
  assert.equal(keyClassOf(0x6a), KeyClass.letterRight); // j
  assert.equal(keyClassOf(0x20), KeyClass.space);
  assert.equal(keyClassOf(0xff0d), KeyClass.enter);
  assert.equal(keyClassOf(0xff08), KeyClass.erase);
  assert.equal(keyClassOf(0xffe1), KeyClass.shift);
  assert.equal(keyClassOf(0xffe3), KeyClass.modifier);
  assert.equal(keyClassOf(0xff51), KeyClass.navigation);
  assert.equal(keyClassOf(0xffbe), KeyClass.function);
  assert.equal(keyClassOf(0x2c), KeyClass.punctuation);
  assert.equal(keyClassOf(0x010003b1), KeyClass.other);
  const letterClasses = new Set(Array.from({ length: 26 }, (_, i) => keyClassOf(0x61 + i)));
  assert.equal(letterClasses.size, 2);
});

test('a window of N keystrokes carries their dwell and flight times', () => {
  const ex = new KeystrokeExtractor({ windowKeys: 10 });
  const ws = windowsOf(typing(Array(25).fill(0x61), 200, 80), ex);
  assert.equal(ws.length, 2);
  const w = ws[0]!;
  assert.equal(w.vector.length, KEYSTROKE_FEATURES.length);
  assert.equal(w.count, 10);
  assert.equal(w.startTimeMs, 0);
  assert.equal(w.endTimeMs, 9 * 200 + 80);
  assert.ok(Math.abs(w.vector[idx('dwell.q50')]! - Math.log(80)) < 1e-9);
  assert.ok(Math.abs(w.vector[idx('dwell.letterLeft.q50')]! - Math.log(80)) < 1e-9);
  assert.ok(Number.isNaN(w.vector[idx('dwell.space.q50')]!));
  assert.ok(Math.abs(w.vector[idx('flightPP.q50')]! - Math.log(200)) < 1e-9);
  assert.equal(w.vector[idx('flightRPMs.q50')], 120);
  assert.ok(Math.abs(w.vector[idx('flightPP.letterSameHand.q50')]! - Math.log(200)) < 1e-9);
  assert.equal(w.vector[idx('rate.rollover')], 0);
  assert.equal(ws[1]!.startTimeMs, 10 * 200);
});

test('hop makes overlapping windows; pauses are left out of flights', () => {
  const events = [...typing(Array(10).fill(0x6a), 150, 90), ...typing(Array(10).fill(0x61), 150, 90, 10_000)];
  const ws = windowsOf(events, new KeystrokeExtractor({ windowKeys: 10, hopKeys: 5 }));
  assert.equal(ws.length, 3);
  assert.equal(ws[1]!.startTimeMs, 5 * 150);
  const mid = ws[1]!.vector;
  assert.ok(Math.abs(mid[idx('flightPP.q75')]! - Math.log(150)) < 1e-9, 'the 10 s pause is not a flight');
  assert.equal(mid[idx('rate.pause')], 1 / 9);
});

test('rollover, auto-repeat and keys never released', () => {
  // j pressed, k pressed before j released (rollover); j repeats while held.
  const ev: InputEvent[] = [];
  for (let i = 0; i < 10; i++) {
    const t = i * 300;
    ev.push(key(t, 0x6a, true), key(t + 50, 0x6a, true), key(t + 100, 0x6b, true), key(t + 150, 0x6a, false), key(t + 200, 0x6b, false));
  }
  const ws = windowsOf(ev, new KeystrokeExtractor({ windowKeys: 20 }));
  assert.equal(ws.length, 1, 'the repeated press is not a keystroke');
  const v = ws[0]!.vector;
  assert.ok(Math.abs(v[idx('rate.rollover')]! - 10 / 19) < 1e-9);
  assert.ok(Math.abs(v[idx('dwell.q50')]! - Math.log(125)) < 1e-9 || v[idx('dwell.q50')]! > Math.log(99));
  // A key that is never released does not block windows forever.
  const stuck = [key(0, 0xffe1, true), ...typing(Array(12).fill(0x61), 200, 50, 10)];
  const w2 = windowsOf(stuck, new KeystrokeExtractor({ windowKeys: 10, maxDwellMs: 1000 }));
  assert.equal(w2.length, 1);
  assert.ok(Number.isNaN(w2[0]!.vector[idx('dwell.shift.q50')]!));
  // A key whose release was lost counts again when pressed after maxDwellMs.
  const lost = typing(Array(12).fill(0x61), 2000, 50).filter((_e, i) => i !== 1);
  assert.equal(windowsOf(lost, new KeystrokeExtractor({ windowKeys: 10, maxDwellMs: 1000 })).length, 1);
});

test('mouse events and releases without a press change nothing', () => {
  const base = typing(Array(10).fill(0x61), 200, 80);
  const noisy = [key(0, 0x62, false), ...base.flatMap((e) => [e, { timeMs: e.timeMs, kind: { $case: 'mouse' as const, value: { x: 1, y: 2, buttonMask: 0 } } }])];
  assert.deepEqual(windowsOf(noisy, new KeystrokeExtractor({ windowKeys: 10 })), windowsOf(base, new KeystrokeExtractor({ windowKeys: 10 })));
});

test('options are checked', () => {
  assert.throws(() => new KeystrokeExtractor({ windowKeys: 2 }), /windowKeys/);
  assert.throws(() => new KeystrokeExtractor({ windowKeys: 10, hopKeys: 11 }), /hopKeys/);
});

test('per-event cost stays small over a long session', () => {
  const ex = new KeystrokeExtractor();
  const n = 400_000;
  const start = process.hrtime.bigint();
  let windows = 0;
  for (let i = 0; i < n; i++) windows += ex.push(key(i * 60, 0x61 + ((i >> 1) % 26), i % 2 === 0)).length;
  const perEventNs = Number(process.hrtime.bigint() - start) / n;
  assert.equal(windows, Math.floor(n / 2 / 50));
  assert.ok(perEventNs < 5000, `${perEventNs.toFixed(0)} ns per event`);
});

test('a live session holds fewer keystrokes than a window, besides those still pressed, however long it runs', () => {
  const letters = Array.from({ length: 5000 }, (_, i) => 0x61 + ((i * 7) % 26));
  const events = typing(letters, 180, 90);
  const ex = new KeystrokeExtractor({ windowKeys: 50, hopKeys: 10 });
  let windows = 0;
  let mostHeld = 0;
  for (const e of events) {
    windows += ex.push(e).length;
    mostHeld = Math.max(mostHeld, ex.heldKeys);
  }
  assert.ok(windows > 490, `the windows kept coming (${windows})`);
  assert.ok(mostHeld <= 51, `at most a window of keystrokes and the one pressed held, ${mostHeld} were`);
});
