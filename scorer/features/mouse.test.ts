import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { ACTION_FEATURES, MOUSE_FEATURES, MouseExtractor } from './mouse.js';
import { defaultPipelines, RoutedExtractor } from '../models/pipelines.js';
import { windowsOf } from './windows.js';
import { extractMembers, listMembers, skipReason } from '../datasets/archive.js';
import { convertBalabit, convertSapimouse, importSapimouseFile } from '../datasets/mouse-datasets.js';
import { ScaledManhattan } from '../models/scaled-manhattan.js';
import { measureWindows, type UserWindows } from '../models/measure.js';

const m = (timeMs: number, x: number, y: number, buttonMask = 0): InputEvent => ({ timeMs, kind: { $case: 'mouse', value: { x, y, buttonMask } } });
const at = (name: (typeof ACTION_FEATURES)[number]) => ACTION_FEATURES.indexOf(name);

/** A straight move of `steps` points every 10 ms, then an optional click or drag. */
function stroke(t0: number, x0: number, dx: number, steps: number): InputEvent[] {
  return Array.from({ length: steps }, (_, i) => m(t0 + i * 10, x0 + i * dx, 100));
}

test('moves, clicks and drags become actions with their type and kinematics', () => {
  const ev: InputEvent[] = [
    ...stroke(0, 0, 10, 10), // move, then a pause
    ...stroke(2000, 0, 5, 8),
    m(2100, 35, 100, 1),
    m(2180, 35, 100, 0), // click: point-and-click
    ...stroke(4000, 0, 5, 6),
    m(4100, 25, 100, 1),
    m(4150, 60, 100, 1),
    m(4200, 90, 100, 1),
    m(4250, 120, 100, 1),
    m(4300, 120, 100, 0), // drag-and-drop
    ...stroke(6000, 0, 1, 6),
  ];
  const ex = new MouseExtractor({ windowActions: 1 });
  const ws = windowsOf([...ev, m(9000, 0, 0)], ex);
  const types = ws.map((w) => [w.vector[at('type.move')], w.vector[at('type.pointClick')], w.vector[at('type.dragDrop')]]);
  assert.deepEqual(types, [
    [1, 0, 0],
    [0, 1, 0],
    [1, 0, 0],
    [0, 0, 1],
    [1, 0, 0],
  ]);
  const move = ws[0]!.vector;
  assert.equal(move.length, MOUSE_FEATURES.length);
  assert.ok(Math.abs(move[at('straightness')]! - 1) < 1e-9);
  assert.ok(Math.abs(move[at('logVelocity.mean')]! - Math.log(1 + 1e-3)) < 1e-6, '10 px per 10 ms');
  assert.equal(move[at('direction.cos')], 1);
  assert.equal(move[at('criticalPoints')], 0);
  assert.ok(Math.abs(ws[1]!.vector[at('logClickMs')]! - Math.log(81)) < 1e-9);
  assert.ok(Math.abs(ws[3]!.vector[at('logClickMs')]! - Math.log(201)) < 1e-9);
  assert.equal(ws[1]!.startTimeMs, 2000);
  // Rightwards (angle 0) is the fifth of the eight 45° sectors counted from -180°.
  assert.deepEqual(ACTION_FEATURES.map((n, j) => (n.startsWith('directionHistogram.') ? move[j] : null)).filter((x) => x !== null), [0, 0, 0, 0, 1, 0, 0, 0]);
  assert.equal(move[at('turn.logTotal')], 0);
  assert.equal(move[at('deviation.signed')], 0);
  assert.equal(move[at('velocityPeaks')], 1, 'constant speed: one peak');
  assert.ok(Number.isNaN(move[at('logGapBeforeMs')]!), 'no action before the first');
  assert.ok(Math.abs(ws[1]!.vector[at('logGapBeforeMs')]! - Math.log(2000 - 90 + 1)) < 1e-9, 'from the last point of the move before');
});

test('signed deviation tells which side a curved move bulges to; homing is the time after 90% of the path', () => {
  const arc = (sign: number): InputEvent[] => Array.from({ length: 11 }, (_, i) => m(i * 10, i * 10, 100 + sign * 20 * Math.sin((Math.PI * i) / 10)));
  const [up, down] = [1, -1].map((sign) => windowsOf([...arc(sign), m(9000, 0, 0)], new MouseExtractor({ windowActions: 1 }))[0]!.vector);
  assert.ok(up![at('deviation.signed')]! < 0 && Math.abs(up![at('deviation.signed')]! + down![at('deviation.signed')]!) < 1e-9, `${up![at('deviation.signed')]} vs ${down![at('deviation.signed')]}`);
  const slowEnd = [...stroke(0, 0, 10, 10), ...[1, 2, 3, 4, 5].map((k) => m(90 + k * 100, 90 + k, 100)), m(9000, 0, 0)];
  const homing = windowsOf(slowEnd, new MouseExtractor({ windowActions: 1 }))[0]!.vector[at('homingFraction')]!;
  assert.ok(homing > 0.7 && homing < 1, `a creeping end is most of the time: ${homing}`);
});

