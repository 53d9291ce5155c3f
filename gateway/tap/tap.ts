/**
 * The input tap: a hook on the browser -> guacd direction of a tunnel, set before the session
 * starts. It parses the browser's Guacamole instructions as they pass (with gateway/guac), stamps
 * each `key` and `mouse` with the monotonic clock on arrival, hands a copy to `onInput` (the
 * session's bounded mirror queue, which returns at once) and tells the connection to forward the
 * original chunk unchanged. It never waits for anything.
 *
 * While input is held (an MFA challenge), `key` and `mouse` are not forwarded to the desktop but
 * still mirrored (the scorer keeps weighing whoever is at the keyboard); every other instruction
 * (sync acknowledgements, nop, size) is forwarded re-encoded so the desktop connection stays
 * healthy. guacamole-common-js sends one instruction per WebSocket
 * message, so a hold never starts inside an instruction the desktop has partly received.
 *
 * What was typed never leaves the tap except as an event to the scorer's stream: the tap keeps no
 * history and logs nothing of the content.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { encode, GuacParser, type GuacProtocolError, type Instruction, type ParserLimits } from '../guac/index.js';

export interface TapOptions {
  /** Milliseconds on a monotonic clock (performance.now() in production). */
  readonly clock: () => number;
  /** Receives each input event; must return at once (it only queues). */
  readonly onInput: (event: InputEvent) => void;
  readonly limits?: Partial<ParserLimits>;
}

export type TapResult =
  /** Forward this (the original chunk, or the re-encoded instructions that may pass while held). */
  | { readonly forward: string | Buffer | null; readonly error?: undefined }
  /** The stream is broken or hostile: end the connection with this error. */
  | { readonly forward?: undefined; readonly error: GuacProtocolError };

export class InputTap {
  private parser: GuacParser;
  /** True while an MFA challenge holds the agent's input. */
  holding = false;
  /** Input events seen, and input instructions not forwarded while held (counts only). */
  inputEvents = 0;
  heldEvents = 0;

  constructor(private readonly o: TapOptions) {
    this.parser = new GuacParser(o.limits);
  }

  /** A new connection of the same session (a reconnect): nothing half-parsed carries over. */
  newConnection(): void {
    this.parser = new GuacParser(this.o.limits);
  }

  push(chunk: string | Buffer): TapResult {
    const at = this.o.clock();
    const results = this.parser.push(chunk);
    let passed: string[] | undefined = this.holding ? [] : undefined;
    for (const r of results) {
      if (r.error) return { error: r.error };
      const ins = r.instruction;
      const isInput = ins.opcode === 'key' || ins.opcode === 'mouse';
      if (isInput) {
        const event = toInputEvent(ins, at);
        if (event) {
          this.inputEvents++;
          this.o.onInput(event);
        }
        if (this.holding) {
          this.heldEvents++;
          continue;
        }
      }
      passed?.push(encode(ins));
    }
    if (passed === undefined) return { forward: chunk };
    return { forward: passed.length > 0 ? passed.join('') : null };
  }
}

/** Left, middle, right, wheel up, wheel down. */
const GUAC_BUTTONS = 0b11111;
const UINT32 = /^\d{1,10}$/;
const INT32 = /^-?\d{1,10}$/;

/** A `key` or `mouse` instruction as an input event; undefined when its arguments are not numbers. */
export function toInputEvent(ins: Instruction, timeMs: number): InputEvent | undefined {
  const [a, b, c] = ins.args;
  if (ins.opcode === 'key') {
    if (a === undefined || !UINT32.test(a) || (b !== '0' && b !== '1')) return undefined;
    return { timeMs, kind: { $case: 'key', value: { keysym: Number(a) >>> 0, pressed: b === '1' } } };
  }
  if (ins.opcode === 'mouse') {
    if (a === undefined || b === undefined || c === undefined || !INT32.test(a) || !INT32.test(b) || !UINT32.test(c)) return undefined;
    // Only the five buttons Guacamole defines reach the scorer, which refuses other bits: a browser
    // sending them must not get its batches refused and the session left unscored.
    return { timeMs, kind: { $case: 'mouse', value: { x: Number(a) | 0, y: Number(b) | 0, buttonMask: Number(c) & GUAC_BUTTONS } } };
  }
  return undefined;
}
