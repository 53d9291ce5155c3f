import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../../lib/db/db.js';
import { TEST_STORES } from '../../lib/testing/databases.js';
import { silentLogger } from '../../lib/log.js';
import { extractMembers, listMembers, skipReason } from '../datasets/archive.js';
import { importAaltoFile } from '../datasets/aalto.js';
import { KeystrokeExtractor } from '../features/keystroke.js';
import { windowsOf } from '../features/windows.js';
import { emptyProfile, type ModalityEnrolment } from '../profile/profile.js';
import { ProfileStore } from '../store/profiles.js';
import { initTf } from '../models/tf/runtime.js';
import { loadScorerSettings } from '../config.js';
import { sapimouseUsers, type SapimouseUser } from '../testing/sapimouse.js';
import { ScorerEngine } from './engine.js';
import { engineOptions } from './server.js';
import { loadNetworks, MIN_ACTION_NETWORK_AGENTS, MIN_NETWORK_AGENTS, trainActionNetworkFromProfiles, trainKeyEmbeddingFromProfiles, type Networks } from './population-networks.js';

/** Enough optimiser steps to produce a network; its quality is the evaluation's business. */
const TRAINING = { steps: 15 };
const log = silentLogger();

/** `body` on every test store, each with a fresh database and models folder. */
function onEveryStore(body: (db: Db, dir: string, profiles: ProfileStore) => Promise<void>): void {
  for (const store of TEST_STORES) {
    test(`on ${store.name}`, { skip: store.skip }, async () => {
      const { db, drop } = await store.create();
      const dir = await mkdtemp(join(tmpdir(), 'vdiguard-models-'));
      try {
        await body(db, dir, new ProfileStore(db));
      } finally {
        await drop();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
}

/** An enrolling profile holding these windows for one modality. */
function enrolling(profiles: ProfileStore, agentId: string, modality: 'keystroke' | 'mouse', enrolment: ModalityEnrolment): Promise<unknown> {
  return profiles.update(agentId, 'enrolment', () => ({ body: { ...emptyProfile(), [modality]: enrolment }, state: 'enrolling' }));
}

/** What `vdiguard train` does after training: every profile refitted on the fit workers, with these networks. */
async function refitAll(db: Db, dir: string, networks: Networks): Promise<number> {
  const engine = new ScorerEngine(engineOptions(loadScorerSettings({}, { dataDir: dir }), db, log, undefined, networks));
  try {
    await engine.loadPopulation();
    return await engine.refitProfiles();
  } finally {
    await engine.shutdown(5000);
  }
}

describe('population networks: trained on the enrolled agents, versioned, loaded, used by the fit workers', { skip: skipReason('aalto') }, () => {
  let agents: number[][][] = [];

  before(async () => {
    await initTf('wasm');
    const files = (await listMembers('aalto')).filter((m) => m.endsWith('_keystrokes.txt')).sort().slice(0, MIN_NETWORK_AGENTS);
    const root = await extractMembers('aalto', files);
    agents = await Promise.all(files.map(async (f) => windowsOf((await importAaltoFile(join(root, f))).events, new KeystrokeExtractor({ keyVectors: true })).map((w) => w.vector)));
  });

  onEveryStore(async (db, dir, profiles) => {
    const enrol = (i: number) => enrolling(profiles, `agent-${i}`, 'keystroke', { units: 50 * agents[i]!.length, windows: agents[i]!, model: '', template: null });
    for (let i = 0; i < MIN_NETWORK_AGENTS - 1; i++) await enrol(i);
    assert.equal(await trainKeyEmbeddingFromProfiles(db, dir, log, TRAINING), undefined, 'one agent short of the minimum: no network');
    assert.deepEqual(await loadNetworks(db, log), {});

    await enrol(MIN_NETWORK_AGENTS - 1);
    const trained = await trainKeyEmbeddingFromProfiles(db, dir, log, TRAINING);
    assert.ok(trained);
    assert.equal(trained.version, 1);
    assert.equal(trained.agents, MIN_NETWORK_AGENTS);
    assert.ok(existsSync(join(trained.dir, 'model.json')) && existsSync(join(trained.dir, 'weights.bin')));

    const loaded = await loadNetworks(db, log);
    assert.equal(loaded.keyEmbedding?.version, 1);
    assert.equal(loaded.keyEmbedding?.network.fingerprint, trained.network.fingerprint);
    assert.equal(loaded.actionNetwork, undefined, 'no mouse actions enrolled: no mouse action network');

    // Refits run on the fit workers: their templates must name the network the scorer loaded.
    assert.equal(await refitAll(db, dir, loaded), MIN_NETWORK_AGENTS);
    const template = (await profiles.get('agent-0'))?.body.keystroke.template as { network?: string } | null;
    assert.equal(template?.network, trained.network.fingerprint);
  });
});

describe('the mouse action network: trained on the enrolled agents, loaded, and known to the fit workers by agent id', { skip: skipReason('sapimouse') }, () => {
  let users: SapimouseUser[] = [];

  before(async () => {
    await initTf('wasm');
    users = await sapimouseUsers(MIN_ACTION_NETWORK_AGENTS);
  });

  onEveryStore(async (db, dir, profiles) => {
    const enrol = (u: SapimouseUser) => enrolling(profiles, u.user, 'mouse', { units: 20 * u.enrol.length, windows: u.enrol, model: '', template: null });
    for (const u of users.slice(0, -1)) await enrol(u);
    assert.equal(await trainActionNetworkFromProfiles(db, dir, log, { epochs: 2 }), undefined, 'one agent short of the minimum: no network');
    await enrol(users.at(-1)!);
    const trained = await trainActionNetworkFromProfiles(db, dir, log, { epochs: 2 });
    assert.ok(trained);
    assert.equal(trained.version, 1);
    assert.equal(trained.agents, MIN_ACTION_NETWORK_AGENTS);
    assert.ok(existsSync(join(trained.dir, 'model.json')) && existsSync(join(trained.dir, 'weights.bin')));
    const loaded = await loadNetworks(db, log);
    assert.equal(loaded.actionNetwork?.network.fingerprint, trained.network.fingerprint);

    assert.equal(await refitAll(db, dir, loaded), MIN_ACTION_NETWORK_AGENTS);
    // Each template names the network and the agent's own output in it: the agent id reached the worker.
    for (const u of users) {
      const template = (await profiles.get(u.user))?.body.mouse.template as { network?: string; agentClass?: number } | null;
      assert.equal(template?.network, trained.network.fingerprint, u.user);
      assert.equal(typeof template?.agentClass, 'number', u.user);
      assert.equal(template?.agentClass, trained.network.classOf(u.user), u.user);
    }
  });
});
