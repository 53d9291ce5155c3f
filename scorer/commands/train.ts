/**
 * `vdiguard train`: refits every agent's templates against the deployment's own population (the
 * other enrolled agents), as new profile versions. Population models (the mouse action classifier)
 * use other agents as negatives; agents enrolled before there were enough of them hold fallback
 * templates until this runs. Runs on the store directly; a running scorer picks the new versions
 * up when each agent's next session opens.
 */
import { createLogger } from '../../lib/log.js';
import { openDb } from '../../lib/db/db.js';
import { join } from 'node:path';
import { loadScorerSettings, type SCORER_SETTINGS } from '../config.js';
import { ScorerEngine } from '../service/engine.js';
import { engineOptions } from '../service/server.js';
import { initTf } from '../models/tf/runtime.js';

export async function runTrain(overrides: Partial<Record<keyof typeof SCORER_SETTINGS, string>>): Promise<{ agents: number }> {
  const settings = loadScorerSettings(process.env, overrides);
  const log = createLogger(settings.logLevel, 'train');
  await initTf(settings.tfBackend);
  const db = await openDb({ databaseUrl: settings.databaseUrl, dataDir: join(settings.dataDir, 'store') });
  try {
    const engine = new ScorerEngine(engineOptions(settings, db, log));
    try {
      await engine.loadPopulation();
      return { agents: await engine.refitProfiles() };
    } finally {
      await engine.shutdown(5000);
    }
  } finally {
    await db.close();
  }
}
