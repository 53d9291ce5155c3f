/** A key on the RDP side: a set-1 scancode, with the extended (0xE0) prefix flag. */
export interface ScanKey {
  readonly scancode: number;
  readonly extended?: boolean;
}

/** A keyboard layout: which scancode gives which X11 keysym, and the RDP layout id to announce. */
export interface Keymap {
  /** guacd's `server-layout` name, for example "en-us-qwerty". */
  readonly name: string;
  /** The Windows keyboard layout id (KLID) sent to the desktop, for example 0x409. */
  readonly rdpLayout: number;
  /** Keysym (as X11 numbers it) to key; both the plain and the shifted symbol of a key map to it. */
  readonly keys: ReadonlyMap<number, ScanKey>;
}

/**
 * Builds a layout from rows of characters: `rows[i]` pairs the plain and shifted characters of
 * consecutive scancodes starting at `start`. A space in either position means "no symbol".
 */
export function charRows(rows: readonly { start: number; plain: string; shifted: string }[]): [number, ScanKey][] {
  const out: [number, ScanKey][] = [];
  for (const { start, plain, shifted } of rows) {
    const p = [...plain];
    const s = [...shifted];
    for (let i = 0; i < p.length; i++) {
      const key = { scancode: start + i };
      for (const ch of [p[i], s[i]]) if (ch && ch !== ' ') out.push([charKeysym(ch), key]);
    }
  }
  return out;
}

/** The X11 keysym of a character: Latin-1 is its code point, anything else 0x01000000 + code point. */
export function charKeysym(ch: string): number {
  const cp = ch.codePointAt(0) as number;
  return (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff) ? cp : 0x01000000 + cp;
}
