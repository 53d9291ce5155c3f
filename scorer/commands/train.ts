/**
 * `vdiguard train`: learns from the deployment's own population. First the population networks,
 * the keystroke embedding network on every enrolled agent's keystroke windows and the mouse action
 * network on their mouse windows (each a new version in the store and as TensorFlow.js files under
 * <data dir>/models, once there are enough agents); then every agent's
 * templates are refitted with it and against the other agents (population negatives), as new
 * profile versions. Agents enrolled before there were enough others hold fallback templates until
 * this runs. Running scorers load the new network when they restart; until then they score the
 * refitted templates without it (each template names its network).
 */
import { createLogger, type Logger } from '../../lib/log.js';
import { openDb, type Db } from '../../lib/db/db.js';
import { join } from 'node:path';
import { loadScorerSettings, type SCORER_SETTINGS, type ScorerSettings } from '../config.js';
import { ScorerEngine } from '../service/engine.js';
import { engineOptions } from '../service/server.js';
import { initTf } from '../models/tf/runtime.js';
import { loadNetworks, readPopulation, trainActionNetworkFromProfiles, trainKeyEmbeddingFromProfiles, type Networks } from '../service/population-networks.js';
import type { KeyEmbeddingTraining } from '../models/keystroke-embedding.js';
import type { ActionNetworkTraining } from '../models/action-network.js';

/** A population network the templates were fitted with: newly trained, or the stored one. */
export interface TrainedNetwork {
  readonly version: number;
  readonly trained: boolean;
  readonly dir?: string;
}

export interface TrainResult {
  /** Profiles refitted. */
  readonly agents: number;
  readonly keyEmbedding: TrainedNetwork | null;
  readonly actionNetwork: TrainedNetwork | null;
}

export interface TrainingOptions {
  readonly keyEmbedding?: KeyEmbeddingTraining;
  readonly actionNetwork?: ActionNetworkTraining;
}

export async function runTrain(overrides: Partial<Record<keyof typeof SCORER_SETTINGS, string>>, training: TrainingOptions = {}): Promise<TrainResult> {
  const settings = loadScorerSettings(process.env, overrides);
  const log = createLogger(settings.logLevel, 'train');
  await initTf(settings.tfBackend);
  const db = await openDb({ databaseUrl: settings.databaseUrl, dataDir: join(settings.dataDir, 'store') });
  try {
    return await trainOn(db, settings, log, training);
  } finally {
    await db.close();
  }
}

/** What `vdiguard train` does, on a store already open: trains the networks and refits every profile. */
export async function trainOn(db: Db, settings: ScorerSettings, log: Logger, training: TrainingOptions = {}): Promise<TrainResult> {
  const modelsDir = join(settings.dataDir, 'models');
  const population = await readPopulation(db);
  const key = await trainKeyEmbeddingFromProfiles(db, modelsDir, log, training.keyEmbedding, population);
  const action = await trainActionNetworkFromProfiles(db, modelsDir, log, training.actionNetwork, population);
  // A network too few agents could train keeps its stored version.
  const stored = key && action ? {} : await loadNetworks(db, log);
  const networks: Networks = { ...stored, ...(key ? { keyEmbedding: key } : {}), ...(action ? { actionNetwork: action } : {}) };
  const engine = new ScorerEngine(engineOptions(settings, db, log, undefined, networks));
  try {
    await engine.loadPopulation();
    const agents = await engine.refitProfiles();
    const outcome = (n: { version: number } | undefined, trained: { dir: string } | undefined): TrainedNetwork | null =>
      n ? { version: n.version, trained: trained !== undefined, ...(trained ? { dir: trained.dir } : {}) } : null;
    return { agents, keyEmbedding: outcome(networks.keyEmbedding, key), actionNetwork: outcome(networks.actionNetwork, action) };
  } finally {
    await engine.shutdown(5000);
  }
}
