import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_STORES } from '../../lib/testing/databases.js';
import type { TfModelJson } from '../models/tf/artifacts.js';
import { PopulationModelStore } from './population-models.js';

const artifacts = (tag: number): TfModelJson => ({ format: 'tfjs-layers', modelTopology: { tag }, weightSpecs: [], weightData: Buffer.from([tag]).toString('base64'), userDefinedMetadata: null });

for (const store of TEST_STORES) {
  describe(`population model store on ${store.name}`, { skip: store.skip }, () => {
    test('each save is a new version; latest returns the newest with its artifacts; old versions are pruned', async () => {
      const { db, drop } = await store.create();
      try {
        const models = new PopulationModelStore(db);
        assert.equal(await models.latest('key-embedding'), null);
        for (let i = 1; i <= 7; i++) {
          const saved = await models.save('key-embedding', 10 + i, { loss: i / 10 }, artifacts(i));
          assert.equal(saved.version, i);
        }
        await models.save('other', 3, {}, artifacts(99));
        const latest = await models.latest('key-embedding');
        assert.equal(latest?.version, 7);
        assert.equal(latest?.agents, 17);
        assert.deepEqual(latest?.summary, { loss: 0.7 });
        assert.deepEqual(latest?.artifacts, artifacts(7));
        const kept = (await models.list()).filter((m) => m.name === 'key-embedding').map((m) => m.version);
        assert.deepEqual(kept, [7, 6, 5, 4, 3]);
      } finally {
        await drop();
      }
    });

    test('concurrent trainings of one network get distinct versions', async () => {
      const { db, drop } = await store.create();
      try {
        const models = new PopulationModelStore(db);
        const saved = await Promise.all([1, 2, 3].map((i) => models.save('key-embedding', i, {}, artifacts(i))));
        assert.deepEqual(saved.map((s) => s.version).sort(), [1, 2, 3]);
      } finally {
        await drop();
      }
    });
  });
}
