/** The soak's schedule of input on real Balabit pointer tracks: the track's own rate, keys only in its pauses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractMembers, skipReason } from '../scorer/datasets/archive.js';
import { importBalabitFile } from '../scorer/datasets/mouse-datasets.js';
import { ALICE } from '../scorer/testing/typist.js';
import { ENROLMENT_MS, enrolmentRecording, loadMouseTracks, TYPING_PAUSE_MS, workStretch, type Due } from './workday.js';

const isMouse = (d: Due) => d.instruction.startsWith('5.mouse,');

test('a stretch replays the track\'s pointer at its own times, and types only where the pointer rests 5 s or more', { skip: skipReason('balabit') }, async () => {
  const [track] = await loadMouseTracks(1);
  assert.ok(track && track.times.length > 1000, 'a Balabit training session was loaded');
  const from = 600_000;
  const stretch = workStretch(track, ALICE, 1, from, 300_000);
  const mouse = stretch.filter(isMouse);
  const first = track.times.findIndex((t) => t >= from);
  const inWindow = track.times.filter((t) => t >= from && t < from + 300_000).length;
  assert.equal(mouse.length, inWindow, 'every pointer event of the window, and no other');
  assert.equal(mouse[0]!.atMs, track.times[first]! - from);
  assert.equal(mouse[0]!.instruction, track.instructions[first]);
  for (let i = 1; i < stretch.length; i++) assert.ok(stretch[i]!.atMs >= stretch[i - 1]!.atMs, `in time order at ${i}`);
  const keys = stretch.filter((d) => !isMouse(d));
  assert.ok(keys.length > 0, 'the agent typed in the pointer\'s pauses');
  const moves = mouse.map((d) => d.atMs);
  for (const k of keys) {
    const before = moves.filter((t) => t <= k.atMs).at(-1) ?? 0;
    const after = moves.find((t) => t > k.atMs) ?? 300_000;
    assert.ok(after - before >= TYPING_PAUSE_MS, `a key at ${k.atMs} ms in a pause of only ${after - before} ms`);
    assert.ok(k.atMs >= before + 1000 && k.atMs <= after - 500, `a key at ${k.atMs} ms too close to the pointer's moves (${before}, ${after})`);
  }
});

test('a stretch that runs past the track\'s end goes on from its start, and the same seed gives the same stretch', { skip: skipReason('balabit') }, async () => {
  const [track] = await loadMouseTracks(1);
  const near = track!.lengthMs - 30_000;
  const stretch = workStretch(track!, ALICE, 2, near, 120_000);
  const mouse = stretch.filter(isMouse);
  const beforeEnd = track!.times.filter((t) => t >= near).length;
  assert.ok(mouse.length > beforeEnd, `${mouse.length} pointer events, ${beforeEnd} of them before the end`);
  assert.deepEqual(workStretch(track!, ALICE, 2, near, 120_000), stretch);
});

test('an agent enrols from the track\'s first 10 minutes and their typing; sessions replay only what follows', { skip: skipReason('balabit') }, async () => {
  const [track] = await loadMouseTracks(1);
  assert.ok(track!.enrolment.length > 100, `${track!.enrolment.length} pointer events to enrol from`);
  assert.ok(track!.enrolment.every((e) => e.timeMs < ENROLMENT_MS));
  const recording = enrolmentRecording(track!, ALICE, 5, 400);
  const keys = recording.filter((e) => e.kind?.$case === 'key');
  assert.ok(keys.length >= 800, `${keys.length} key events`);
  assert.equal(recording.length - keys.length, track!.enrolment.length);
  for (let i = 1; i < recording.length; i++) assert.ok(recording[i]!.timeMs >= recording[i - 1]!.timeMs, `in time order at ${i}`);
  // Every pointer event of the session is in one part or the other, and the replay starts after the enrolment.
  const { events } = await importBalabitFile(`${await extractMembers('balabit', [track!.name])}/${track!.name}`);
  const moves = events.filter((e) => e.kind?.$case === 'mouse');
  assert.equal(track!.enrolment.length + track!.times.length, moves.length);
  assert.equal(track!.times[0], moves[track!.enrolment.length]!.timeMs - ENROLMENT_MS);
});
