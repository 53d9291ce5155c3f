/**
 * Guacamole instruction parser: a pure state machine, no sockets. Feed it chunks of text or bytes
 * as they arrive, split anywhere (even inside a multi-byte UTF-8 sequence or a length prefix), and it
 * returns the instructions completed by each chunk.
 *
 * Limits keep a hostile peer from making it buffer without bound. An element or instruction over a
 * limit is not fatal: its content is skipped (never buffered) up to its `;`, the parser reports a
 * non-fatal error in its place and carries on with the next instruction. Syntax errors (a bad length
 * prefix, a missing terminator, invalid UTF-8) are fatal: the stream cannot be resynchronised.
 *
 * For a pass-through tap: parse each chunk as it passes and forward the chunk itself unchanged; the
 * parser keeps no reference to it.
 *
 *   const parser = new GuacParser();
 *   for (const item of parser.push(chunk)) {
 *     if (item.error) ... else if (item.instruction.opcode === 'key') ...
 *   }
 */
import { GuacProtocolError } from './errors.js';
import { isSurrogatePair, type Instruction } from './encoder.js';

export interface ParserLimits {
  /** Largest element value, in code points. */
  readonly maxElementLength: number;
  /** Largest instruction, in code points, counting length prefixes and punctuation. */
  readonly maxInstructionLength: number;
  /** Most elements in one instruction, the opcode included. */
  readonly maxElements: number;
}

/**
 * guacd's own limits (GUAC_INSTRUCTION_MAX_LENGTH 8192, GUAC_INSTRUCTION_MAX_ELEMENTS 128), which
 * every conforming client keeps to: guacamole-common-js sends blobs of at most 6048 characters.
 */
export const GUACD_LIMITS: ParserLimits = {
  maxElementLength: 8192,
  maxInstructionLength: 8192,
  maxElements: 128,
};

/** A length prefix longer than this is not a length: fatal rather than skipped. */
const MAX_LENGTH_DIGITS = 10;

/** Where the parser is within the stream. */
export type ParserState =
  /** Reading the decimal length prefix of an element (the start of an instruction included). */
  | 'length'
  /** Reading (or skipping) the value of an element. */
  | 'value'
  /** Expecting ',' (another element follows) or ';' (end of instruction). */
  | 'terminator'
  /** A fatal error happened; every further push reports it again. */
  | 'failed';

/** One result of `push`: a complete instruction, or a problem in its place. */
export type ParseResult =
  | { readonly instruction: Instruction; readonly error?: undefined }
  | { readonly instruction?: undefined; readonly error: GuacProtocolError };

export class GuacParser {
  readonly limits: ParserLimits;

  private _state: ParserState = 'length';
  /** Digits of the current length prefix seen so far. */
  private lengthDigits = 0;
  /** Declared length of the current element, in code points. */
  private elementLength = 0;
  /** Code points of the current element's value still to read. */
  private remaining = 0;
  /**
   * The current element's value so far. A value within one chunk is that chunk's slice (V8 returns
   * it as is from '' + slice); one split across chunks is joined as it arrives.
   */
  private value = '';
  /** Completed elements of the current instruction. */
  private elements: string[] = [];
  /** Number of elements started in the current instruction (kept while skipping). */
  private elementCount = 0;
  /** Code points of the current instruction so far. */
  private instructionLength = 0;
  /** Set when the current instruction broke a limit: its content is skipped, this is reported at ';'. */
  private skipError: GuacProtocolError | undefined;
  private failure: GuacProtocolError | undefined;
  /** Half-received UTF-8 sequences wait here between byte chunks. */
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  /** A high surrogate at the end of a text chunk, waiting for its low half. */
  private pendingHigh = '';

  constructor(limits: Partial<ParserLimits> = {}) {
    this.limits = { ...GUACD_LIMITS, ...limits };
  }

  get state(): ParserState {
    return this._state;
  }

  /** True between instructions: nothing of a partial instruction is held. */
  get idle(): boolean {
    return this._state === 'length' && this.lengthDigits === 0 && this.elementCount === 0 && this.pendingHigh === '';
  }

  /** Parses one chunk. Bytes are UTF-8 and may split a character; text may split a surrogate pair. */
  push(chunk: string | Uint8Array): ParseResult[] {
    if (this.failure) {
      return [{ error: new GuacProtocolError('parser-failed', `stream already failed: ${this.failure.message}`) }];
    }
    let text: string;
    if (typeof chunk === 'string') {
      text = chunk;
    } else {
      try {
        text = this.decoder.decode(chunk, { stream: true });
      } catch {
        return [this.fail(new GuacProtocolError('invalid-utf8', 'the stream is not valid UTF-8'))];
      }
    }
    if (this.pendingHigh) {
      text = this.pendingHigh + text;
      this.pendingHigh = '';
    }
    if (text.length > 0) {
      const last = text.charCodeAt(text.length - 1);
      if (last >= 0xd800 && last <= 0xdbff) {
        this.pendingHigh = text[text.length - 1] as string;
        text = text.slice(0, -1);
      }
    }
    return this.consume(text);
  }

