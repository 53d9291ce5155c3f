/**
 * Windows for the evaluation, built only through the production pipelines: enrolment windows of the
 * pipelines' own size, and "one window of everything here" for a session or a time slice (the
 * extractor run twice: once to count the units, once with a window of exactly that many).
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import type { Modality } from '../features/types.js';
import { windowsOf } from '../features/windows.js';
import type { ModalityPipeline, PipelineFactory, PipelineOptions } from '../models/pipelines.js';

export function pipelineOf(factory: PipelineFactory, modality: Modality, options: PipelineOptions = {}): ModalityPipeline {
  const p = factory(options).find((x) => x.modality === modality);
  if (!p) throw new Error(`no ${modality} pipeline`);
  return p;
}

/** The window vectors the pipeline emits over these events. */
export function vectorsOf(p: ModalityPipeline, events: readonly InputEvent[]): number[][] {
  return windowsOf(events, p.createExtractor()).map((w) => w.vector);
}

function unitsOptions(modality: Modality, units: number): PipelineOptions {
  return modality === 'mouse' ? { mouse: { windowActions: units } } : { keystroke: { windowKeys: units } };
}

/** Units (keystrokes or mouse actions) the modality's extractor completes over these events. */
export function unitsOf(factory: PipelineFactory, modality: Modality, events: readonly InputEvent[]): number {
  const p = pipelineOf(factory, modality, unitsOptions(modality, modality === 'mouse' ? 1 : 5));
  if (modality === 'mouse') return vectorsOf(p, events).length;
  // Keystroke windows need 5 keys at least: count presses instead.
  return events.filter((e) => e.kind?.$case === 'key' && e.kind.value.pressed).length;
}

/** One window over all the units in these events, or undefined with fewer than `minUnits`. */
export function wholeWindow(factory: PipelineFactory, modality: Modality, events: readonly InputEvent[], minUnits: number): number[] | undefined {
  let n = unitsOf(factory, modality, events);
  while (n >= minUnits) {
    const w = vectorsOf(pipelineOf(factory, modality, unitsOptions(modality, n)), events);
    if (w.length > 0) return w[0];
    n -= 1; // a keystroke whose release is lost does not complete: try one fewer
  }
  return undefined;
}
