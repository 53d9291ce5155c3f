/**
 * Which extractor and model serve each modality. The scorer service, enrolment and the evaluation
 * harness all build their pipelines here, so they always score the same way.
 */
import type { JsonValue } from '../../lib/json.js';
import type { Modality, WindowExtractor } from '../features/types.js';
import { KeystrokeExtractor } from '../features/keystroke.js';
import type { ModalityModel } from './types.js';
import { ScaledManhattan } from './scaled-manhattan.js';

/** How one modality turns events into calibrated window scores. */
export interface ModalityPipeline {
  readonly modality: Modality;
  createExtractor(): WindowExtractor;
  readonly model: ModalityModel<JsonValue>;
}

export function defaultPipelines(): ModalityPipeline[] {
  return [
    { modality: 'keystroke', createExtractor: () => new KeystrokeExtractor(), model: new ScaledManhattan() as ModalityModel<JsonValue> },
  ];
}
