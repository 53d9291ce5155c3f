/**
 * Guacamole instruction encoder. An instruction is a list of elements (opcode first), each written
 * as `LENGTH.VALUE`, separated by `,` and terminated by `;`. LENGTH counts Unicode code points
 * (not UTF-16 units, not bytes), as guacd and guacamole-common-js 1.5 do.
 */

/** Number of Unicode code points in `s` (a surrogate pair is one code point). */
export function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point: do not count the low one.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
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
