/**
 * Guacamole instruction encoder. An instruction is a list of elements (opcode first), each written
 * as `LENGTH.VALUE`, separated by `,` and terminated by `;`. LENGTH counts Unicode code points
 * (not UTF-16 units, not bytes), as guacd and guacamole-common-js 1.5 do.
 */

/**
 * True when text[i] and text[i + 1] are one code point. A lone surrogate half is one code point on its
 * own, as the desktop side reads it (UTF-8 writes it as U+FFFD): the parser taking the character
 * after it along would let the gateway and the desktop disagree on where an instruction ends.
 */
export function isSurrogatePair(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 0xd800 || c > 0xdbff || i + 1 >= text.length) return false;
  const d = text.charCodeAt(i + 1);
  return d >= 0xdc00 && d <= 0xdfff;
}

/** Number of Unicode code points in `s` (a surrogate pair is one code point, a lone half is one too). */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i += isSurrogatePair(s, i) ? 2 : 1) n++;
  return n;
}

/** One element as it appears on the wire: `5.hello`. */
export function encodeElement(value: string | number): string {
  const s = String(value);
  return `${codePointLength(s)}.${s}`;
}

/** One complete instruction: `encodeInstruction('size', 0, 1024, 768)` is `4.size,1.0,4.1024,3.768;`. */
export function encodeInstruction(opcode: string, ...args: readonly (string | number)[]): string {
  let out = encodeElement(opcode);
  for (const a of args) out += ',' + encodeElement(a);
  return out + ';';
}

/** An instruction as a value: the opcode and its arguments, all text. */
export interface Instruction {
  readonly opcode: string;
  readonly args: readonly string[];
}

export function encode(instruction: Instruction): string {
  return encodeInstruction(instruction.opcode, ...instruction.args);
}
