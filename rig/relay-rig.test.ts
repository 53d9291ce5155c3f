/**
 * The relay rig's smoke test (issue 20), run by CI: one local and one relayed stretch of the same
 * recorded person through real parts, Xvfb with openbox and Debian's chromium on the agent page,
 * XTest and x11vnc, the gateway, the bridge and the xrdp desktop (account vdiguard-test21). Needs
 * deploy/relay-rig.sh and VDIGUARD_TEST_RDP=1 (.ci/run does both) and the datasets. The full
 * measurements are `vdiguard eval relay`.
 *
 * Local input at 125 Hz must reach the scorer on the page's own times and never be taken for remote
 * control; the same input relayed over the mobile link, and over a LAN, must end the session as
 * remote control suspected, said to the decision log and not to the page.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { extractMembers, listMembers, skipReason } from '../scorer/datasets/archive.js';
import { CHROMIUM_SKIP } from '../gateway/testing/browser.js';
import { REMOTE_CONTROL_REASON } from '../scorer/remote-control/detector.js';
import { DEFAULT_PATH_TIMING_POLICY } from '../scorer/remote-control/pointer-timing.js';
import { DEFAULT_REPORT_RHYTHM_POLICY } from '../scorer/remote-control/report-rhythm.js';
import { evalRelay, VNC_SETTINGS, type CellResult } from './relay-eval.js';
import { LINKS } from './rig.js';
import { RIG_SKIP } from './x-display.js';

const SKIP: string | false =
  process.env.VDIGUARD_TEST_RDP !== '1'
    ? 'needs the xrdp dev desktop and the relay rig: run deploy/relay-rig.sh and set VDIGUARD_TEST_RDP=1 (.ci/run does both)'
    : CHROMIUM_SKIP || RIG_SKIP || skipReason('aalto') || skipReason('sapimouse');

const KEYS = 'aalto-keystrokes/1020_keystrokes.txt';
let cells: CellResult[] = [];

before(async () => {
  if (SKIP) return;
  const keysDir = await extractMembers('aalto', [KEYS]);
  const mouseMember = (await listMembers('sapimouse')).filter((m) => /^sapimouse\/user1\/.*3min\.csv$/.test(m))[0] as string;
  const mouseDir = await extractMembers('sapimouse', [mouseMember]);
  const r = await evalRelay({
    keysFile: join(keysDir, KEYS),
    mouseFile: join(mouseDir, mouseMember),
    seconds: 40,
    deviceHz: [125],
    viewerHz: 125,
    links: LINKS.filter((l) => l.name === 'mobile' || l.name === 'lan'),
    vnc: [VNC_SETTINGS.defaults!],
    runs: 1,
    seed: 20,
  });
  cells = r.cells;
  process.stderr.write(r.text + '\n');
});

test('local input at 125 Hz reaches the scorer on the page times and is not taken for remote control', { skip: SKIP, timeout: 240_000 }, () => {
  const local = cells.find((c) => c.path === 'local');
  assert.ok(local, 'the local stretch ran');
  assert.ok(local.shape.keys > 100, `${local.shape.keys} keys on client times`);
  assert.ok(local.shape.pointer > 1000, `${local.shape.pointer} pointer points on client times`);
  assert.ok(local.shape.pointerHz > 80, `the device's rate shows: ${local.shape.pointerHz.toFixed(0)} Hz`);
  assert.equal(local.suspectedAfterS, null, local.actions.join('; '));
  assert.ok(local.shape.disagreementMs < DEFAULT_PATH_TIMING_POLICY.scaleMs / 2, `off the path by ${local.shape.disagreementMs.toFixed(1)} ms`);
  assert.ok(local.shape.offRhythm < DEFAULT_REPORT_RHYTHM_POLICY.neutralShare, `${local.shape.offRhythm} off the rhythm`);
});

test('the same input relayed through x11vnc over the mobile link ends the session as remote control suspected', { skip: SKIP }, () => {
  const relayed = cells.find((c) => c.path === 'relayed' && c.setting.startsWith('mobile'));
  assert.ok(relayed, 'the relayed stretch ran');
  assert.ok(relayed.shape.pointer > 100, `${relayed.shape.pointer} pointer points reached the scorer through x11vnc`);
  assert.ok(relayed.suspectedAfterS !== null && relayed.suspectedAfterS < 40, `suspected after ${relayed.suspectedAfterS} s`);
  assert.ok(relayed.shape.disagreementMs > 2 * DEFAULT_PATH_TIMING_POLICY.scaleMs, `off the path by ${relayed.shape.disagreementMs.toFixed(1)} ms`);
  assert.ok(
    relayed.decisions.some((d) => d.includes(REMOTE_CONTROL_REASON)),
    `the decision log says why: ${relayed.decisions.join(' | ')}`,
  );
  assert.match(relayed.shownToAgent ?? '', /ended by the security policy/);
  assert.doesNotMatch(relayed.shownToAgent ?? '', /remote|control|pointer/i, 'the person at the keyboard is not told why');
});

test("the same input relayed through x11vnc on the agent's LAN ends the session on the pointer's rhythm", { skip: SKIP }, () => {
  const relayed = cells.find((c) => c.path === 'relayed' && c.setting.startsWith('lan'));
  assert.ok(relayed, 'the LAN stretch ran');
  assert.ok(relayed.shape.pointer > 100, `${relayed.shape.pointer} pointer points reached the scorer through x11vnc`);
  assert.ok(relayed.suspectedAfterS !== null && relayed.suspectedAfterS < 40, `suspected after ${relayed.suspectedAfterS} s`);
  assert.ok(relayed.shape.offRhythm > DEFAULT_REPORT_RHYTHM_POLICY.neutralShare, `${relayed.shape.offRhythm} off the rhythm`);
  assert.ok(
    relayed.decisions.some((d) => d.includes(REMOTE_CONTROL_REASON)),
    `the decision log says why: ${relayed.decisions.join(' | ')}`,
  );
  assert.match(relayed.shownToAgent ?? '', /ended by the security policy/);
});
