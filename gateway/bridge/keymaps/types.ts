/** The modifiers a character key needs for one of its symbols. */
export interface Level {
  readonly shift: boolean;
  /** AltGr (ISO_Level3_Shift; the right Alt key on layouts that have AltGr). */
  readonly altgr: boolean;
}

/** A key on the RDP side: a set-1 scancode, with the extended (0xE0) prefix flag. */
export interface ScanKey {
  readonly scancode: number;
  readonly extended?: boolean;
  /**
   * For a symbol of a character key, the modifiers that give it: the bridge holds or lifts Shift
   * and AltGr around the key as needed, whatever the client held. Absent for keys that take the
   * modifiers as they are (Return, arrows, function keys: Shift+Left selects).
   */
  readonly level?: Level;
}

/** A keyboard layout: which scancode gives which X11 keysym, and the RDP layout id to announce. */
export interface Keymap {
  /** guacd's `server-layout` name, for example "en-us-qwerty". */
  readonly name: string;
  /** The Windows keyboard layout id (KLID) sent to the desktop, for example 0x409. */
  readonly rdpLayout: number;
  /** Keysym (as X11 numbers it) to key; every symbol of a key maps to it, with its own level. */
  readonly keys: ReadonlyMap<number, ScanKey>;
}

/** One row of a layout: the symbols of consecutive scancodes from `start`, per level; a space means "no symbol". */
export interface CharRow {
  readonly start: number;
  readonly plain: string;
  readonly shifted: string;
  readonly altgr?: string;
}

const PLAIN: Level = { shift: false, altgr: false };
const SHIFTED: Level = { shift: true, altgr: false };
const ALTGR: Level = { shift: false, altgr: true };

/** Builds a layout's character keys from rows of symbols. */
export function charRows(rows: readonly CharRow[]): [number, ScanKey][] {
  const out: [number, ScanKey][] = [];
  for (const { start, plain, shifted, altgr = '' } of rows) {
    const levels: [string[], Level][] = [[[...plain], PLAIN], [[...shifted], SHIFTED], [[...altgr], ALTGR]];
    for (const [symbols, level] of levels) {
      symbols.forEach((ch, i) => {
        if (ch !== ' ') out.push([charKeysym(ch), { scancode: start + i, level }]);
      });
    }
  }
  return out;
}

/** The X11 keysym of a character: Latin-1 is its code point, anything else 0x01000000 + code point. */
export function charKeysym(ch: string): number {
  const cp = ch.codePointAt(0) as number;
  return (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff) ? cp : 0x01000000 + cp;
}
