/**
 * xrdp reports a rejected login not in the protocol but by painting its "Connection Log" window
 * ("login failed for user ..."). This recognises that window in the framebuffer: a 400x400 dialog at
 * (10, 10) with xrdp's default title-bar colour (#009cb5) over its default grey (#dedede).
 * A heuristic for xrdp's default theme; other desktops report failures their own way.
 */
import type { Framebuffer } from './framebuffer.js';

const TITLE = [0x00, 0x9c, 0xb5];
const GREY = [0xde, 0xde, 0xde];

export function showsXrdpLoginFailure(fb: Framebuffer): boolean {
  if (fb.width < 420 || fb.height < 420) return false;
  const at = (x: number, y: number, rgb: number[]) => {
    const i = (y * fb.width + x) * 4;
    return fb.pixels[i] === rgb[0] && fb.pixels[i + 1] === rgb[1] && fb.pixels[i + 2] === rgb[2];
  };
  for (let x = 13; x <= 407; x += 6) if (!at(x, 14, TITLE) || !at(x, 30, TITLE)) return false;
  for (const [x, y] of [[12, 40], [200, 200], [400, 300], [30, 390]] as const) if (!at(x, y, GREY)) return false;
  return true;
}
