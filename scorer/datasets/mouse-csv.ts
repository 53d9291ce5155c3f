/**
 * Mouse CSV rows (Balabit, SapiMouse: button + state + x + y) to Guacamole mouse events: the
 * button mask is tracked across rows, because the files name only the button that changed.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';

/** Guacamole's button bits. */
const BUTTON_BIT: Record<string, number> = { Left: 1, Middle: 2, Other: 2, Right: 4 };
const WHEEL_UP = 8;
const WHEEL_DOWN = 16;
/** Coordinates beyond this are sensor glitches (Balabit has 65535): rows are skipped. */
export const MAX_COORDINATE = 16384;

export class MouseRowConverter {
  private mask = 0;
  /** Where the pointer last was: Balabit's wheel rows carry (0, 0) instead. */
  private position: { x: number; y: number } | undefined;

  /**
   * Events for one row, or a skip reason. `timeMs` must already be relative and non-decreasing.
   */
  convert(timeMs: number, button: string, state: string, x: number, y: number, out: InputEvent[]): string | undefined {
    if (!Number.isInteger(x) || !Number.isInteger(y)) return 'malformed';
    if (x < 0 || y < 0 || x > MAX_COORDINATE || y > MAX_COORDINATE) return 'coordinateOutOfRange';
    const at = (state === 'Up' || state === 'Down') && this.position ? this.position : { x, y };
    this.position = at;
    const ev = (buttonMask: number): InputEvent => ({ timeMs, kind: { $case: 'mouse', value: { ...at, buttonMask } } });
    switch (state) {
      case 'Move':
      case 'Drag':
        out.push(ev(this.mask));
        return undefined;
      case 'Pressed':
      case 'Released': {
        const bit = BUTTON_BIT[button];
        if (bit === undefined) return 'unknownButton';
        this.mask = state === 'Pressed' ? this.mask | bit : this.mask & ~bit;
        out.push(ev(this.mask));
        return undefined;
      }
      case 'Up':
      case 'Down': {
        // A wheel notch is a press and release of the wheel "button" where the pointer is, as
        // Guacamole sends it: the wheel does not move the pointer.
        const bit = state === 'Up' ? WHEEL_UP : WHEEL_DOWN;
        out.push(ev(this.mask | bit), ev(this.mask));
        return undefined;
      }
      default:
        return 'unknownState';
    }
  }
}
