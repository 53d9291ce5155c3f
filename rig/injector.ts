/**
 * What the rig's players drive: a keyboard and a pointer on the agent's PC. Two kinds exist, and
 * the experiment is the difference between them: XTest on the display itself (the agent at their own
 * keyboard, rig/xtest.ts) and an RFB client through the remote-access tool (the colluder at home,
 * rig/rfb-client.ts). Keys are X11 keysyms and buttons a Guacamole/RFB mask (bit 0 left, 1 middle,
 * 2 right, 3 and 4 the wheel), as InputEvents carry them, so a recording plays unchanged into both.
 */
export interface Injector {
  key(keysym: number, down: boolean): void;
  /** Moves the pointer to (x, y) on the screen with the buttons of `mask` held. */
  pointer(x: number, y: number, mask: number): void;
  close(): Promise<void>;
}
