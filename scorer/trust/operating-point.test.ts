import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gaussian, seededRandom } from '../../lib/random.js';
import { DEFAULT_TRUST_POLICY, INITIAL_TRUST, updateTrust } from './trust.js';
import { inControlRunLength, terminateAtFor, terminateAtForPolicy } from './operating-point.js';
import { loadScorerSettings, trustPolicyOf } from '../config.js';

/** Mean windows between terminates of the real trust engine on N(0,1) scores. */
function simulatedRunLength(terminateAt: number, windows: number, seed: number): number {
  const random = seededRandom(seed);
  const policy = { ...DEFAULT_TRUST_POLICY, terminateAt };
  let state = INITIAL_TRUST;
  let terminates = 0;
  for (let i = 0; i < windows; i++) {
    state = updateTrust(state, gaussian(random), 'mouse', policy).state;
    if (state.terminated) {
      terminates++;
      state = INITIAL_TRUST;
    }
  }
  return windows / terminates;
}

test("Siegmund's run length matches the trust engine's on calibrated scores within 20%", () => {
  for (const h of [4, 6, 8]) {
    const theory = inControlRunLength(DEFAULT_TRUST_POLICY.evidence.mouse.shift, h);
    const measured = simulatedRunLength(h, 2_000_000, h);
    assert.ok(Math.abs(measured / theory - 1) < 0.2, `threshold ${h}: theory ${theory.toFixed(0)}, measured ${measured.toFixed(0)}`);
  }
});

test('a rarer target needs a higher threshold; the threshold meets its target and a lower one would not', () => {
  const shift = DEFAULT_TRUST_POLICY.evidence.mouse.shift;
  const one = terminateAtFor(1, shift, 600);
  const tenth = terminateAtFor(0.1, shift, 600);
  assert.ok(tenth > one, `${tenth} vs ${one}`);
  const needed = (100 * 600) / 1;
  assert.ok(inControlRunLength(shift, one) >= needed);
  assert.ok(inControlRunLength(shift, one - 0.05) < needed);
  assert.equal(terminateAtFor(1e9, shift, 600), 1, 'a target no threshold can miss gives the lowest');
});

test('VDIGUARD_TRUST_FALSE_TERMINATES_PER_100H sets the threshold the service uses; without it the threshold setting holds', () => {
  const small = { keystroke: { shift: 3, maxScore: 3 }, mouse: { shift: 2, maxScore: 3 } };
  const target = trustPolicyOf(
    loadScorerSettings({ VDIGUARD_TRUST_FALSE_TERMINATES_PER_100H: '0.5', VDIGUARD_TRUST_TERMINATE_AT: '40', VDIGUARD_TRUST_KEYSTROKE_SHIFT: '3', VDIGUARD_TRUST_KEYSTROKE_MAX_SCORE: '3', VDIGUARD_TRUST_MOUSE_SHIFT: '2', VDIGUARD_TRUST_MOUSE_MAX_SCORE: '3' }),
  );
  // The modality that needs the higher threshold sets it, when single windows stay below both.
  assert.equal(target.terminateAt, Math.max(terminateAtFor(0.5, 3), terminateAtFor(0.5, 2)));
  assert.equal(target.terminateAt, terminateAtForPolicy(0.5, small));
  // With the default clips, one keystroke window can add 4.5 x 6 - 4.5^2/2 = 16.875: the threshold stays above that.
  const defaults = trustPolicyOf(loadScorerSettings({ VDIGUARD_TRUST_FALSE_TERMINATES_PER_100H: '0.5' }));
  assert.equal(defaults.terminateAt, 16.88);
  assert.equal(trustPolicyOf(loadScorerSettings({ VDIGUARD_TRUST_TERMINATE_AT: '40' })).terminateAt, 40);
  assert.throws(() => loadScorerSettings({ VDIGUARD_TRUST_FALSE_TERMINATES_PER_100H: '0' }), /VDIGUARD_TRUST_FALSE_TERMINATES_PER_100H/);
});