  private fail(error: GuacProtocolError): ParseResult {
    this.failure = error;
    this._state = 'failed';
    this.value = '';
    this.elements = [];
    return { error };
  }

  private consume(text: string): ParseResult[] {
    const out: ParseResult[] = [];
    const { maxElementLength, maxInstructionLength, maxElements } = this.limits;
    let i = 0;
    while (i < text.length) {
      switch (this._state) {
        case 'length': {
          const c = text.charCodeAt(i);
          if (c >= 0x30 && c <= 0x39) {
            if (++this.lengthDigits > MAX_LENGTH_DIGITS) {
              out.push(this.fail(this.syntaxError('bad-length', `element length has more than ${MAX_LENGTH_DIGITS} digits`)));
              return out;
            }
            this.elementLength = this.elementLength * 10 + (c - 0x30);
            this.instructionLength++;
            i++;
            break;
          }
          if (c !== 0x2e /* . */ || this.lengthDigits === 0) {
            const what = this.lengthDigits === 0 ? 'a digit' : "a digit or '.'";
            out.push(this.fail(this.syntaxError('bad-length', `expected ${what} in an element length, got ${describe(text, i)}`)));
            return out;
          }
          i++;
          this.instructionLength++;
          this.elementCount++;
          this.remaining = this.elementLength;
          this.instructionLength += this.elementLength;
          if (!this.skipError) {
            const opcode = this.elements[0];
            if (this.elementLength > maxElementLength) {
              this.skip(new GuacProtocolError('element-too-long',
                `element ${this.elementCount} of ${opcodeText(opcode)} is ${this.elementLength} characters long; the limit is ${maxElementLength}`, opcode));
            } else if (this.elementCount > maxElements) {
              this.skip(new GuacProtocolError('too-many-elements',
                `instruction ${opcodeText(opcode)} has more than ${maxElements} elements`, opcode));
            } else if (this.instructionLength > maxInstructionLength) {
              this.skip(new GuacProtocolError('instruction-too-long',
                `instruction ${opcodeText(opcode)} is longer than the limit of ${maxInstructionLength} characters`, opcode));
            }
          }
          this._state = this.remaining === 0 ? 'terminator' : 'value';
          break;
        }
        case 'value': {
          // Take up to `remaining` code points from text[i..].
          const start = i;
          let left = this.remaining;
          while (left > 0 && i < text.length) {
            i += isSurrogatePair(text, i) ? 2 : 1;
            left--;
          }
          this.remaining = left;
          if (!this.skipError) this.value += text.slice(start, i);
          if (left === 0) this._state = 'terminator';
          break;
        }
        case 'terminator': {
          const c = text.charCodeAt(i);
          if (c !== 0x2c /* , */ && c !== 0x3b /* ; */) {
            out.push(this.fail(this.syntaxError('bad-terminator',
              `expected ',' or ';' after an element of length ${this.elementLength}, got ${describe(text, i)}`)));
            return out;
          }
          i++;
          this.instructionLength++;
          if (!this.skipError) this.elements.push(this.value);
          this.value = '';
          this.lengthDigits = 0;
          this.elementLength = 0;
          this._state = 'length';
          if (c === 0x3b) {
            if (this.skipError) {
              out.push({ error: this.skipError });
            } else {
              // The elements become the arguments once the opcode is taken off: no copy per instruction.
              const args = this.elements;
              const opcode = args.shift() as string;
              out.push({ instruction: { opcode, args } });
            }
            this.elements = [];
            this.elementCount = 0;
            this.instructionLength = 0;
            this.skipError = undefined;
          }
          break;
        }
        case 'failed':
          return out;
      }
    }
    return out;
  }

  /** Drops what was buffered of this instruction and skips the rest of it, reporting `error` at its end. */
  private skip(error: GuacProtocolError): void {
    this.skipError = error;
    this.value = '';
    this.elements = [];
  }

  private syntaxError(reason: 'bad-length' | 'bad-terminator', message: string): GuacProtocolError {
    const opcode = this.elements[0];
    const where = opcode === undefined ? '' : ` (in instruction ${JSON.stringify(opcode)})`;
    return new GuacProtocolError(reason, `malformed instruction: ${message}${where}`, opcode);
  }
}

function opcodeText(opcode: string | undefined): string {
  return opcode === undefined ? '(opcode)' : JSON.stringify(opcode.slice(0, 32));
}

function describe(text: string, i: number): string {
  return JSON.stringify(String.fromCodePoint(text.codePointAt(i) as number));
}

/** Parses a complete text holding whole instructions; throws the first error. For tests and tools. */
export function parseAll(text: string, limits?: Partial<ParserLimits>): Instruction[] {
  const parser = new GuacParser(limits);
  const out: Instruction[] = [];
  for (const r of parser.push(text)) {
    if (r.error) throw r.error;
    out.push(r.instruction);
  }
  if (!parser.idle) throw new GuacProtocolError('bad-terminator', 'malformed instruction: the text ends inside an instruction');
  return out;
}
