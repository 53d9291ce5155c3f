/**
 * Errors of the Guacamole codec. Each says what was wrong and where, whether the stream can go on
 * (`fatal`), and which Guacamole status a server should answer with.
 */
import { VdiguardError } from '../../lib/errors.js';
import { GuacStatus, type GuacStatusCode } from './status.js';

export type GuacProtocolErrorReason =
  /** An element's length prefix is not a decimal number followed by '.'. Fatal. */
  | 'bad-length'
  /** An element is followed by something other than ',' or ';'. Fatal. */
  | 'bad-terminator'
  /** The bytes are not valid UTF-8. Fatal. */
  | 'invalid-utf8'
  /** One element is longer than `maxElementLength` code points. The instruction is dropped. */
  | 'element-too-long'
  /** The whole instruction is longer than `maxInstructionLength` code points. Dropped. */
  | 'instruction-too-long'
  /** The instruction has more than `maxElements` elements. Dropped. */
  | 'too-many-elements'
  /** Input arrived after a fatal error. Fatal. */
  | 'parser-failed'
  /** A `key` or `mouse` instruction not in canonical form (see input.ts). Fatal: the session ends. */
  | 'non-canonical-input'
  /** An instruction the tap does not forward from a browser (see gateway/tap/tap.ts). Fatal. */
  | 'opcode-not-allowed'
  /** A `vdiguard,time` from the browser not in canonical form, or a second before its input (gateway/tap/client-time.ts). Fatal. */
  | 'bad-client-time'
  /**
   * A `vdiguard,samples` from the browser not in canonical form, out of order, more than a move may
   * have, or not followed by its time and its `mouse` (gateway/tap/client-time.ts). Fatal.
   */
  | 'bad-client-sample';

const FATAL: Record<GuacProtocolErrorReason, boolean> = {
  'bad-length': true,
  'bad-terminator': true,
  'invalid-utf8': true,
  'element-too-long': false,
  'instruction-too-long': false,
  'too-many-elements': false,
  'parser-failed': true,
  'non-canonical-input': true,
  'opcode-not-allowed': true,
  'bad-client-time': true,
  'bad-client-sample': true,
};

export class GuacProtocolError extends VdiguardError {
  /** True when the stream cannot (or, for refused input, must not) go on: the connection must be closed. */
  readonly fatal: boolean;

  constructor(
    readonly reason: GuacProtocolErrorReason,
    message: string,
    /** Opcode of the instruction concerned, when it was read before the problem. */
    readonly opcode?: string,
  ) {
    super(FATAL[reason] ? 'invalid-argument' : 'resource-exhausted', message);
    this.name = 'GuacProtocolError';
    this.fatal = FATAL[reason];
  }

  /** The status a server sends in its `error` instruction for this problem. */
  get guacStatus(): GuacStatusCode {
    return this.fatal ? GuacStatus.CLIENT_BAD_REQUEST : GuacStatus.CLIENT_OVERRUN;
  }
}
