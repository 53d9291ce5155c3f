/**
 * The desktop's picture for one connection: an RGBA pixel buffer that RDP bitmap updates are drawn
 * into, and the set of regions changed since the last frame. Pure: no sockets, no encoder.
 *
 * Pixel formats of the updates (node-rdpjs-2):
 * - decompressed (the library ran its RLE decoder): 4 bytes a pixel, top-down rows; 24 bpp is
 *   B,G,R,X and 15/16/32 bpp are R,G,B,A.
 * - raw (uncompressed TS_BITMAP_DATA): bottom-up rows of `width` pixels, 15 bpp RGB555 and 16 bpp
 *   RGB565 little-endian words, 24 bpp B,G,R, 32 bpp B,G,R,X.
 */

/** One bitmap update as node-rdpjs-2 emits it. */
export interface BitmapUpdate {
  /** Destination rectangle on the desktop, inclusive bounds, in pixels. */
  readonly destLeft: number;
  readonly destTop: number;
  readonly destRight: number;
  readonly destBottom: number;
  /** Size of the bitmap data in pixels (may exceed the destination: tiles are padded). */
  readonly width: number;
  readonly height: number;
  /** 15, 16, 24 or 32. */
  readonly bitsPerPixel: number;
  /** 'decoded': output of the RLE decoder; 'raw': uncompressed RDP pixels (see above). */
  readonly format: 'decoded' | 'raw';
  readonly data: Uint8Array;
}

/** An axis-aligned rectangle in pixels: left/top inclusive, width/height > 0. */
export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Side of the square tiles dirty regions are tracked in, in pixels. */
export const TILE = 64;

export class Framebuffer {
  /** RGBA, 4 bytes a pixel, rows top-down, alpha always 255. */
  readonly pixels: Buffer;
  private readonly tilesX: number;
  private readonly tilesY: number;
  /** One flag a tile: changed since the last takeDirty(). */
  private dirty: Uint8Array;
  private dirtyCount = 0;

  constructor(
    /** Desktop width in pixels. */
    readonly width: number,
    /** Desktop height in pixels. */
    readonly height: number,
  ) {
    this.pixels = Buffer.alloc(width * height * 4);
    for (let i = 3; i < this.pixels.length; i += 4) this.pixels[i] = 255;
    this.tilesX = Math.ceil(width / TILE);
    this.tilesY = Math.ceil(height / TILE);
    this.dirty = new Uint8Array(this.tilesX * this.tilesY);
  }

  /** True when something changed since the last takeDirty(). */
  get isDirty(): boolean {
    return this.dirtyCount > 0;
  }

  /** Draws one bitmap update; throws on data it cannot draw (unknown depth, too short). */
  apply(b: BitmapUpdate): void {
    const x0 = Math.max(0, b.destLeft);
    const y0 = Math.max(0, b.destTop);
    const x1 = Math.min(this.width - 1, b.destRight, b.destLeft + b.width - 1);
    const y1 = Math.min(this.height - 1, b.destBottom, b.destTop + b.height - 1);
    if (x1 < x0 || y1 < y0) return;
    const raw = b.format === 'raw';
    const convert = raw ? rawConverter(b.bitsPerPixel) : decodedConverter(b.bitsPerPixel);
    const bpp = raw ? bytesPerPixel(b.bitsPerPixel) : 4;
    const stride = b.width * bpp;
    if (b.data.length < stride * b.height) throw new Error(`bitmap update has ${b.data.length} bytes; ${b.width}x${b.height} at ${b.bitsPerPixel} bpp needs ${stride * b.height}`);
    const out = this.pixels;
    for (let y = y0; y <= y1; y++) {
      const srcRow = raw ? b.height - 1 - (y - b.destTop) : y - b.destTop;
      let src = srcRow * stride + (x0 - b.destLeft) * bpp;
      let dst = (y * this.width + x0) * 4;
      for (let x = x0; x <= x1; x++, src += bpp, dst += 4) convert(b.data, src, out, dst);
    }
    this.markDirty({ x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 });
  }

  /** Marks a region as changed (for example the whole screen, when a client joins). */
  markDirty(r: Rect): void {
    const tx0 = Math.floor(r.x / TILE);
    const ty0 = Math.floor(r.y / TILE);
    const tx1 = Math.min(this.tilesX - 1, Math.floor((r.x + r.width - 1) / TILE));
    const ty1 = Math.min(this.tilesY - 1, Math.floor((r.y + r.height - 1) / TILE));
    for (let ty = ty0; ty <= ty1; ty++) {
      for (let tx = tx0; tx <= tx1; tx++) {
        const i = ty * this.tilesX + tx;
        if (!this.dirty[i]) {
          this.dirty[i] = 1;
          this.dirtyCount++;
        }
      }
    }
  }

