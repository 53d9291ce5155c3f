import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, TEST_STORES } from '../../lib/testing/databases.js';
import { startTcpProxy } from '../../lib/testing/tcp-proxy.js';
import { openDb } from '../../lib/db/db.js';
import { silentLogger } from '../../lib/log.js';
import { VdiguardError } from '../../lib/errors.js';
import { emptyProfile } from '../profile/profile.js';
import type { ProfileRecord } from '../store/profiles.js';
import { loadScorerSettings } from '../config.js';
import { ALICE, typing } from '../testing/typist.js';
import { ProfileCache } from './profile-cache.js';
import { ScorerEngine } from './engine.js';
import { engineOptions } from './server.js';

/** A profile whose keystroke template is `templateChars` long, with `windows` windows of 20 numbers. */
function record(agentId: string, templateChars: number, windows = 0, version = 1): ProfileRecord {
  const body = emptyProfile();
  return {
    agentId,
    version,
    state: 'mature',
    keystrokes: 500,
    mouseActions: 0,
    updatedAt: new Date(0),
    body: {
      ...body,
      keystroke: { units: 500, windows: Array.from({ length: windows }, () => Array(20).fill(0.5)), model: 'm', template: { weights: 'w'.repeat(templateChars) } },
    },
  };
}

describe('the profile cache', () => {
  test('keeps no windows, and counts what it keeps by the size of the templates', () => {
    const cache = new ProfileCache(1_000_000);
    cache.put('alice', record('alice', 10_000, 300));
    assert.deepEqual(cache.get('alice')?.body.keystroke.windows, []);
    assert.ok(cache.bytes > 10_000 && cache.bytes < 11_000, `${cache.bytes} bytes for a 10,000-character template`);
    cache.put('bob', null);
    assert.equal(cache.get('bob'), null, 'an agent with no profile yet is kept as such');
    assert.equal(cache.get('carol'), undefined);
  });

  test('drops the least recently used beyond its bytes, however few the entries', () => {
    const cache = new ProfileCache(35_000);
    for (const id of ['a', 'b', 'c']) cache.put(id, record(id, 10_000));
    cache.get('a');
    cache.put('d', record('d', 10_000));
    assert.deepEqual(['a', 'b', 'c', 'd'].filter((id) => cache.has(id)), ['a', 'c', 'd'], 'b was used least recently');
    assert.ok(cache.bytes <= 35_000);
    cache.put('huge', record('huge', 50_000));
    assert.equal(cache.has('huge'), false, 'a profile larger than the whole bound is not kept');
    assert.equal(cache.size, 3, 'and pushes nothing out');
  });

  test('a new version replaces a kept profile and stays within the bound; agents not kept stay out', () => {
    const cache = new ProfileCache(22_000);
    cache.put('b', record('b', 5_000));
    cache.put('a', record('a', 5_000));
    cache.refresh('a', record('a', 18_000, 0, 2));
    assert.equal(cache.get('a')?.version, 2);
    assert.equal(cache.has('b'), false, 'the larger version pushed the least recently used out');
    cache.refresh('c', record('c', 1_000));
    assert.equal(cache.has('c'), false, "a fit of an agent whose session is not here is not kept");
    cache.delete('a');
    assert.equal(cache.bytes, 0);
  });
});

describe('a scorer whose database is cut', { skip: TEST_STORES[1]!.skip }, () => {
  test('opens sessions of agents it opened before with the profile it kept, and refuses others clearly', { timeout: 120_000 }, async () => {
    const { url, dropDatabase } = await createTestDatabase();
    const proxy = await startTcpProxy('127.0.0.1', Number(new URL(url).port || 5432));
    const viaProxy = new URL(url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const db = await openDb({ databaseUrl: viaProxy.toString() });
    const settings = loadScorerSettings({}, { dataDir: mkdtempSync(join(tmpdir(), 'vdiguard-cache-')), matureKeystrokes: '300' });
    const engine = new ScorerEngine({ ...engineOptions(settings, db, silentLogger()), contributionSweepMs: 0 });
    try {
      await engine.recover();
      // Both enrol through this scorer (it fits both); only Alice has had a session here.
      await engine.enroll('alice', typing(ALICE, 700, 1));
      await engine.enroll('bob', typing(ALICE, 700, 2));
      const alice = { sessionId: 'a1', agentId: 'alice', desktopId: 'd', clientAddress: '127.0.0.1' };
      assert.equal((await engine.openSession(alice, false)).profileState, 'mature');
      engine.closeSession('a1', 'agent signed out');
      assert.equal(await engine.drainWrites(30_000), true);

      proxy.cut();
      const again = await engine.openSession({ ...alice, sessionId: 'a2' }, false);
      assert.equal(again.profileState, 'mature', 'scored with her enrolled profile, not as a newcomer');
      await assert.rejects(
        engine.openSession({ sessionId: 'b1', agentId: 'bob', desktopId: 'd', clientAddress: '127.0.0.1' }, false),
        (err: unknown) => err instanceof VdiguardError && err.code === 'unavailable' && /cannot load the profile of agent bob/.test(err.message),
      );
    } finally {
      proxy.restore();
      await engine.shutdown(5_000);
      await db.close();
      await proxy.close();
      await dropDatabase();
    }
  });
});
