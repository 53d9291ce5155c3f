/** The public face of the feature extractors. */

export type { FeatureWindow, Modality, WindowExtractor } from './types.js';
export { KEYSTROKE_FEATURES, KeystrokeExtractor, type KeystrokeOptions } from './keystroke.js';
export { ACTION_FEATURES, MOUSE_FEATURES, MouseExtractor, type MouseOptions } from './mouse.js';
export { KeyClass, keyClassOf } from './keyclass.js';
