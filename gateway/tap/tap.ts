/**
 * The input tap: a hook on the browser -> guacd direction of a tunnel, set before the session
 * starts. It parses the browser's Guacamole instructions as they pass (with gateway/guac), stamps
 * each `key` and `mouse` with the monotonic clock on arrival, hands a copy to `onInput` (the
 * session's bounded mirror queue, which returns at once) and tells the connection what to forward
 * (the message as it came, in the common case). It never waits for anything.
 *
 * What the desktop receives is exactly what the scorer scores. The browser is the adversary's: it
 * may send any spelling of any instruction. So the tap forwards only what it understands the way
 * guacd and the built-in bridge do, and ends the session (CLIENT_BAD_REQUEST) on anything else:
 * - `key` and `mouse` only in canonical form (gateway/guac/input.ts `readInput`, which the bridge
 *   uses too): "+97", "0x61", "097", "97.0", "9.7e1", a keysym past 2^32 or a missing argument
 *   would type on the desktop as something the scorer never saw.
 * - Only the opcodes our page (gateway/page/app.js with guacamole-common-js 1.5.0) sends during a
 *   session: key, mouse; sync (frame acknowledgement), nop (keep-alive), size (window resized),
 *   disconnect, ack (the client declining a stream the desktop offers, e.g. its clipboard) and ''
 *   (the WebSocket tunnel's internal ping). Each of them is either scored input or carries none.
 * - The page's client event times, `vdiguard,time,<ms>` before a key or mouse (./client-time.ts,
 *   docs/client-times.md): consumed here, the time set as `clientTimeMs` on that input's event,
 *   never forwarded (held or not); a malformed one, a second before its input, or any other
 *   `vdiguard` instruction ends the session. Likewise the timing-only samples of the pointer's
 *   full-rate path, `vdiguard,samples,<ms>,<x>,<y>...` before a mouse's time: consumed, never
 *   forwarded, bounded by ./client-time.ts, and mirrored just before their mouse (`timingOnly`,
 *   stamped with the arrival of the message that held them). They are not input: a sample the scorer could not take
 *   withholds nothing from the desktop.
 * - A paste (clipboard, then blob/end on the stream it opened), only when the clipboard policy
 *   (VDIGUARD_CLIPBOARD) is `both`, checked by ./paste.ts: text/plain, canonical stream indexes,
 *   at most 256 KiB. A paste carries no keystrokes: it is not mirrored (the scorer never sees the
 *   text, nor that it was pasted) and nothing of it is logged.
 * - Refused: touch (RDP multi-touch input the scorer never sees), file, pipe, put, get (files and
 *   objects into the desktop), blob/end on any stream but an open paste, argv (changing connection
 *   settings), audio (microphone), and any other opcode.
 * A chunk with a refused instruction is not forwarded at all and nothing of it is mirrored, so a
 * chunk's instructions reach both sides or neither. The desktop never receives part of an
 * instruction: a message that is whole instructions (what guacamole-common-js sends) is forwarded
 * as it came; one that starts or ends inside an instruction is forwarded as its complete
 * instructions, re-encoded, the rest following when it completes.
 *
 * While input is held (an MFA challenge), `key` and `mouse` are not forwarded to the desktop but
 * still mirrored (the scorer keeps weighing whoever is at the keyboard), and pastes are not
 * forwarded either; every other allowed instruction (sync acknowledgements, nop, size) is forwarded
 * re-encoded so the desktop connection stays healthy.
 *
 * What was typed never leaves the tap except as an event to the scorer's stream: the tap keeps no
 * history and logs nothing of the content; its refusals name the argument, never the value.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { encode, GuacParser, GuacProtocolError, readInput, type GuacInput, type Instruction, type ParserLimits } from '../guac/index.js';
import { PASTE_OPCODES, PasteStreams, type ClipboardPolicy } from './paste.js';
import { ClientTimes, EXTENSION_OPCODE } from './client-time.js';

/** The opcodes forwarded from a browser during a session besides a paste (see above for why these and no others). */
export const FORWARDED_OPCODES: ReadonlySet<string> = new Set(['key', 'mouse', 'sync', 'nop', 'size', 'disconnect', 'ack', '']);
/** The instructions a hold keeps from the desktop: input and pastes. */
const HELD_OPCODES: ReadonlySet<string> = new Set(['key', 'mouse', ...PASTE_OPCODES]);

export interface TapOptions {
  /** Milliseconds on a monotonic clock (performance.now() in production). */
  readonly clock: () => number;
  /**
   * Receives each input event; must return at once (it only queues). False: the event could not be
   * queued for the scorer (its buffer is full), so the scorer will never see it.
   */
  readonly onInput: (event: InputEvent) => boolean;
  /**
   * Whether a message with input the scorer could not take still reaches the desktop (fail-open) or
   * is withheld (fail-closed: the page sends one instruction per message, so that is the input).
   */
  readonly forwardUnmirrored?: boolean;
  readonly limits?: Partial<ParserLimits>;
  /** Which way the clipboard may cross (default `off`: no paste into the desktop). */
  readonly clipboard?: ClipboardPolicy;
  /** The largest paste, in bytes (default 256 KiB). */
  readonly maxPasteBytes?: number;
}

