/** The Guacamole protocol codec: pure functions and a state machine, no sockets. */
export { GuacParser, GUACD_LIMITS, parseAll, type ParserLimits, type ParserState, type ParseResult } from './parser.js';
export { encode, encodeElement, encodeInstruction, codePointLength, type Instruction } from './encoder.js';
export { readInput, readCoordinate, KEYSYM_MAX, BUTTON_MASK_MAX, type GuacInput, type InputResult } from './input.js';
export { GuacProtocolError, type GuacProtocolErrorReason } from './errors.js';
export { GuacStatus, guacStatusName, type GuacStatusCode } from './status.js';
export { guacdCertFingerprints, normalizeFingerprint, parseCertFingerprints, type CertFingerprints } from './fingerprints.js';
