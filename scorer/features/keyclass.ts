/**
 * Keysyms to coarse key classes, at the scorer's boundary. Coarse on purpose: letters fall into two
 * classes (by keyboard half) and all digits into one, so a class sequence cannot be turned back
 * into text (a dictionary attack on finer classes works like T9, and card numbers must vanish).
 * Extractors keep only the class of a keystroke, and only aggregate timings leave them.
 */

export const KeyClass = {
  letterLeft: 0,
  letterRight: 1,
  digit: 2,
  space: 3,
  enter: 4,
  /** BackSpace and Delete. */
  erase: 5,
  shift: 6,
  /** Control, Alt, Meta, Super, Caps Lock, AltGr. */
  modifier: 7,
  punctuation: 8,
  /** Arrows, Home/End, Page Up/Down, Tab, Insert. */
  navigation: 9,
  /** F1-F24, Escape and other command keys. */
  function: 10,
  other: 11,
} as const;
export type KeyClass = (typeof KeyClass)[keyof typeof KeyClass];
export const KEY_CLASS_COUNT = 12;
export const KEY_CLASS_NAMES: readonly string[] = Object.keys(KeyClass);

const LEFT_LETTERS = 'qwertasdfgzxcvb';

/** The class of a keysym. */
export function keyClassOf(keysym: number): KeyClass {
  if ((keysym >= 0x61 && keysym <= 0x7a) || (keysym >= 0x41 && keysym <= 0x5a)) {
    return LEFT_LETTERS.includes(String.fromCharCode(keysym | 0x20)) ? KeyClass.letterLeft : KeyClass.letterRight;
  }
  if ((keysym >= 0x30 && keysym <= 0x39) || (keysym >= 0xffb0 && keysym <= 0xffb9)) return KeyClass.digit;
  if (keysym === 0x20 || keysym === 0xff80) return KeyClass.space;
  if (keysym === 0xff0d || keysym === 0xff8d) return KeyClass.enter;
  if (keysym === 0xff08 || keysym === 0xffff || keysym === 0xff9f) return KeyClass.erase;
  if (keysym === 0xffe1 || keysym === 0xffe2) return KeyClass.shift;
  if ((keysym >= 0xffe3 && keysym <= 0xffee) || keysym === 0xff7e || keysym === 0xfe03) return KeyClass.modifier;
  if ((keysym >= 0x21 && keysym <= 0x7e) || (keysym >= 0xa0 && keysym <= 0xbf) || keysym === 0xd7 || keysym === 0xf7) {
    return KeyClass.punctuation;
  }
  if (keysym === 0xff09 || keysym === 0xfe20 || (keysym >= 0xff50 && keysym <= 0xff58) || keysym === 0xff63 || (keysym >= 0xff95 && keysym <= 0xff9e)) {
    return KeyClass.navigation;
  }
  if (keysym === 0xff1b || (keysym >= 0xffbe && keysym <= 0xffd5)) return KeyClass.function;
  if ((keysym >= 0xffaa && keysym <= 0xffaf) || keysym === 0xffbd) return KeyClass.punctuation;
  return KeyClass.other;
}

/** Letters of either half. */
export function isLetterClass(c: number): boolean {
  return c === KeyClass.letterLeft || c === KeyClass.letterRight;
}
