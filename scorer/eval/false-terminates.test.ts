import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gaussian, seededRandom } from '../../lib/random.js';
import { DEFAULT_TRUST_POLICY } from '../trust/trust.js';
import { firstTerminate, simulateFalseTerminates, type GenuineScores } from './false-terminates.js';

function agent(seed: number, bias: number, n = 600): GenuineScores {
  const random = seededRandom(seed);
  // One window every 5 s of activity, as the takeover protocol sees.
  return { windows: Array.from({ length: n }, (_, i) => ({ score: gaussian(random) + bias, modality: i % 2 === 0 ? 'keystroke' : 'mouse' })), seconds: n * 5 };
}

/** The same shift for both modalities, so Siegmund's run length for one shift applies. */
const SAME = { shift: 2, maxScore: 4 };
const policy = { ...DEFAULT_TRUST_POLICY, evidence: { keystroke: SAME, mouse: SAME }, terminateAt: 4 };

test('calibrated scores meet a CUSUM average run length of the order theory gives', () => {
  const est = simulateFalseTerminates([agent(1, 0), agent(2, 0)], policy, { hoursPerAgent: 200, blockWindows: 10, seed: 3 });
  assert.equal(est.agents, 2);
  assert.ok(Math.abs(est.hours - 400) < 1, `simulated ${est.hours} h`);
  // Siegmund's approximation for this CUSUM (k = 1, h = 2 in score units): about 280 windows
  // between false alarms, i.e. about 2.6 per hour at 720 windows an hour.
  const perHour = est.per100Hours / 100;
  assert.ok(perHour > 1.5 && perHour < 4, `${perHour} per hour`);
});

test('an agent the profile fits worse is terminated far more often, and counted as affected', () => {
  const good = simulateFalseTerminates([agent(1, 0)], policy, { hoursPerAgent: 100, blockWindows: 10, seed: 3 });
  const biased = simulateFalseTerminates([agent(1, 0.8)], policy, { hoursPerAgent: 100, blockWindows: 10, seed: 3 });
  assert.ok(biased.per100Hours > 5 * good.per100Hours, `${biased.per100Hours} vs ${good.per100Hours}`);
  assert.equal(biased.agentsAffected, 1);
});

test('a higher threshold means fewer simulated false terminates; no scores, no hours', () => {
  const agents = [agent(4, 0.3), agent(5, 0)];
  const low = simulateFalseTerminates(agents, policy, { hoursPerAgent: 50, blockWindows: 10, seed: 1 });
  const high = simulateFalseTerminates(agents, { ...policy, terminateAt: 8 }, { hoursPerAgent: 50, blockWindows: 10, seed: 1 });
  assert.ok(high.terminates < low.terminates, `${high.terminates} vs ${low.terminates}`);
  const none = simulateFalseTerminates([{ windows: [], seconds: 0 }], policy);
  assert.equal(none.agents, 0);
  assert.ok(Number.isNaN(none.per100Hours));
});

test('firstTerminate replays the trust engine over a score trace', () => {
  const trace = [0.1, 3, 3, 3, 3, 3].map((score, i) => ({ score, atMs: 1000 * i, modality: 'mouse' as const }));
  const twelve = { ...policy, terminateAt: 12 };
  // Each 3 adds 2*3 - 2 = 4 evidence: 12 is reached at the third.
  assert.equal(firstTerminate(trace, twelve), 3000);
  assert.equal(firstTerminate(trace.slice(0, 3), twelve), null);
  assert.equal(firstTerminate([{ score: Number.NaN, atMs: 0, modality: 'keystroke' }], { ...policy, terminateAt: 1 }), null);
  // The modality's own shift: keystroke windows of 3 add 4*3 - 8 = 4 under this policy, mouse ones 2*3 - 2 = 4.
  const keys = trace.map((w) => ({ ...w, modality: 'keystroke' as const }));
  const mixed = { ...DEFAULT_TRUST_POLICY, evidence: { keystroke: { shift: 4, maxScore: 8 }, mouse: { shift: 2, maxScore: 6 } }, terminateAt: 12 };
  assert.equal(firstTerminate(keys, mixed), firstTerminate(trace, mixed));
  assert.equal(firstTerminate(keys.map((w) => ({ ...w, score: 5 })), mixed), 0, 'keystroke windows of 5 add 12 each');
  assert.equal(firstTerminate(trace.map((w) => ({ ...w, score: 5 })), mixed), 1000, 'mouse windows of 5 add 8 each');
});

test("firstTerminate adds the evidence the scorer added with a window for inconsistent client times", () => {
  const trace = [0.1, 3, 3, 3].map((score, i) => ({ score, atMs: 1000 * i, modality: 'mouse' as const, timingEvidence: i === 1 ? 4 : 0 }));
  const twelve = { ...policy, terminateAt: 12 };
  // 4 from the window and 4 from the stretch at 1000, 4 more at 2000.
  assert.equal(firstTerminate(trace, twelve), 2000);
  assert.equal(firstTerminate(trace.map((w) => ({ ...w, timingEvidence: 0 })), twelve), 3000);
});

test('the bootstrap resamples the evidence of inconsistent client times with the windows it came with', () => {
  const calm = agent(6, 0);
  const stretchy = { ...calm, windows: calm.windows.map((w, i) => ({ ...w, timingEvidence: i % 10 === 0 ? 2 : 0 })) };
  const o = { hoursPerAgent: 50, blockWindows: 1, seed: 2 };
  const without = simulateFalseTerminates([calm], policy, o);
  const withStretches = simulateFalseTerminates([stretchy], policy, o);
  assert.ok(withStretches.terminates > without.terminates, `${withStretches.terminates} vs ${without.terminates}`);
});
