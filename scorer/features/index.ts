/** The feature extractors of a session, created from one options object. */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { KeystrokeExtractor, type KeystrokeOptions } from './keystroke.js';
import { MouseExtractor, type MouseOptions } from './mouse.js';
import type { FeatureWindow, WindowExtractor } from './types.js';

export type { FeatureWindow, Modality, WindowExtractor } from './types.js';
export { KEYSTROKE_FEATURES, KeystrokeExtractor, type KeystrokeOptions } from './keystroke.js';
export { ACTION_FEATURES, MOUSE_FEATURES, MouseExtractor, type MouseOptions } from './mouse.js';
export { KeyClass, keyClassOf } from './keyclass.js';

export interface ExtractorOptions {
  keystroke?: KeystrokeOptions;
  mouse?: MouseOptions;
}

/** Both extractors of one session behind one push(): windows of either modality come out. */
export class SessionExtractor implements WindowExtractor {
  readonly keystroke: KeystrokeExtractor;
  readonly mouse: MouseExtractor;

  constructor(options: ExtractorOptions = {}) {
    this.keystroke = new KeystrokeExtractor(options.keystroke);
    this.mouse = new MouseExtractor(options.mouse);
  }

  push(e: InputEvent): FeatureWindow[] {
    return e.kind?.$case === 'key' ? this.keystroke.push(e) : this.mouse.push(e);
  }
}

export function createExtractors(options: ExtractorOptions = {}): SessionExtractor {
  return new SessionExtractor(options);
}
