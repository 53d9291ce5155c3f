/**
 * Guacamole input to RDP input events. Pure: it returns the events to send, the connection sends
 * them. Guacamole `key` carries an X11 keysym and 1 (pressed) or 0 (released); `mouse` carries
 * x, y in pixels and a button mask (bit 0 left, 1 middle, 2 right, 3 wheel up, 4 wheel down).
 */
import type { Keymap, ScanKey } from './keymaps/types.js';

export type RdpInputEvent =
  | { readonly type: 'scancode'; readonly scancode: number; readonly extended: boolean; readonly pressed: boolean }
  /** One UTF-16 code unit (a character beyond the BMP is two events, high then low surrogate). */
  | { readonly type: 'unicode'; readonly unit: number; readonly pressed: boolean }
  /** button 0 is a move; 1 left, 2 right, 3 middle (node-rdpjs-2's numbering). */
  | { readonly type: 'pointer'; readonly x: number; readonly y: number; readonly button: 0 | 1 | 2 | 3; readonly pressed: boolean }
  | { readonly type: 'wheel'; readonly x: number; readonly y: number; readonly down: boolean };

/** The character a keysym types, if it types one: Latin-1 keysyms and 0x01000000 + code point. */
export function keysymToCodePoint(keysym: number): number | undefined {
  if ((keysym >= 0x20 && keysym <= 0x7e) || (keysym >= 0xa0 && keysym <= 0xff)) return keysym;
  if (keysym >= 0x01000100 && keysym <= 0x0110ffff) return keysym - 0x01000000;
  return undefined;
}

const SHIFT_L = 0xffe1;
const SHIFT_R = 0xffe2;
const ISO_LEVEL3_SHIFT = 0xfe03;
/** The modifier keys the bridge presses itself, by the level they give. */
const MODIFIERS = { shift: [SHIFT_L, SHIFT_R], altgr: [ISO_LEVEL3_SHIFT] } as const;

/**
 * Turns `key` instructions into RDP key events, tracking which Shift and AltGr keys the client
 * holds. A keysym that needs a level the client does not hold (`>` from an on-screen keyboard or a
 * script, sent without Shift) is typed with that modifier pressed around it and released after; one
 * that needs a modifier lifted (`.` sent while Shift is down) is typed with it released and pressed
 * again after. The desktop then types the keysym that was sent, whatever the client held, as guacd
 * does; keys without a level (arrows, Return) take the modifiers as they are.
 */
export class Keyboard {
  /** Modifier keysyms the client holds down. */
  private readonly held = new Set<number>();

  constructor(private readonly keymap: Keymap) {}

  /** The RDP events for one `key` instruction; empty for keysyms that mean nothing here. */
  events(keysym: number, pressed: boolean): RdpInputEvent[] {
    if (isModifier(keysym)) {
      if (pressed) this.held.add(keysym);
      else this.held.delete(keysym);
    }
    const key = this.keymap.keys.get(keysym);
    if (!key) return unicodeEvents(keysym, pressed);
    const event = scancodeEvent(key, pressed);
    if (!pressed || !key.level) return [event];
    const before: RdpInputEvent[] = [];
    const after: RdpInputEvent[] = [];
    for (const [level, keysyms] of Object.entries(MODIFIERS) as [keyof typeof MODIFIERS, readonly number[]][]) {
      const down = keysyms.filter((k) => this.held.has(k));
      if (key.level[level] && down.length === 0) {
        const modifier = this.keymap.keys.get(keysyms[0]!)!;
        before.push(scancodeEvent(modifier, true));
        after.push(scancodeEvent(modifier, false));
      } else if (!key.level[level]) {
        for (const k of down) {
          const modifier = this.keymap.keys.get(k)!;
          before.push(scancodeEvent(modifier, false));
          after.push(scancodeEvent(modifier, true));
        }
      }
    }
    return [...before, event, ...after.reverse()];
  }
}

function isModifier(keysym: number): boolean {
  return Object.values(MODIFIERS).some((keysyms) => (keysyms as readonly number[]).includes(keysym));
}

function scancodeEvent(key: ScanKey, pressed: boolean): RdpInputEvent {
  return { type: 'scancode', scancode: key.scancode, extended: key.extended ?? false, pressed };
}

/** A character no key of the layout gives, as UTF-16 code units. */
function unicodeEvents(keysym: number, pressed: boolean): RdpInputEvent[] {
  const cp = keysymToCodePoint(keysym);
  if (cp === undefined) return [];
  const units = String.fromCodePoint(cp);
  const out: RdpInputEvent[] = [];
  for (let i = 0; i < units.length; i++) out.push({ type: 'unicode', unit: units.charCodeAt(i), pressed });
  return out;
}

const BUTTONS: readonly { bit: number; button: 1 | 2 | 3 }[] = [
  { bit: 1, button: 1 }, // left
  { bit: 2, button: 3 }, // middle
  { bit: 4, button: 2 }, // right
];
const WHEEL_UP = 8;
const WHEEL_DOWN = 16;

/** Tracks the pointer so each `mouse` instruction becomes only the events that changed. */
export class MouseState {
  private x = -1;
  private y = -1;
  private mask = 0;

  events(x: number, y: number, mask: number): RdpInputEvent[] {
    const out: RdpInputEvent[] = [];
    if (x !== this.x || y !== this.y) out.push({ type: 'pointer', x, y, button: 0, pressed: false });
    for (const { bit, button } of BUTTONS) {
      if ((mask & bit) !== (this.mask & bit)) out.push({ type: 'pointer', x, y, button, pressed: (mask & bit) !== 0 });
    }
    // A wheel notch is a press of the wheel "button": act on the press, ignore the release.
    if (mask & WHEEL_UP && !(this.mask & WHEEL_UP)) out.push({ type: 'wheel', x, y, down: false });
    if (mask & WHEEL_DOWN && !(this.mask & WHEEL_DOWN)) out.push({ type: 'wheel', x, y, down: true });
    this.x = x;
    this.y = y;
    this.mask = mask;
    return out;
  }
}
