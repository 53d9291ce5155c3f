import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openDb } from '../../lib/db/db.js';
import { skipReason } from '../datasets/archive.js';
import { emptyProfile } from '../profile/profile.js';
import { ProfileStore } from '../store/profiles.js';
import { PopulationModelStore } from '../store/population-models.js';
import { MIN_ACTION_NETWORK_AGENTS } from '../service/population-networks.js';
import { sapimouseUsers } from '../testing/sapimouse.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../bin/vdiguard.js', import.meta.url));

test('vdiguard train: trains the population networks there are agents for, then refits every profile with them', { skip: skipReason('sapimouse') }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vdiguard-train-'));
  try {
    const users = await sapimouseUsers(MIN_ACTION_NETWORK_AGENTS);
    const store = () => openDb({ dataDir: join(dir, 'store') });
    let db = await store();
    const profiles = new ProfileStore(db);
    for (const u of users) {
      await profiles.update(u.user, 'enrolment', () => ({ body: { ...emptyProfile(), mouse: { units: 20 * u.enrol.length, windows: u.enrol, model: '', template: null } }, state: 'enrolling' }));
    }
    await db.close();

    const { stderr } = await run(process.execPath, [CLI, 'train', '--data', dir], { env: { ...process.env, DATABASE_URL: '', VDIGUARD_LOG_LEVEL: 'silent' } });
    assert.match(stderr, new RegExp(`refitted ${users.length} profiles against the population, with no keystroke network yet \\(too few agents\\) and mouse action network v1 trained \\(files in [^)]*action-network/v1\\)`));
    assert.ok(existsSync(join(dir, 'models', 'action-network', 'v1', 'model.json')));

    db = await store();
    try {
      const [record] = await new PopulationModelStore(db).list();
      assert.equal(record?.name, 'action-network');
      assert.equal(record?.agents, users.length);
      for (const u of users) {
        const body = (await new ProfileStore(db).get(u.user))?.body;
        const template = body?.mouse.template as { network?: string } | null;
        assert.equal(body?.mouse.model, 'action-fusion');
        assert.equal(template?.network, record?.summary.fingerprint, `${u.user}'s template names the network it was fitted with`);
      }
    } finally {
      await db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