  /**
   * The changed regions as few rectangles (runs of dirty tiles in a row, merged with identical runs
   * in the rows below), clipped to the screen; clears the dirty set.
   */
  takeDirty(): Rect[] {
    if (this.dirtyCount === 0) return [];
    const open = new Map<string, { x0: number; x1: number; y0: number; y1: number }>();
    const done: { x0: number; x1: number; y0: number; y1: number }[] = [];
    for (let ty = 0; ty < this.tilesY; ty++) {
      const seen = new Set<string>();
      let tx = 0;
      while (tx < this.tilesX) {
        if (!this.dirty[ty * this.tilesX + tx]) {
          tx++;
          continue;
        }
        const start = tx;
        while (tx < this.tilesX && this.dirty[ty * this.tilesX + tx]) tx++;
        const key = `${start}:${tx - 1}`;
        const run = open.get(key);
        if (run && run.y1 === ty - 1) run.y1 = ty;
        else {
          if (run) done.push(run);
          open.set(key, { x0: start, x1: tx - 1, y0: ty, y1: ty });
        }
        seen.add(key);
      }
      for (const [key, run] of open) {
        if (!seen.has(key)) {
          done.push(run);
          open.delete(key);
        }
      }
    }
    done.push(...open.values());
    this.dirty.fill(0);
    this.dirtyCount = 0;
    return done.map((t) => {
      const x = t.x0 * TILE;
      const y = t.y0 * TILE;
      return { x, y, width: Math.min(this.width, (t.x1 + 1) * TILE) - x, height: Math.min(this.height, (t.y1 + 1) * TILE) - y };
    });
  }

  /** A copy of one region as tightly packed RGBA. */
  crop(r: Rect): Buffer {
    const out = Buffer.allocUnsafe(r.width * r.height * 4);
    for (let row = 0; row < r.height; row++) {
      const from = ((r.y + row) * this.width + r.x) * 4;
      this.pixels.copy(out, row * r.width * 4, from, from + r.width * 4);
    }
    return out;
  }
}

type Converter = (src: Uint8Array, si: number, dst: Buffer, di: number) => void;

function bytesPerPixel(bpp: number): number {
  switch (bpp) {
    case 15:
    case 16:
      return 2;
    case 24:
      return 3;
    case 32:
      return 4;
    default:
      throw new Error(`unsupported colour depth ${bpp} bpp`);
  }
}

/** Output of the library's RLE decoder: 4 bytes a pixel. */
function decodedConverter(bpp: number): Converter {
  switch (bpp) {
    case 24:
      return (s, i, d, o) => {
        d[o] = s[i + 2] as number;
        d[o + 1] = s[i + 1] as number;
        d[o + 2] = s[i] as number;
      };
    case 15:
    case 16:
    case 32:
      return (s, i, d, o) => {
        d[o] = s[i] as number;
        d[o + 1] = s[i + 1] as number;
        d[o + 2] = s[i + 2] as number;
      };
    default:
      throw new Error(`unsupported colour depth ${bpp} bpp`);
  }
}

/** Uncompressed RDP pixels. 5- and 6-bit channels are widened by repeating their high bits. */
function rawConverter(bpp: number): Converter {
  switch (bpp) {
    case 15:
      return (s, i, d, o) => {
        const v = (s[i] as number) | ((s[i + 1] as number) << 8);
        const r = (v >> 10) & 0x1f, g = (v >> 5) & 0x1f, b = v & 0x1f;
        d[o] = (r << 3) | (r >> 2);
        d[o + 1] = (g << 3) | (g >> 2);
        d[o + 2] = (b << 3) | (b >> 2);
      };
    case 16:
      return (s, i, d, o) => {
        const v = (s[i] as number) | ((s[i + 1] as number) << 8);
        const r = (v >> 11) & 0x1f, g = (v >> 5) & 0x3f, b = v & 0x1f;
        d[o] = (r << 3) | (r >> 2);
        d[o + 1] = (g << 2) | (g >> 4);
        d[o + 2] = (b << 3) | (b >> 2);
      };
    case 24:
    case 32:
      return (s, i, d, o) => {
        d[o] = s[i + 2] as number;
        d[o + 1] = s[i + 1] as number;
        d[o + 2] = s[i] as number;
      };
    default:
      throw new Error(`unsupported colour depth ${bpp} bpp`);
  }
}
