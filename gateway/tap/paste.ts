/**
 * Paste from the browser into the desktop: the only streams a browser may open. guacamole-common-js
 * pastes with `clipboard,<stream>,text/plain` followed by `blob,<stream>,<base64>` and
 * `end,<stream>` (Guacamole.Client.createClipboardStream); guacd hands the text to the desktop's
 * clipboard. This module decides, instruction by instruction, whether such a stream is well formed;
 * it keeps only stream indexes and byte counts, never the text.
 *
 * - only when the clipboard policy lets text into the desktop (`both`);
 * - a stream index in canonical form (guacd reads it with atoi: "01" and "1" would be one stream to
 *   it and two here), at most a few open at once;
 * - mimetype exactly `text/plain` (guacd would take any text/* and images);
 * - `blob` and `end` only on a stream a `clipboard` instruction opened, and not yet ended: a blob on
 *   any other stream would feed a file, pipe or argument stream the tap never allowed;
 * - base64 that decodes (guacd would skip what does not) to at most `maxBytes` per paste.
 */
import { GuacProtocolError, type Instruction } from '../guac/index.js';

export const CLIPBOARD_POLICIES = ['both', 'to-browser', 'off'] as const;
/** Which way text may cross: `both`, desktop to browser only (`to-browser`), or not at all (`off`). */
export type ClipboardPolicy = (typeof CLIPBOARD_POLICIES)[number];

/** The opcodes of a paste. */
export const PASTE_OPCODES: ReadonlySet<string> = new Set(['clipboard', 'blob', 'end']);

/** The largest paste by default, in bytes of text (UTF-8). */
export const DEFAULT_PASTE_BYTES = 256 * 1024;
/** Streams a browser may have open at once (the page opens one per paste, and ends it at once). */
const MAX_OPEN = 4;
/** Arguments of each paste instruction. */
const ARITY: Readonly<Record<string, number>> = { clipboard: 2, blob: 2, end: 1 };
const STREAM_INDEX = /^(?:0|[1-9][0-9]{0,5})$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export class PasteStreams {
  /** Bytes received so far on each open paste stream, by stream index. */
  private readonly open = new Map<string, number>();

  constructor(
    private readonly allowed: boolean,
    private readonly maxBytes: number = DEFAULT_PASTE_BYTES,
  ) {}

  /** Checks one paste instruction (opcode in PASTE_OPCODES) and updates the open streams; an error is fatal. */
  check(ins: Instruction): GuacProtocolError | undefined {
    if (!this.allowed) return refused(ins.opcode, 'the clipboard policy (VDIGUARD_CLIPBOARD) does not let text from the browser into the desktop');
    const [stream = '', value = ''] = ins.args;
    if (ins.args.length !== ARITY[ins.opcode] || !STREAM_INDEX.test(stream)) {
      return refused(ins.opcode, `expected ${ARITY[ins.opcode]} arguments, the first a stream index in canonical form`);
    }
    if (ins.opcode === 'clipboard') {
      if (value !== 'text/plain') return refused(ins.opcode, 'only text/plain may be pasted');
      if (this.open.has(stream)) return refused(ins.opcode, 'the stream is already open');
      if (this.open.size >= MAX_OPEN) return refused(ins.opcode, `more than ${MAX_OPEN} paste streams open at once`);
      this.open.set(stream, 0);
      return undefined;
    }
    const received = this.open.get(stream);
    if (received === undefined) return refused(ins.opcode, 'no paste is open on that stream');
    if (ins.opcode === 'end') {
      this.open.delete(stream);
      return undefined;
    }
    if (!BASE64.test(value)) return refused(ins.opcode, 'the data is not base64');
    const bytes = received + (value.length / 4) * 3 - (value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0);
    if (bytes > this.maxBytes) return refused(ins.opcode, `the paste is larger than ${this.maxBytes} bytes`);
    this.open.set(stream, bytes);
    return undefined;
  }

  /** A new connection: streams of the last one do not carry over. */
  reset(): void {
    this.open.clear();
  }
}

function refused(opcode: string, why: string): GuacProtocolError {
  return new GuacProtocolError('opcode-not-allowed', `paste instruction ${JSON.stringify(opcode)} refused: ${why}`, opcode);
}
