/**
 * Browser key codes and key labels to X11 keysyms, for importing datasets recorded in a browser
 * (Aalto). The gateway itself receives keysyms from Guacamole and needs none of this.
 */

/** JavaScript `keyCode` (US layout) to the keysym Guacamole would send for the unshifted key. */
export const KEYCODE_TO_KEYSYM: ReadonlyMap<number, number> = new Map<number, number>([
  [8, 0xff08], // BackSpace
  [9, 0xff09], // Tab
  [12, 0xff0b], // Clear
  [13, 0xff0d], // Return
  [16, 0xffe1], // Shift_L
  [17, 0xffe3], // Control_L
  [18, 0xffe9], // Alt_L
  [19, 0xff13], // Pause
  [20, 0xffe5], // Caps_Lock
  [27, 0xff1b], // Escape
  [32, 0x0020], // space
  [33, 0xff55], // Prior (Page Up)
  [34, 0xff56], // Next (Page Down)
  [35, 0xff57], // End
  [36, 0xff50], // Home
  [37, 0xff51], // Left
  [38, 0xff52], // Up
  [39, 0xff53], // Right
  [40, 0xff54], // Down
  [45, 0xff63], // Insert
  [46, 0xffff], // Delete
  [91, 0xffeb], // Super_L
  [92, 0xffec], // Super_R
  [93, 0xff67], // Menu
  [106, 0xffaa], // KP_Multiply
  [107, 0xffab], // KP_Add
  [109, 0xffad], // KP_Subtract
  [110, 0xffae], // KP_Decimal
  [111, 0xffaf], // KP_Divide
  [126, 0xff13], // labelled PAUSE in the Aalto data
  [144, 0xff7f], // Num_Lock
  [145, 0xff14], // Scroll_Lock
  [186, 0x3b], // ;
  [187, 0x3d], // =
  [188, 0x2c], // ,
  [189, 0x2d], // -
  [190, 0x2e], // .
  [191, 0x2f], // /
  [192, 0x60], // `
  [219, 0x5b], // [
  [220, 0x5c], // \
  [221, 0x5d], // ]
  [222, 0x27], // '
  ...Array.from({ length: 10 }, (_, i) => [48 + i, 0x30 + i] as [number, number]), // 0-9
  ...Array.from({ length: 26 }, (_, i) => [65 + i, 0x61 + i] as [number, number]), // a-z
  ...Array.from({ length: 10 }, (_, i) => [96 + i, 0xffb0 + i] as [number, number]), // KP_0-KP_9
  ...Array.from({ length: 12 }, (_, i) => [112 + i, 0xffbe + i] as [number, number]), // F1-F12
]);

/** The keysym of a typed character: Latin-1 code points as they are, others 0x01000000 + code point. */
export function charToKeysym(ch: string): number | undefined {
  const cp = ch.codePointAt(0);
  if (cp === undefined || cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp === 0xfffd) return undefined;
  return cp <= 0xff ? cp : 0x01000000 + cp;
}

/**
 * The keysym of one Aalto row: a single-character LETTER is that character (as typed, so 'T' is
 * 0x54); named keys (SHIFT, BKSP, ...) and empty labels go by KEYCODE.
 */
export function aaltoKeysym(letter: string, keyCode: number): number | undefined {
  if ([...letter].length === 1) {
    const k = charToKeysym(letter);
    if (k !== undefined) return k;
  }
  return KEYCODE_TO_KEYSYM.get(keyCode);
}