export type TapResult =
  /** Forward this (the original chunk, or the re-encoded instructions that may pass while held). */
  | { readonly forward: string | Buffer | null; readonly error?: undefined }
  /** The stream is broken or hostile: end the connection with this error. */
  | { readonly forward?: undefined; readonly error: GuacProtocolError };

export class InputTap {
  private parser: GuacParser;
  private readonly pastes: PasteStreams;
  private readonly times = new ClientTimes();
  /** True while an MFA challenge holds the agent's input. */
  holding = false;
  /** Input events seen, and input instructions not forwarded while held (counts only). */
  inputEvents = 0;
  heldEvents = 0;
  /** Input events the scorer could not take (its buffer was full). */
  unmirroredEvents = 0;

  constructor(private readonly o: TapOptions) {
    this.parser = new GuacParser(o.limits);
    this.pastes = new PasteStreams(o.clipboard === 'both', o.maxPasteBytes);
  }

  /** A new connection of the same session (a reconnect): nothing half-parsed or half-pasted carries over. */
  newConnection(): void {
    this.parser = new GuacParser(this.o.limits);
    this.pastes.reset();
    this.times.reset();
  }

  push(chunk: string | Buffer): TapResult {
    const at = this.o.clock();
    const startedBetween = this.parser.idle;
    const results = this.parser.push(chunk);
    const complete: Instruction[] = [];
    const events: InputEvent[] = [];
    let inputs = 0;
    let consumed = false;
    for (const r of results) {
      if (r.error) return { error: r.error };
      const ins = r.instruction;
      if (ins.opcode === EXTENSION_OPCODE) {
        const refused = this.times.take(ins, at);
        if (refused) return { error: refused };
        consumed = true;
        continue;
      }
      if (PASTE_OPCODES.has(ins.opcode)) {
        const refused = this.pastes.check(ins);
        if (refused) return { error: refused };
      } else if (!FORWARDED_OPCODES.has(ins.opcode)) return { error: notForwarded(ins.opcode) };
      const read = readInput(ins);
      if (read?.error) return { error: read.error };
      if (read) {
        const samples = this.times.samplesBefore(read.input);
        if (samples instanceof GuacProtocolError) return { error: samples };
        events.push(...samples);
        events.push(toInputEvent(read.input, at, this.times.forInput()));
        inputs++;
      }
      complete.push(ins);
    }
    // Mirrored only once the whole chunk has passed: a refused chunk reaches neither side.
    this.inputEvents += inputs;
    if (this.holding) this.heldEvents += inputs;
    let unmirrored = 0;
    for (const e of events) if (!this.o.onInput(e) && e.timingOnly !== true) unmirrored++;
    this.unmirroredEvents += unmirrored;
    // Input the scorer will never see does not reach the desktop either, unless policy says so.
    const withhold = this.holding || (unmirrored > 0 && !this.o.forwardUnmirrored);
    // The message itself goes on only when it is exactly whole instructions, all passing and none
    // consumed here (what the page sends); otherwise the desktop gets the complete instructions that
    // pass, re-encoded, and never part of one: a head forwarded raw and its rest re-encoded (or
    // withheld) would let the desktop read instructions the tap never saw.
    if (!withhold && !consumed && startedBetween && this.parser.idle) return { forward: chunk };
    const passed = withhold ? complete.filter((ins) => !HELD_OPCODES.has(ins.opcode)) : complete;
    return { forward: passed.length > 0 ? passed.map(encode).join('') : null };
  }
}

function notForwarded(opcode: string): GuacProtocolError {
  return new GuacProtocolError(
    'opcode-not-allowed',
    `instruction ${JSON.stringify(opcode.slice(0, 32))} is not accepted from the browser: the gateway forwards only ${[...FORWARDED_OPCODES].map((o) => JSON.stringify(o)).join(', ')}`,
    opcode.slice(0, 32),
  );
}

/** Canonical input (gateway/guac/input.ts) as the event the scorer receives, with the page's time of it when one was sent. */
export function toInputEvent(input: GuacInput, timeMs: number, clientTimeMs?: number): InputEvent {
  const kind: InputEvent['kind'] =
    input.kind === 'key'
      ? { $case: 'key', value: { keysym: input.keysym, pressed: input.pressed } }
      : { $case: 'mouse', value: { x: input.x, y: input.y, buttonMask: input.buttonMask } };
  return clientTimeMs === undefined ? { timeMs, kind } : { timeMs, kind, clientTimeMs };
}
