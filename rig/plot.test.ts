import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relayPlotSvg } from './plot.js';
import type { CellResult } from './relay-eval.js';
import type { PathShape } from './path-shape.js';

const shape = (disagreementMs: number): PathShape => ({
  events: 100,
  keys: 10,
  pointer: 90,
  pointerHz: 100,
  pointerIntervalMs: [8, 8, 16],
  pointerRegular: 0.8,
  keyBursts: 0,
  disagreementMs,
  disagreements: 50,
  offRhythm: 0.1,
  rhythmWindows: 2,
});
const cell = (path: CellResult['path'], setting: string, d: number, suspectedAfterS: number | null): CellResult => ({
  path,
  setting,
  run: 0,
  shape: shape(d),
  playerLateP99Ms: 1,
  verdicts: 1,
  actions: [],
  suspectedAfterS,
  endedAfterS: suspectedAfterS,
  endReason: suspectedAfterS === null ? null : 'remote control suspected',
  challenges: 0,
  decisions: [],
  shownToAgent: null,
});

test('the relay plot has a bar and a verdict per stretch, and the scale', () => {
  const svg = relayPlotSvg('t <&>', [cell('local', 'device 125 Hz', 0.5, null), cell('relayed', 'mobile, x11vnc defaults', 15, 20.5), cell('relayed', 'lan', Number.NaN, null)], 4);
  assert.equal((svg.match(/<rect x="300"/g) ?? []).length, 2, 'no bar where nothing was measured');
  assert.match(svg, /0\.5 ms, 10% off the rhythm, not suspected/);
  assert.match(svg, /15\.0 ms, 10% off the rhythm, suspected after 20\.5 s/);
  assert.match(svg, /- ms, 10% off the rhythm, not suspected/);
  assert.match(svg, /scale 4 ms/);
  assert.match(svg, /t &lt;&amp;&gt;/);
});
