/**
 * The character keys of the common layouts, as data: each row lists the plain and shifted symbols
 * of consecutive scancodes. Characters not listed (AltGr symbols, dead keys, other scripts) are sent
 * as unicode key events instead, which the desktop types whatever its layout.
 */
import { BASE_KEYS } from './base.js';
import { charRows, type Keymap, type ScanKey } from './types.js';

function layout(name: string, rdpLayout: number, rows: Parameters<typeof charRows>[0]): Keymap {
  return { name, rdpLayout, keys: new Map<number, ScanKey>([...BASE_KEYS, ...charRows(rows)]) };
}

export const KEYMAPS: Readonly<Record<string, Keymap>> = {
  'en-us-qwerty': layout('en-us-qwerty', 0x409, [
    { start: 0x02, plain: '1234567890-=', shifted: '!@#$%^&*()_+' },
    { start: 0x10, plain: 'qwertyuiop[]', shifted: 'QWERTYUIOP{}' },
    { start: 0x1e, plain: "asdfghjkl;'`", shifted: 'ASDFGHJKL:"~' },
    { start: 0x2b, plain: '\\zxcvbnm,./', shifted: '|ZXCVBNM<>?' },
  ]),
  'en-gb-qwerty': layout('en-gb-qwerty', 0x809, [
    { start: 0x02, plain: '1234567890-=', shifted: '!"£$%^&*()_+' },
    { start: 0x10, plain: 'qwertyuiop[]', shifted: 'QWERTYUIOP{}' },
    { start: 0x1e, plain: "asdfghjkl;'`", shifted: 'ASDFGHJKL:@¬' },
    { start: 0x2b, plain: '#zxcvbnm,./', shifted: '~ZXCVBNM<>?' },
    { start: 0x56, plain: '\\', shifted: '|' },
  ]),
  'de-de-qwertz': layout('de-de-qwertz', 0x407, [
    { start: 0x02, plain: '1234567890ß', shifted: '!"§$%&/()=?' },
    { start: 0x10, plain: 'qwertzuiopü+', shifted: 'QWERTZUIOPÜ*' },
    { start: 0x1e, plain: 'asdfghjklöä', shifted: 'ASDFGHJKLÖÄ' },
    { start: 0x2b, plain: '#yxcvbnm,.-', shifted: "'YXCVBNM;:_" },
    { start: 0x56, plain: '<', shifted: '>' },
  ]),
  'fr-fr-azerty': layout('fr-fr-azerty', 0x40c, [
    { start: 0x02, plain: '&é"\'(-è_çà)=', shifted: '1234567890°+' },
    { start: 0x10, plain: 'azertyuiop', shifted: 'AZERTYUIOP' },
    { start: 0x1b, plain: '$', shifted: '£' },
    { start: 0x1e, plain: 'qsdfghjklmù', shifted: 'QSDFGHJKLM%' },
    { start: 0x2b, plain: '*wxcvbn,;:!', shifted: 'µWXCVBN?./§' },
    { start: 0x56, plain: '<', shifted: '>' },
  ]),
};

export const DEFAULT_KEYMAP = 'en-us-qwerty';
