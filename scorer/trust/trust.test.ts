import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Modality } from '../features/types.js';
import { loadScorerSettings, trustPolicyOf } from '../config.js';
import { carriedTrust, confirmIdentity, DEFAULT_TRUST_POLICY, INITIAL_TRUST, maxWindowEvidence, updateTrust, windowEvidence, type TrustPolicy, type TrustState, type TrustUpdate } from './trust.js';

/** One shift and clip for both modalities, so each window below adds 2z - 2 whatever its modality. */
const SAME = { shift: 2, maxScore: 4 };
const P: TrustPolicy = { evidence: { keystroke: SAME, mouse: SAME }, terminateAt: 12, challengeBelow: 0.5 };

function run(scores: number[], from: TrustState = INITIAL_TRUST, policy = P, modality: Modality = 'keystroke'): TrustUpdate[] {
  const out: TrustUpdate[] = [];
  let state = from;
  for (const s of scores) {
    const u = updateTrust(state, s, modality, policy);
    out.push(u);
    state = u.state;
  }
  return out;
}

test('typical windows of the agent keep full trust', () => {
  const updates = run([0.3, -0.5, 1.1, 0.2, -1.2, 0.8, 0.0, 1.4]);
  assert.ok(updates.every((u) => u.action === 'none' && u.level === 'trusted'));
  assert.ok(updates.at(-1)!.state.trust > 0.7);
});

test('a run of far windows challenges once, then terminates once', () => {
  const updates = run([3, 3, 3, 3, 3, 3]);
  const actions = updates.map((u) => u.action);
  assert.equal(actions.filter((a) => a === 'challenge').length, 1);
  assert.equal(actions.filter((a) => a === 'terminate').length, 1);
  assert.ok(actions.indexOf('challenge') < actions.indexOf('terminate'));
  assert.equal(updates.at(-1)!.level, 'mismatch');
  assert.equal(updates.at(-1)!.state.trust, 0);
});

test('one extreme window cannot end a session on its own', () => {
  const [u] = run([1e9]);
  assert.notEqual(u!.action, 'terminate');
  assert.ok(u!.state.trust > 0);
});

test('good behaviour before a takeover banks no credit against it', () => {
  const takeover = [3, 3, 3, 3, 3];
  const fresh = run(takeover).findIndex((u) => u.action === 'terminate');
  const afterGood = run([...Array(200).fill(-2), ...takeover]).findIndex((u) => u.action === 'terminate') - 200;
  assert.equal(afterGood, fresh);
});

test('NaN scores carry no evidence', () => {
  const [a, b] = run([2.5, Number.NaN]);
  assert.equal(b!.state.evidence, a!.state.evidence);
  assert.equal(b!.state.windows, a!.state.windows);
});

test('a confirmed identity lifts the challenge but keeps the evidence: whoever answers it, a takeover ends where it would have', () => {
  const takeover = [3, 3, 3, 3, 3];
  const unanswered = run(takeover).findIndex((u) => u.action === 'terminate');
  const challenged = run(takeover.slice(0, 2)).at(-1)!.state;
  assert.ok(challenged.challenged && !challenged.terminated);
  const confirmed = confirmIdentity(challenged);
  assert.equal(confirmed.evidence, challenged.evidence);
  assert.ok(!confirmed.challenged);
  const rest = run(takeover.slice(2), confirmed);
  assert.equal(rest.findIndex((u) => u.action === 'terminate') + 2, unanswered);
  assert.equal(rest.filter((u) => u.action === 'challenge').length, 0, 'no second challenge while trust stays in the band');
});

test('after a confirmed identity, trust that recovers above the band can be challenged again', () => {
  const confirmed = confirmIdentity(run([3, 3]).at(-1)!.state);
  const updates = run([-2, -2, -2, -2, 3, 3], confirmed);
  const recovered = updates.findIndex((u) => u.state.trust > P.challengeBelow);
  const again = updates.findIndex((u) => u.action === 'challenge');
  assert.ok(recovered >= 0 && again > recovered, `recovered at ${recovered}, challenged again at ${again}`);
});

test('trust stays in [0, 1], never rises while scores rise, and a terminated session stays terminated', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { maxLength: 60 }), (scores) => {
      let state = INITIAL_TRUST;
      for (const s of scores) {
        const before = state;
        state = updateTrust(state, s, 'mouse', P).state;
        assert.ok(state.trust >= 0 && state.trust <= 1);
        assert.ok(state.minTrust <= state.trust);
        if (s > SAME.shift / 2) assert.ok(state.trust <= before.trust);
        if (before.terminated) assert.ok(state.terminated);
      }
    }),
  );
});

test('each modality counts its windows with its own shift and clip: far keystroke windows weigh more, and no single window ends a session', () => {
  const d = DEFAULT_TRUST_POLICY;
  assert.ok(windowEvidence(6, d.evidence.keystroke) > windowEvidence(6, d.evidence.mouse));
  // A typical genuine window pulls the evidence down on both.
  assert.ok(windowEvidence(0, d.evidence.keystroke) < 0 && windowEvidence(0, d.evidence.mouse) < 0);
  for (const m of ['keystroke', 'mouse'] as const) {
    assert.ok(maxWindowEvidence(d.evidence[m]) < d.terminateAt, m);
    assert.equal(run([1000], INITIAL_TRUST, d, m)[0]!.action === 'terminate', false, `one ${m} window terminated`);
    assert.equal(windowEvidence(1000, d.evidence[m]), maxWindowEvidence(d.evidence[m]));
  }
  assert.equal(run([1000, 1000], INITIAL_TRUST, d, 'keystroke')[1]!.action, 'terminate');
});

test('the settings set each modality\'s shift and clip, and a policy where one window could terminate is refused', () => {
  const p = trustPolicyOf(loadScorerSettings({ VDIGUARD_TRUST_KEYSTROKE_SHIFT: '3', VDIGUARD_TRUST_MOUSE_MAX_SCORE: '5' }));
  assert.deepEqual(p.evidence, { keystroke: { shift: 3, maxScore: DEFAULT_TRUST_POLICY.evidence.keystroke.maxScore }, mouse: { ...DEFAULT_TRUST_POLICY.evidence.mouse, maxScore: 5 } });
  assert.throws(
    () => trustPolicyOf(loadScorerSettings({ VDIGUARD_TRUST_KEYSTROKE_SHIFT: '4', VDIGUARD_TRUST_KEYSTROKE_MAX_SCORE: '8', VDIGUARD_TRUST_TERMINATE_AT: '20' })),
    /one keystroke window can add 24 evidence .*VDIGUARD_TRUST_KEYSTROKE_SHIFT.* at or above the terminate threshold 20/,
  );
});

test('carried trust starts from the evidence that brought the last session there, within [0, 1]', () => {
  const from = carriedTrust(0.25, P);
  assert.deepEqual(from, { ...INITIAL_TRUST, evidence: 9, trust: 0.25, minTrust: 0.25 });
  assert.equal(run([3], from)[0]!.action, 'terminate', 'one far window ends it, where a fresh session takes three');
  assert.deepEqual(run([3, 3, 3]).map((u) => u.action), ['none', 'challenge', 'terminate']);
  assert.equal(run([0], from)[0]!.state.trust > 0.25, true, "the agent's own window pulls it back up");
  assert.equal(carriedTrust(7, P).trust, 1);
  assert.equal(carriedTrust(-1, P).evidence, 12);
});
