/** `vdiguard scorer`: runs the scoring service until SIGINT or SIGTERM. */
import { createLogger } from '../../lib/log.js';
import { loadScorerSettings, type SCORER_SETTINGS } from '../config.js';
import { startScorer } from '../service/server.js';
import { untilSignalled } from '../../lib/signals.js';
import { startTelemetry } from '../../lib/telemetry/telemetry.js';

export async function runScorer(overrides: Partial<Record<keyof typeof SCORER_SETTINGS, string>>): Promise<void> {
  const settings = loadScorerSettings(process.env, overrides);
  const log = createLogger(settings.logLevel, 'scorer');
  // Before the scorer: its instruments bind to whatever provider exists when they are created.
  const telemetry = startTelemetry('vdiguard-scorer');
  // Listening before starting: a SIGTERM while the scorer starts (writing a spill, say) then stops
  // it through its drain once it has started, rather than killing it mid-write.
  const signalled = untilSignalled(log);
  const scorer = await startScorer(settings, { log });
  process.stderr.write(`vdiguard scorer listening on ${scorer.address}\n`);
  await signalled;
  await scorer.close();
  await telemetry.shutdown();
}