test('a window is the mean of K actions; hop overlaps', () => {
  const ev: InputEvent[] = [];
  for (let a = 0; a < 6; a++) ev.push(...stroke(a * 1000, 0, a % 2 === 0 ? 10 : -10, 6));
  ev.push(m(99_000, 0, 0));
  const ws = windowsOf(ev, new MouseExtractor({ windowActions: 2, hopActions: 1 }));
  assert.equal(ws.length, 5);
  assert.equal(ws[0]!.vector[at('direction.cos')], 0, 'mean of right and left');
  assert.equal(ws[0]!.count, 2);
});

test('the routed extractor sends keys and mouse events to their own extractors', () => {
  const ex = new RoutedExtractor(defaultPipelines({ keystroke: { windowKeys: 5 }, mouse: { windowActions: 1 } }));
  const ev: InputEvent[] = [...stroke(0, 0, 10, 6), m(5000, 0, 0)];
  for (let i = 0; i < 5; i++) ev.push({ timeMs: 6000 + i * 100, kind: { $case: 'key', value: { keysym: 0x61, pressed: true } } }, { timeMs: 6050 + i * 100, kind: { $case: 'key', value: { keysym: 0x61, pressed: false } } });
  assert.deepEqual(windowsOf(ev, ex).map((w) => w.modality), ['mouse', 'keystroke']);
});

test('mouse rows: masks tracked, wheel notches, timestamp resets, glitches skipped', () => {
  const text = ['record timestamp,client timestamp,button,state,x,y', '0,0.0,NoButton,Move,1,2', '0,0.5,Left,Pressed,1,2', '0,0.6,NoButton,Drag,5,2', '0,0.1,Left,Released,5,2', '0,0.2,Scroll,Down,0,0', '0,0.3,NoButton,Move,65535,65535'].join('\n');
  const r = convertBalabit(text, 'x/user3/session_1', { labels: new Map([['session_1', true]]) });
  assert.equal(r.header.agent, 'user3');
  assert.equal(r.header.illegal, true);
  assert.deepEqual(r.skipped, { coordinateOutOfRange: 1 });
  assert.deepEqual(r.events.map((e) => [e.timeMs, e.kind?.$case === 'mouse' ? e.kind.value.buttonMask : -1]), [
    [0, 0],
    [500, 1],
    [600, 1],
    [600, 0],
    [700, 16],
    [700, 0],
  ]);
  // Balabit's wheel rows say (0, 0); the notch is where the pointer was.
  assert.deepEqual(r.events.slice(-2).map((e) => (e.kind?.$case === 'mouse' ? [e.kind.value.x, e.kind.value.y] : [])), [[5, 2], [5, 2]]);
  assert.throws(() => convertSapimouse(text, 'f.csv'), /f\.csv: not a SapiMouse session file/);
});

const skip = skipReason('sapimouse');

test('real SapiMouse users: genuine windows score below other users (baseline AUC)', { skip }, async () => {
  const members = (await listMembers('sapimouse')).filter((f) => f.endsWith('.csv'));
  const users = [...new Set(members.map((f) => f.split('/')[1]!))].sort().slice(0, 16);
  const wanted = members.filter((f) => users.includes(f.split('/')[1]!));
  const dir = await extractMembers('sapimouse', wanted);
  const uw: UserWindows[] = [];
  for (const u of users) {
    const mine = wanted.filter((f) => f.split('/')[1] === u);
    const three = mine.find((f) => f.endsWith('3min.csv'))!;
    const one = mine.find((f) => f.endsWith('1min.csv'))!;
    const we = windowsOf((await importSapimouseFile(join(dir, three))).events, new MouseExtractor());
    const wt = windowsOf((await importSapimouseFile(join(dir, one))).events, new MouseExtractor());
    if (we.length >= 3 && wt.length > 0) uw.push({ id: u, enrol: we.map((w) => w.vector), test: wt.map((w) => w.vector) });
  }
  assert.ok(uw.length >= 12);
  const r = measureWindows(uw, new ScaledManhattan(), 3);
  // Measured about 0.78 on all 72 users; chance is 0.5.
  assert.ok(r.auc > 0.65, `per-window AUC ${r.auc}`);
});

test('a live session holds fewer completed actions than a window, however long it runs', () => {
  // 2,000 moves apart, as a shift's pointer makes them; windows of 20 actions with a hop of 5.
  const events = Array.from({ length: 2000 }, (_, i) => stroke(i * 1000, 0, 3 + (i % 7), 8 + (i % 5))).flat();
  const ex = new MouseExtractor({ windowActions: 20, hopActions: 5, actionVectors: true });
  const windows: number[][] = [];
  let mostHeld = 0;
  for (const e of events) {
    for (const w of ex.push(e)) windows.push(w.vector);
    mostHeld = Math.max(mostHeld, ex.heldActions);
  }
  assert.ok(windows.length > 390, `the windows kept coming (${windows.length})`);
  assert.ok(mostHeld <= 20, `at most one window of actions held, ${mostHeld} were`);
  // Dropping actions after every window must not shift them: each window's last 15 actions are the next one's first 15.
  const nf = ACTION_FEATURES.length;
  for (let k = 1; k < windows.length; k++) assert.deepEqual(windows[k]!.slice(0, 15 * nf), windows[k - 1]!.slice(5 * nf), `window ${k} follows window ${k - 1}`);
});
