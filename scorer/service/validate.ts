/**
 * Checks a batch of events from the gateway before the session sees it. The gateway's clock is
 * monotonic, so an event earlier than the one before, or an absurd time, means a broken or hostile
 * sender: the batch is refused with a message naming the event.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { VdiguardError } from '../../lib/errors.js';
import { checkEventTime } from '../recording/format.js';

export function validateBatch(events: readonly InputEvent[], previousTimeMs: number, maxEvents: number, seq: number): void {
  if (events.length > maxEvents) {
    throw new VdiguardError(
      'resource-exhausted',
      `batch ${seq} has ${events.length} events, more than the ${maxEvents} allowed; send smaller batches (VDIGUARD_MAX_BATCH_EVENTS)`,
    );
  }
  let previous = previousTimeMs;
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as InputEvent;
    const time = checkEventTime(e.timeMs, previous);
    if (time) throw new VdiguardError('invalid-argument', `batch ${seq}, event ${i}: ${time.problem}; ${time.hint}`);
    if (e.kind === undefined) throw new VdiguardError('invalid-argument', `batch ${seq}, event ${i}: neither a key nor a mouse event`);
    if (e.timingOnly === true && e.kind.$case !== 'mouse') {
      throw new VdiguardError('invalid-argument', `batch ${seq}, event ${i}: a timing-only sample is a point of the pointer's path, never a key`);
    }
    if (e.kind?.$case === 'mouse' && e.kind.value.buttonMask > 31) {
      throw new VdiguardError('invalid-argument', `batch ${seq}, event ${i}: mouse button mask ${e.kind.value.buttonMask} has bits beyond the five Guacamole defines`);
    }
    previous = e.timeMs;
  }
}
