/**
 * The character keys of the common layouts, as data: each row lists the plain, shifted and AltGr
 * symbols of consecutive scancodes. Characters not listed (dead keys such as AltGr+é for ~ on
 * AZERTY, other scripts) are sent as unicode key events instead, which the desktop types whatever
 * its layout.
 */
import { BASE_KEYS } from './base.js';
import { charRows, type CharRow, type Keymap, type ScanKey } from './types.js';

function layout(name: string, rdpLayout: number, rows: readonly CharRow[]): Keymap {
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
    { start: 0x02, plain: '1234567890-=', shifted: '!"£$%^&*()_+', altgr: '   €' },
    { start: 0x10, plain: 'qwertyuiop[]', shifted: 'QWERTYUIOP{}' },
    { start: 0x1e, plain: "asdfghjkl;'`", shifted: 'ASDFGHJKL:@¬' },
    { start: 0x2b, plain: '#zxcvbnm,./', shifted: '~ZXCVBNM<>?' },
    { start: 0x56, plain: '\\', shifted: '|' },
  ]),
  'de-de-qwertz': layout('de-de-qwertz', 0x407, [
    { start: 0x02, plain: '1234567890ß', shifted: '!"§$%&/()=?', altgr: ' ²³   {[]}\\' },
    { start: 0x10, plain: 'qwertzuiopü+', shifted: 'QWERTZUIOPÜ*', altgr: '@ €' },
    { start: 0x1e, plain: 'asdfghjklöä', shifted: 'ASDFGHJKLÖÄ' },
    { start: 0x2b, plain: '#yxcvbnm,.-', shifted: "'YXCVBNM;:_", altgr: '       µ' },
    { start: 0x56, plain: '<', shifted: '>', altgr: '|' },
  ]),
  'fr-fr-azerty': layout('fr-fr-azerty', 0x40c, [
    { start: 0x02, plain: '&é"\'(-è_çà)=', shifted: '1234567890°+', altgr: '  #{[| \\^@]}' },
    { start: 0x10, plain: 'azertyuiop', shifted: 'AZERTYUIOP', altgr: '  €' },
    { start: 0x1b, plain: '$', shifted: '£' },
    { start: 0x1e, plain: 'qsdfghjklmù', shifted: 'QSDFGHJKLM%' },
    { start: 0x2b, plain: '*wxcvbn,;:!', shifted: 'µWXCVBN?./§' },
    { start: 0x56, plain: '<', shifted: '>' },
  ]),
};

export const DEFAULT_KEYMAP = 'en-us-qwerty';
