import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractMembers, listMembers, skipReason } from '../scorer/datasets/archive.js';
import { evalLocalHours } from './local-hours.js';

const SKIP = skipReason('sapimouse');

test("simulated local devices on SapiMouse user1's real paths: never suspected with the rig's stamping, suspected with a relay's", { skip: SKIP }, async (t) => {
  const members = (await listMembers('sapimouse')).filter((m) => /^sapimouse\/user1\/.*\.csv$/.test(m));
  // The extraction cache may hold every user: a folder of user1 alone.
  const root = await mkdtemp(join(tmpdir(), 'vdiguard-local-hours-'));
  await symlink(join(await extractMembers('sapimouse', members), 'sapimouse', 'user1'), join(root, 'user1'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const local = await evalLocalHours({ sapimouse: root, deviceHz: [60, 125], stampNoiseMs: 1, seed: 1 });
  for (const row of local.rows) {
    assert.equal(row.sessions, 2);
    assert.ok(row.hours > 0.05, `${row.hours} h`);
    assert.ok(row.windows.path > 30 && row.windows.rhythm > 30, `${row.deviceHz} Hz: ${JSON.stringify(row.windows)} windows`);
    assert.deepEqual(row.suspected, { path: 0, rhythm: 0 }, `${row.deviceHz} Hz`);
  }
  const sloppy = await evalLocalHours({ sapimouse: root, deviceHz: [125], stampNoiseMs: 25, seed: 1 });
  const s = sloppy.rows[0]!.suspected;
  assert.equal(s.path + s.rhythm, 2, 'stamps 0-25 ms late, as a relay lands them: both sessions suspected');
  assert.match(local.text, /2 recorded pointer paths, stamps up to 1 ms late/);
});
