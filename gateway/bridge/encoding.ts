/**
 * Turning framebuffer regions into Guacamole image streams: choose a format per region, encode it
 * with sharp (libvips, native), and frame it as `img` + `blob`... + `end`, as guacd does.
 */
import sharp from 'sharp';
import { encodeInstruction } from '../guac/encoder.js';

export type ImageMimetype = 'image/png' | 'image/jpeg' | 'image/webp';

export interface EncoderOptions {
  /** JPEG/WebP quality, 1..100. */
  readonly quality: number;
  /** Regions smaller than this many pixels are always PNG (lossless, and cheap when small). */
  readonly lossyMinArea: number;
}

/**
 * Text, window borders and flat colours compress well and stay sharp as PNG; photographs and
 * gradients are smaller as JPEG/WebP. Measured on a sample of pixels: the share of distinct colours.
 */
export function looksPhotographic(rgba: Uint8Array, width: number, height: number): boolean {
  const total = width * height;
  const step = Math.max(1, Math.floor(total / 1024));
  const colours = new Set<number>();
  let samples = 0;
  for (let p = 0; p < total; p += step, samples++) {
    const i = p * 4;
    colours.add(((rgba[i] as number) << 16) | ((rgba[i + 1] as number) << 8) | (rgba[i + 2] as number));
  }
  return colours.size / samples > 0.3;
}

/**
 * The format for one region. PNG is always understood; guacd assumes JPEG is too, and uses WebP only
 * when the client listed it in its `image` instruction.
 */
export function chooseFormat(
  rgba: Uint8Array,
  width: number,
  height: number,
  accepted: ReadonlySet<string>,
  options: EncoderOptions,
): ImageMimetype {
  if (width * height < options.lossyMinArea || !looksPhotographic(rgba, width, height)) return 'image/png';
  return accepted.has('image/webp') ? 'image/webp' : 'image/jpeg';
}

export async function encodeImage(
  rgba: Buffer,
  width: number,
  height: number,
  mimetype: ImageMimetype,
  options: EncoderOptions,
): Promise<Buffer> {
  const image = sharp(rgba, { raw: { width, height, channels: 4 } });
  switch (mimetype) {
    case 'image/png':
      return image.removeAlpha().png({ compressionLevel: 2, adaptiveFiltering: false }).toBuffer();
    case 'image/jpeg':
      return image.removeAlpha().jpeg({ quality: options.quality, chromaSubsampling: '4:2:0' }).toBuffer();
    case 'image/webp':
      return image.removeAlpha().webp({ quality: options.quality, effort: 0 }).toBuffer();
  }
}

/** Bytes of image data per `blob`: guacd's limit, 8064 characters once in base64. */
export const BLOB_BYTES = 6048;

/** Layer 0 is the visible display; negative layers are off-screen buffers. */
export const DEFAULT_LAYER = 0;
/** Compositing mode for `img`: GUAC_COMP_OVER. */
export const COMPOSITE_OVER = 0x0e;

/** The instructions that draw one encoded image at x, y of a layer, on the given stream index. */
export function imageInstructions(
  stream: number,
  layer: number,
  mimetype: ImageMimetype,
  x: number,
  y: number,
  data: Buffer,
): string {
  let out = encodeInstruction('img', stream, COMPOSITE_OVER, layer, mimetype, x, y);
  for (let i = 0; i < data.length; i += BLOB_BYTES) {
    out += encodeInstruction('blob', stream, data.subarray(i, i + BLOB_BYTES).toString('base64'));
  }
  return out + encodeInstruction('end', stream);
}
