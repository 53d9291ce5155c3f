import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_STORES } from '../../lib/testing/databases.js';
import { silentLogger } from '../../lib/log.js';
import { extractMembers, listMembers, skipReason } from '../datasets/archive.js';
import { importAaltoFile } from '../datasets/aalto.js';
import { KeystrokeExtractor } from '../features/keystroke.js';
import { windowsOf } from '../features/windows.js';
import { emptyProfile } from '../profile/profile.js';
import { ProfileStore } from '../store/profiles.js';
import { initTf } from '../models/tf/runtime.js';
import { loadScorerSettings } from '../config.js';
import { ScorerEngine } from './engine.js';
import { engineOptions } from './server.js';
import { loadNetworks, MIN_NETWORK_AGENTS, trainKeyEmbeddingFromProfiles } from './population-networks.js';

/** Enough optimiser steps to produce a network; its quality is the evaluation's business. */
const TRAINING = { steps: 15 };

describe('population networks: trained on the enrolled agents, versioned, loaded, used by the fit workers', { skip: skipReason('aalto') }, () => {
  let agents: number[][][] = [];

  before(async () => {
    await initTf('wasm');
    const files = (await listMembers('aalto')).filter((m) => m.endsWith('_keystrokes.txt')).sort().slice(0, MIN_NETWORK_AGENTS);
    const root = await extractMembers('aalto', files);
    agents = await Promise.all(files.map(async (f) => windowsOf((await importAaltoFile(join(root, f))).events, new KeystrokeExtractor({ keyVectors: true })).map((w) => w.vector)));
  });

  for (const store of TEST_STORES) {
    test(`on ${store.name}`, { skip: store.skip }, async () => {
      const { db, drop } = await store.create();
      const dir = await mkdtemp(join(tmpdir(), 'vdiguard-models-'));
      const log = silentLogger();
      try {
        const profiles = new ProfileStore(db);
        const enrol = async (i: number): Promise<void> => {
          await profiles.update(`agent-${i}`, 'enrolment', () => ({
            body: { ...emptyProfile(), keystroke: { units: 50 * agents[i]!.length, windows: agents[i]!, model: '', template: null } },
            state: 'enrolling',
          }));
        };
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

        // Refits run on the fit workers: their templates must name the network the scorer loaded.
        const settings = loadScorerSettings({}, { dataDir: dir });
        const engine = new ScorerEngine(engineOptions(settings, db, log, undefined, loaded));
        try {
          await engine.loadPopulation();
          assert.equal(await engine.refitProfiles(), MIN_NETWORK_AGENTS);
        } finally {
          await engine.shutdown(5000);
        }
        const template = (await profiles.get('agent-0'))?.body.keystroke.template as { network?: string } | null;
        assert.equal(template?.network, trained.network.fingerprint);
      } finally {
        await drop();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
