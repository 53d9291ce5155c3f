/**
 * The pointer shown in the client. node-rdpjs-2 drops the desktop's pointer updates, so the bridge
 * sends one arrow, as guacd does before the desktop sends its own.
 */
import sharp from 'sharp';
import { encodeInstruction } from '../guac/encoder.js';
import { imageInstructions } from './encoding.js';

/** X = black, . = white, space = transparent. Hotspot at the tip (0, 0). */
const ARROW = [
  'X          ',
  'XX         ',
  'X.X        ',
  'X..X       ',
  'X...X      ',
  'X....X     ',
  'X.....X    ',
  'X......X   ',
  'X.......X  ',
  'X........X ',
  'X.....XXXXX',
  'X..X..X    ',
  'X.X X..X   ',
  'XX  X..X   ',
  'X    X..X  ',
  '     X..X  ',
  '      XX   ',
];

/** Buffer layer the cursor image is drawn into before `cursor` copies it. */
const CURSOR_LAYER = -1;

export async function cursorInstructions(stream: number): Promise<string> {
  const width = ARROW[0]!.length;
  const height = ARROW.length;
  const rgba = Buffer.alloc(width * height * 4);
  ARROW.forEach((row, y) =>
    [...row].forEach((c, x) => {
      if (c === ' ') return;
      const v = c === 'X' ? 0 : 255;
      rgba.set([v, v, v, 255], (y * width + x) * 4);
    }),
  );
  const png = await sharp(rgba, { raw: { width, height, channels: 4 } }).png().toBuffer();
  return (
    encodeInstruction('size', CURSOR_LAYER, width, height) +
    imageInstructions(stream, CURSOR_LAYER, 'image/png', 0, 0, png) +
    encodeInstruction('cursor', 0, 0, CURSOR_LAYER, 0, 0, width, height)
  );
}
