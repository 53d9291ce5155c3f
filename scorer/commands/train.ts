/**
 * `vdiguard train`: learns from the deployment's own population. First the keystroke embedding
 * network, on every enrolled agent's keystroke windows (a new version in the store and as
 * TensorFlow.js files under <data dir>/models, once there are enough agents); then every agent's
 * templates are refitted with it and against the other agents (population negatives), as new
 * profile versions. Agents enrolled before there were enough others hold fallback templates until
 * this runs. Running scorers load the new network when they restart; until then they score the
 * refitted templates without it (each template names its network).
 */
import { createLogger } from '../../lib/log.js';
import { openDb } from '../../lib/db/db.js';
import { join } from 'node:path';
import { loadScorerSettings, type SCORER_SETTINGS } from '../config.js';
import { ScorerEngine } from '../service/engine.js';
import { engineOptions } from '../service/server.js';
import { initTf } from '../models/tf/runtime.js';
import { loadNetworks, trainKeyEmbeddingFromProfiles, type Networks } from '../service/population-networks.js';
import type { KeyEmbeddingTraining } from '../models/keystroke-embedding.js';

export interface TrainResult {
  /** Profiles refitted. */
  readonly agents: number;
  /** The keystroke network the templates were fitted with: newly trained, or the stored one. */
  readonly keyEmbedding: { readonly version: number; readonly trained: boolean; readonly dir?: string } | null;
}

export async function runTrain(overrides: Partial<Record<keyof typeof SCORER_SETTINGS, string>>, training: KeyEmbeddingTraining = {}): Promise<TrainResult> {
  const settings = loadScorerSettings(process.env, overrides);
  const log = createLogger(settings.logLevel, 'train');
  await initTf(settings.tfBackend);
  const db = await openDb({ databaseUrl: settings.databaseUrl, dataDir: join(settings.dataDir, 'store') });
  try {
    const trained = await trainKeyEmbeddingFromProfiles(db, join(settings.dataDir, 'models'), log, training);
    const networks: Networks = trained ? { keyEmbedding: trained } : await loadNetworks(db, log);
    const engine = new ScorerEngine(engineOptions(settings, db, log, undefined, networks));
    try {
      await engine.loadPopulation();
      const agents = await engine.refitProfiles();
      const k = networks.keyEmbedding;
      return { agents, keyEmbedding: k ? { version: k.version, trained: trained !== undefined, ...(trained ? { dir: trained.dir } : {}) } : null };
    } finally {
      await engine.shutdown(5000);
    }
  } finally {
    await db.close();
  }
}
