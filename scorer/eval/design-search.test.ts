import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gaussian, seededRandom } from '../../lib/random.js';
import { maxWindowEvidence } from '../trust/trust.js';
import { searchDesigns, type RecordedTakeover } from './design-search.js';

const WINDOW_MS = 10_000;
const random = seededRandom(11);

/** Keystroke windows every 10 s from `startMs`, scored N(mean, 1) or at the given scores. */
function windows(startMs: number, scores: readonly number[]): RecordedTakeover['genuine'] {
  return scores.map((score, i) => ({ score, modality: 'keystroke' as const, atMs: startMs + (i + 1) * WINDOW_MS }));
}
const normal = (n: number, mean = 0): number[] => Array.from({ length: n }, () => mean + gaussian(random));

/**
 * Six agents with 30 genuine windows each; takeovers after 10 windows. Agents 1-3 are taken over by
 * someone far from them, agent 4 by someone scoring 2.5 on each of 6 windows (close), agent 5 by
 * someone scoring like the agent. Agent 6's own genuine windows drift to +1.5 (a new session of an
 * agent whose calibration is off), which forbids the small shifts that the close impostor needs.
 */
function run(): RecordedTakeover[] {
  const impostor = [normal(6, 6), normal(6, 6), normal(6, 6), [2.5, 2.5, 2.5, 2.5, 2.5, 2.5], normal(6), normal(6, 6)];
  return impostor.map((imp, i) => ({
    agent: `agent-${i + 1}`,
    genuine: windows(0, normal(30, i === 5 ? 1.5 : 0)),
    genuineMs: 30 * WINDOW_MS,
    takeover: [...windows(0, normal(10)), ...windows(10 * WINDOW_MS, imp)],
    takeoverAtMs: 10 * WINDOW_MS + 1,
    scorerTerminatedMs: { genuine: null, takeover: null },
  }));
}

const OPTIONS = { keystrokeShifts: [1, 1.5, 2, 3, 4, 5], mouseShifts: [2], simulation: { hoursPerAgent: 10, blockWindows: 1, seed: 1 } };

test('the design search tells an impostor who scores like the agent from one that the agents\' drift hides', () => {
  const r = searchDesigns(run(), OPTIONS);
  assert.ok(r.recorded.designs.length > 0, 'some design keeps the target on the recorded scores');
  for (const d of r.recorded.designs) {
    assert.ok(d.falseTerminatesPer100hSimulated <= 1, `design ${d.evidence.keystroke.shift} keeps the target`);
    assert.ok(d.terminateAt > Math.max(maxWindowEvidence(d.evidence.keystroke), maxWindowEvidence(d.evidence.mouse)), 'no single window reaches the threshold');
  }
  // Agent 6's drift forces thresholds the close impostor's 6 windows cannot reach.
  assert.deepEqual(r.recorded.missedByEveryDesign, ['agent-4', 'agent-5']);
  // With every agent's genuine windows N(0,1), a small shift catches the close impostor; the one
  // who scores like the agent stays out of reach.
  assert.deepEqual(r.idealCalibration.missedByEveryDesign, ['agent-5']);
  const best = r.idealCalibration.designs[0];
  assert.ok(best && !best.missed.includes('agent-4') && best.evidence.keystroke.shift <= 2, 'the design that catches it has a small shift');
  assert.ok(r.recorded.designs.every((d, i, all) => i === 0 || all[i - 1]!.missed.length <= d.missed.length), 'fewest missed first');
});

test('designs the recorded scores cannot decide are left out and counted', () => {
  const traces = run();
  // The scorer ended agent 1's takeover at its first impostor window: its scores stop there.
  const cut = traces[0]!.takeover.slice(0, 11);
  traces[0] = { ...traces[0]!, takeover: cut, scorerTerminatedMs: { genuine: null, takeover: cut[10]!.atMs } };
  const r = searchDesigns(traces, OPTIONS);
  assert.ok(r.recorded.notReplayable > 0, 'a design that would not terminate on one window is not replayable');
  assert.equal(r.recorded.notReplayable + r.recorded.designs.length <= OPTIONS.keystrokeShifts.length, true);
});
