import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { extractMembers, listMembers, skipReason } from '../datasets/archive.js';
import { importSapimouseFile } from '../datasets/mouse-datasets.js';
import { frameAlignedPointer } from './pointer-rate.js';

const m = (timeMs: number, x: number, buttonMask = 0): InputEvent => ({ timeMs, kind: { $case: 'mouse', value: { x, y: 0, buttonMask } } });
const key = (timeMs: number): InputEvent => ({ timeMs, kind: { $case: 'key', value: { keysym: 0x61, pressed: true } } });

test("each frame keeps its last move; buttons, wheel notches and keys pass exactly, after the frame's pending move", () => {
  const frames = frameAlignedPointer(
    [m(1, 1), m(5, 2), m(9, 3), m(17, 4), m(20, 5), m(21, 5, 1), m(22, 6, 1), m(30, 7, 1), m(31, 7), m(40, 8, 8), m(40, 8), m(41, 9), key(42), m(43, 10)],
    60,
  );
  assert.deepEqual(
    frames.map((e) => [e.timeMs, e.kind?.$case === 'mouse' ? e.kind.value.x : 'key']),
    // frames of 16.67 ms: [0, 16.7) keeps t=9; t=20 is pending when the button goes down at 21;
    // the drag's moves 22 and 30 share a frame; the wheel's press and release both pass.
    [[9, 3], [20, 5], [21, 5], [30, 7], [31, 7], [40, 8], [40, 8], [41, 9], [42, 'key'], [43, 10]],
  );
  assert.throws(() => frameAlignedPointer([], 0), /positive number of frames per second/);
});

test("with samples, each frame's earlier moves go just before its move as timing-only samples, the latest 32", () => {
  const frames = frameAlignedPointer([m(1, 1), m(5, 2), m(9, 3), m(17, 4), m(20, 5), m(21, 5, 1), key(22), m(23, 6)], 60, true);
  assert.deepEqual(
    frames.map((e) => [e.timeMs, e.kind?.$case === 'mouse' ? e.kind.value.x : 'key', e.timingOnly ?? false]),
    [[1, 1, true], [5, 2, true], [9, 3, false], [17, 4, true], [20, 5, false], [21, 5, false], [22, 'key', false], [23, 6, false]],
  );
  const burst = frameAlignedPointer(Array.from({ length: 40 }, (_, i) => m(i * 0.25, i)), 60, true);
  assert.deepEqual(burst.map((e) => e.timingOnly ?? false), [...Array(32).fill(true), false]);
  assert.equal(burst[0]!.kind?.$case === 'mouse' && burst[0]!.kind.value.x, 7, 'the latest 32 before the move');
});

test('a mouse reporting at 125 Hz (SapiMouse user 19) comes out at most one move per 60 Hz frame, every button event kept', { skip: skipReason('sapimouse') }, async () => {
  const file = (await listMembers('sapimouse')).find((f) => /^sapimouse\/user19\/.*3min\.csv$/.test(f)) as string;
  const root = await extractMembers('sapimouse', [file]);
  const events = (await importSapimouseFile(join(root, file))).events;
  const out = frameAlignedPointer(events, 60);
  const changes = (es: readonly InputEvent[]): number[] => {
    let previous = 0;
    return es.flatMap((e) => {
      const mask = e.kind?.$case === 'mouse' ? e.kind.value.buttonMask : previous;
      const changed = mask !== previous;
      previous = mask;
      return changed ? [e.timeMs] : [];
    });
  };
  assert.deepEqual(changes(out), changes(events));
  const moves = (es: readonly InputEvent[]): number => es.length - changes(es).length;
  const seconds = ((events[events.length - 1] as InputEvent).timeMs - (events[0] as InputEvent).timeMs) / 1000;
  assert.ok(moves(events) / seconds > 60, `recorded ${moves(events) / seconds} moves/s`);
  assert.ok(moves(out) < moves(events) / 1.5, `${moves(out)} of ${moves(events)} moves kept`);
  const perFrame = new Map<number, number>();
  for (const e of out) {
    const f = Math.floor(e.timeMs / (1000 / 60));
    perFrame.set(f, (perFrame.get(f) ?? 0) + 1);
  }
  // A frame holds its one move plus the button events in it (each after the move pending then).
  const buttonFrames = new Map<number, number>();
  for (const t of changes(out)) buttonFrames.set(Math.floor(t / (1000 / 60)), (buttonFrames.get(Math.floor(t / (1000 / 60))) ?? 0) + 1);
  for (const [f, n] of perFrame) assert.ok(n <= 1 + 2 * (buttonFrames.get(f) ?? 0), `frame ${f} has ${n} events`);
});
