import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeRemoteControl } from '../scorer/remote-control/detector.js';
import { endedByOf, stretchesOf } from './takeover-eval.js';
import { LINKS } from './rig.js';
import { VNC_SETTINGS } from './relay-eval.js';

test('each target plays the agent and the other person, locally and over every link, the agent first', () => {
  const plan = stretchesOf({ deviceHz: 125, viewerHz: 60, links: LINKS, vnc: VNC_SETTINGS.defaults! });
  assert.deepEqual(
    plan.map((s) => `${s.hands}/${s.cell.path}/${s.cell.hz}/${s.cell.link?.name ?? '-'}`),
    ['agent/local/125/-', 'agent/relayed/60/lan', 'agent/relayed/60/broadband', 'agent/relayed/60/mobile', 'other person/local/125/-', 'other person/relayed/60/lan', 'other person/relayed/60/broadband', 'other person/relayed/60/mobile'],
  );
});

test("a terminate is the remote-control test's by its reason, the profile's otherwise", () => {
  assert.equal(endedByOf(describeRemoteControl({ test: 'path', windows: 4, disagreementMs: 14.6 })), 'remote control');
  assert.equal(endedByOf("does not match the agent's profile: evidence 24.0 reached 23"), 'profile');
});
