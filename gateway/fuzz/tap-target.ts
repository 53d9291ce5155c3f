/**
 * The tap under fuzz: one case is a fresh InputTap (as each connection has), fed a generated stream
 * in arbitrary chunks exactly as the session feeds it, stopping at the first error as the session
 * does. A refusal is a correct outcome; what is checked:
 * - push never throws;
 * - the desktop side, reading everything the tap forwarded, never completes an instruction the tap's
 *   parser did not accept (same instructions, same order, less the page's client times and samples,
 *   which the tap consumes; while input is held, no key or mouse at all);
 * - every input event the tap reports comes from a key or mouse instruction it accepted, and every
 *   timing-only sample from a mouse (at most 32 before each);
 * - memory stays bounded: a 64 MB element streamed through the tap is never buffered.
 * Hangs are the caller's to catch (tap-worker.ts runs this under a watchdog).
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { GuacParser, type Instruction } from '../guac/index.js';
import { InputTap, type TapOptions } from '../tap/tap.js';
import { MAX_SAMPLES_PER_MOVE } from '../tap/client-time.js';
import { asBytes, downstreamInstructions, throughUtf8 } from './downstream.js';
import { caseRng, chunks, stream, type Wire } from './generate.js';

export interface TapCase {
  readonly index: number;
  /** Generated instructions in the stream (some broken at the byte level). */
  readonly instructions: number;
  readonly holding: boolean;
  readonly chunks: readonly Wire[];
}

export function tapCase(seed: number, index: number): TapCase {
  const rng = caseRng(seed, index);
  const instructions = 1 + rng.int(rng.chance(0.9) ? 20 : 200);
  const wire = stream(rng, instructions, rng.pick([0, 0.01, 0.05, 0.3]));
  return { index, instructions, holding: rng.chance(0.2), chunks: chunks(rng, wire) };
}

export interface TapOutcome {
  /** What broke a rule (undefined: the tap behaved, whether it refused the stream or not). */
  readonly violation?: string;
  readonly refused: boolean;
  /** Key/mouse instructions the desktop side completed with no input event (non-canonical spellings). */
  readonly unscored: number;
  /** Longest single push, in milliseconds. */
  readonly maxPushMs: number;
}

const isInput = (i: Instruction) => i.opcode === 'key' || i.opcode === 'mouse';
/** The page's client time or sample (gateway/tap/client-time.ts): the tap consumes them, so the desktop side never reads one. */
const isClientTime = (i: Instruction) => i.opcode === 'vdiguard';
const same = (a: Instruction, b: Instruction) => a.opcode === b.opcode && a.args.length === b.args.length && a.args.every((x, k) => x === b.args[k]);
const show = (i: Instruction | undefined) => (i === undefined ? 'nothing' : JSON.stringify([i.opcode, ...i.args]).slice(0, 120));

/** What the fuzz needs of a tap: InputTap's public surface. */
export type TapUnderTest = Pick<InputTap, 'push' | 'holding'>;

/** Runs one case; an exception from the tap propagates (a crash, for the caller to record). */
export function runTapCase(c: TapCase, makeTap: (o: TapOptions) => TapUnderTest = (o) => new InputTap(o)): TapOutcome {
  let clock = 0;
  const events: InputEvent[] = [];
  const tap = makeTap({ clock: () => clock, onInput: (e) => events.push(e) > 0 });
  tap.holding = c.holding;
  // The tap's parser seen from outside: the same codec with the same (default) limits and chunks.
  const shadow = new GuacParser();
  const accepted: Instruction[] = [];
  const forwarded: Wire[] = [];
  let refused = false;
  let inputsBeforeRefusal = 0;
  let maxPushMs = 0;
  for (const chunk of c.chunks) {
    clock++;
    const t0 = performance.now();
    const r = tap.push(chunk);
    maxPushMs = Math.max(maxPushMs, performance.now() - t0);
    const seen = shadow.push(chunk);
    if (r.error) {
      refused = true;
      // The instructions before the error in this chunk may have been mirrored, though none is forwarded.
      for (const s of seen) {
        if (s.error) break;
        if (isInput(s.instruction)) inputsBeforeRefusal++;
      }
      break;
    }
    for (const s of seen) {
      if (s.error) return { violation: `the tap passed a chunk in which its parser found an error (${s.error.reason})`, refused, unscored: 0, maxPushMs };
      accepted.push(s.instruction);
    }
    if (r.forward !== null) forwarded.push(r.forward);
  }

  const expected = accepted.filter((i) => !isClientTime(i) && !(c.holding && isInput(i))).map(throughUtf8);
  const delivered = downstreamInstructions(asBytes(forwarded));
  for (let k = 0; k < delivered.length; k++) {
    if (!same(delivered[k] as Instruction, expected[k] ?? { opcode: '\u0000none', args: [] })) {
      return {
        violation: `the desktop side read instruction ${k + 1} as ${show(delivered[k])} but the tap accepted ${show(expected[k])}`,
        refused, unscored: 0, maxPushMs,
      };
    }
  }
  const inputs = accepted.filter(isInput).length + inputsBeforeRefusal;
  const inputEvents = events.filter((e) => e.timingOnly !== true);
  if (inputEvents.length > inputs) {
    return { violation: `the tap reported ${inputEvents.length} input events for ${inputs} key/mouse instructions it accepted`, refused, unscored: 0, maxPushMs };
  }
  let samplesBefore = 0;
  for (const e of events) {
    if (e.timingOnly !== true) samplesBefore = 0;
    else if (++samplesBefore > MAX_SAMPLES_PER_MOVE || e.kind?.$case !== 'mouse') return { violation: `the tap mirrored a sample that is not one of at most ${MAX_SAMPLES_PER_MOVE} mouse points before an input`, refused, unscored: 0, maxPushMs };
  }
  if (samplesBefore > 0) return { violation: 'the tap mirrored samples with no input after them', refused, unscored: 0, maxPushMs };
  const unscored = c.holding ? 0 : Math.max(0, delivered.filter(isInput).length - inputEvents.length);
  return { refused, unscored, maxPushMs };
}

/**
 * One element declared 9,999,999,999 characters long, 64 MB of it streamed through a tap: the heap
 * must not grow by anything like it (the parser skips what is over its limit, the tap forwards and
 * forgets). Returns the heap growth in bytes.
 */
export function hugeElementHeapGrowth(): number {
  const tap = new InputTap({ clock: () => 0, onInput: () => true });
  const piece = 'x'.repeat(64 * 1024);
  const before = process.memoryUsage().heapUsed;
  let peak = before;
  if (tap.push('3.key,9999999999.').error) return 0;
  for (let i = 0; i < 1024; i++) {
    if (tap.push(piece).error) break;
    if (i % 64 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
  }
  return peak - before;
}
