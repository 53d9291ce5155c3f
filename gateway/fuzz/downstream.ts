/**
 * What the desktop side (guacd, or the bridge) makes of the bytes the tap forwarded: a deliberately
 * separate, whole-input reading of the protocol on the UTF-8 bytes as they travel (a lone surrogate
 * in text is written as U+FFFD), counting code points as guacd does. The fuzz compares it with what
 * the tap's parser accepted, so a desynchronisation (the desktop seeing an instruction the tap never
 * saw) is found even when the tap's parser is consistently wrong.
 */
import type { Instruction } from '../guac/encoder.js';
import { join, toBytes, type Wire } from './generate.js';

/** The complete instructions at the start of `bytes`, up to the first malformed or unfinished one. */
export function downstreamInstructions(bytes: Buffer): Instruction[] {
  const cps = Array.from(bytes.toString('utf8'));
  const out: Instruction[] = [];
  let i = 0;
  let elements: string[] = [];
  for (;;) {
    let digits = '';
    while (i < cps.length && /^[0-9]$/.test(cps[i] as string) && digits.length <= 10) digits += cps[i++];
    if (digits === '' || digits.length > 10 || cps[i] !== '.') return out;
    const length = Number(digits);
    i++;
    if (i + length >= cps.length) return out;
    elements.push(cps.slice(i, i + length).join(''));
    i += length;
    const terminator = cps[i++];
    if (terminator === ';') {
      const [opcode, ...args] = elements as [string, ...string[]];
      out.push({ opcode, args });
      elements = [];
    } else if (terminator !== ',') {
      return out;
    }
  }
}

/** The wire form the desktop side receives for a sequence of forwarded pieces. */
export function asBytes(pieces: readonly Wire[]): Buffer {
  return toBytes(join(pieces));
}

/** An instruction as it reads after a trip through UTF-8 (lone surrogates become U+FFFD). */
export function throughUtf8(ins: Instruction): Instruction {
  const t = (s: string) => Buffer.from(s).toString('utf8');
  return { opcode: t(ins.opcode), args: ins.args.map(t) };
}
