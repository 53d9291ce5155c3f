/** Runs events through an extractor and collects the windows (recordings, tests, measurement). */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import type { FeatureWindow, WindowExtractor } from './types.js';

export function windowsOf(events: Iterable<InputEvent>, extractor: WindowExtractor): FeatureWindow[] {
  const out: FeatureWindow[] = [];
  for (const e of events) for (const w of extractor.push(e)) out.push(w);
  return out;
}
