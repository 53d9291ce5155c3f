import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScorerSettings, remoteControlPolicyOf } from '../config.js';
import { devicePoints, relayedPoints, toolLoopPoints } from '../testing/pointer-paths.js';
import { DEFAULT_REMOTE_CONTROL_POLICY, RemoteControlDetector, describeRemoteControl, type RemoteControlPolicy } from './detector.js';
import type { PointerPoint } from './pointer-timing.js';

function findingOf(points: readonly PointerPoint[], policy: RemoteControlPolicy = DEFAULT_REMOTE_CONTROL_POLICY): ReturnType<RemoteControlDetector['push']> {
  const d = new RemoteControlDetector(policy);
  for (const p of points) d.push(p);
  return d.finding;
}

test('either test ends the session, and the reason names the one that did', () => {
  const rhythm = findingOf(toolLoopPoints(125, 60, [5, 25]), { ...DEFAULT_REMOTE_CONTROL_POLICY, path: null });
  assert.equal(rhythm?.test, 'rhythm');
  assert.match(describeRemoteControl(rhythm!), /^remote control suspected: the pointer's reports keep no device's rhythm/);
  const path = findingOf(relayedPoints(125, 60, 20), { ...DEFAULT_REMOTE_CONTROL_POLICY, rhythm: null });
  assert.equal(path?.test, 'path');
  assert.match(describeRemoteControl(path!), /^remote control suspected: the pointer's times disagree with its path/);
});

test('local devices pass both tests, and a test turned off finds nothing', () => {
  for (const hz of [60, 125, 1000]) assert.equal(findingOf(devicePoints(hz, 300, 1, hz)), undefined, `${hz} Hz`);
  assert.equal(findingOf(toolLoopPoints(125, 60, [5, 25]), { path: null, rhythm: null }), undefined);
});

test('the settings turn each test off alone, and both off turn detection off; the defaults are the detector\'s', () => {
  const policyOf = (env: Record<string, string>) => remoteControlPolicyOf(loadScorerSettings(env));
  assert.deepEqual(policyOf({}), DEFAULT_REMOTE_CONTROL_POLICY);
  assert.equal(policyOf({ VDIGUARD_REMOTE_CONTROL_SCALE_MS: '0' })?.path, null);
  assert.equal(policyOf({ VDIGUARD_REMOTE_CONTROL_SCALE_MS: '0' })?.rhythm?.neutralShare, 0.3);
  assert.equal(policyOf({ VDIGUARD_REMOTE_CONTROL_RHYTHM_SHARE: '0' })?.rhythm, null);
  assert.equal(policyOf({ VDIGUARD_REMOTE_CONTROL_RHYTHM_SHARE: '0.4' })?.rhythm?.neutralShare, 0.4);
  assert.equal(policyOf({ VDIGUARD_REMOTE_CONTROL_SCALE_MS: '0', VDIGUARD_REMOTE_CONTROL_RHYTHM_SHARE: '0' }), null);
  assert.throws(() => policyOf({ VDIGUARD_REMOTE_CONTROL_RHYTHM_SHARE: '2' }), /VDIGUARD_REMOTE_CONTROL_RHYTHM_SHARE/);
});
