/**
 * Local input on the agent's PC: the X server's XTest extension, as a keyboard and mouse driver
 * would deliver it, through node-x11 (an X11 client in JavaScript, so timing stays in this process
 * and no xdotool is started per event).
 */
import { createRequire } from 'node:module';
import type { Injector } from './injector.js';

interface XTestExt {
  readonly KeyPress: number;
  readonly KeyRelease: number;
  readonly ButtonPress: number;
  readonly ButtonRelease: number;
  readonly MotionNotify: number;
  FakeInput(type: number, detail: number, time: number, window: number, x: number, y: number): void;
}

interface XClient {
  require(ext: 'xtest', cb: (err: Error | null, ext: XTestExt) => void): void;
  GetKeyboardMapping(min: number, count: number, cb: (err: Error | null, map: number[][]) => void): void;
  terminate(): void;
  on(event: 'error', cb: (err: Error) => void): void;
}

interface XDisplayInfo {
  readonly client: XClient;
  readonly min_keycode: number;
  readonly max_keycode: number;
}

const x11 = createRequire(import.meta.url)('x11') as {
  createClient(o: { display: string }, cb: (err: Error | null, display: XDisplayInfo) => void): XClient;
};

/** A keysym's keycode in the display's keyboard map (any column: Shift is played as its own key). */
function keycodeMap(min: number, map: readonly (readonly number[])[]): Map<number, number> {
  const codes = new Map<number, number>();
  map.forEach((syms, i) => {
    for (const sym of syms) if (sym !== 0 && !codes.has(sym)) codes.set(sym, min + i);
  });
  return codes;
}

export interface XTestInjector extends Injector {
  /** Keys played that the display's keyboard map has no keycode for (dropped). */
  readonly unmapped: number;
}

/** Connects to `display` (`:N`) and injects through XTest. */
export function xtestInjector(display: string): Promise<XTestInjector> {
  return new Promise((resolve, reject) => {
    const client = x11.createClient({ display }, (err, info) => {
      if (err) return reject(new Error(`cannot open X display ${display}: ${err.message}`));
      const X = info.client;
      X.on('error', (e) => process.stderr.write(`xtest: ${e.message}\n`));
      X.require('xtest', (e1, xtest) => {
        if (e1) return reject(new Error(`X display ${display} has no XTest extension: ${e1.message}`));
        X.GetKeyboardMapping(info.min_keycode, info.max_keycode - info.min_keycode + 1, (e2, map) => {
          if (e2) return reject(e2);
          const codes = keycodeMap(info.min_keycode, map);
          let buttons = 0;
          let at: [number, number] | undefined;
          let unmapped = 0;
          resolve({
            get unmapped() {
              return unmapped;
            },
            key(keysym, down) {
              const code = codes.get(keysym);
              if (code === undefined) return void unmapped++;
              xtest.FakeInput(down ? xtest.KeyPress : xtest.KeyRelease, code, 0, 0, 0, 0);
            },
            pointer(x, y, mask) {
              if (!at || at[0] !== x || at[1] !== y) xtest.FakeInput(xtest.MotionNotify, 0, 0, 0, x, y);
              at = [x, y];
              for (let b = 0; b < 5; b++) {
                const bit = 1 << b;
                if ((mask & bit) !== (buttons & bit)) xtest.FakeInput(mask & bit ? xtest.ButtonPress : xtest.ButtonRelease, b + 1, 0, 0, 0, 0);
              }
              buttons = mask;
            },
            async close() {
              X.terminate();
            },
          });
        });
      });
    });
    client.on('error', (e) => reject(new Error(`X display ${display}: ${e.message}`)));
  });
}
