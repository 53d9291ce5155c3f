import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Framebuffer, TILE, type BitmapUpdate } from './framebuffer.js';

const px = (fb: Framebuffer, x: number, y: number) => [...fb.pixels.subarray((y * fb.width + x) * 4, (y * fb.width + x) * 4 + 4)];

function update(bpp: number, format: 'decoded' | 'raw', width: number, height: number, data: number[], at = { x: 1, y: 2 }): BitmapUpdate {
  return { destLeft: at.x, destTop: at.y, destRight: at.x + width - 1, destBottom: at.y + height - 1, width, height, bitsPerPixel: bpp, format, data: Uint8Array.from(data) };
}

// A 2x2 bitmap: top-left red, top-right green, bottom-left blue, bottom-right white.
const expected = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];
const formats: { name: string; b: BitmapUpdate }[] = [
  { name: 'decoded 24 bpp (B,G,R,X)', b: update(24, 'decoded', 2, 2, [0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0]) },
  { name: 'decoded 32 bpp (R,G,B,A)', b: update(32, 'decoded', 2, 2, [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255]) },
  { name: 'decoded 16 bpp (R,G,B,A)', b: update(16, 'decoded', 2, 2, [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255]) },
  // Raw rows are bottom-up: the bottom row (blue, white) comes first.
  { name: 'raw 32 bpp (B,G,R,X bottom-up)', b: update(32, 'raw', 2, 2, [255, 0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 0, 0, 255, 0, 0]) },
  { name: 'raw 24 bpp (B,G,R bottom-up)', b: update(24, 'raw', 2, 2, [255, 0, 0, 255, 255, 255, 0, 0, 255, 0, 255, 0]) },
  { name: 'raw 16 bpp (RGB565 LE bottom-up)', b: update(16, 'raw', 2, 2, [0x1f, 0x00, 0xff, 0xff, 0x00, 0xf8, 0xe0, 0x07]) },
  { name: 'raw 15 bpp (RGB555 LE bottom-up)', b: update(15, 'raw', 2, 2, [0x1f, 0x00, 0xff, 0x7f, 0x00, 0x7c, 0xe0, 0x03]) },
];

for (const { name, b } of formats) {
  test(`draws ${name} updates as RGBA`, () => {
    const fb = new Framebuffer(8, 8);
    fb.apply(b);
    assert.deepEqual(px(fb, 1, 2), [...expected[0]!, 255]);
    assert.deepEqual(px(fb, 2, 2), [...expected[1]!, 255]);
    assert.deepEqual(px(fb, 1, 3), [...expected[2]!, 255]);
    assert.deepEqual(px(fb, 2, 3), [...expected[3]!, 255]);
    assert.deepEqual(px(fb, 0, 0), [0, 0, 0, 255], 'outside the update stays as it was');
  });
}

test('padded tiles are clipped to their destination and to the screen', () => {
  const fb = new Framebuffer(3, 3);
  // 4x1 bitmap of white whose destination is 2 pixels wide, at the right edge.
  fb.apply({ destLeft: 2, destTop: 0, destRight: 3, destBottom: 0, width: 4, height: 1, bitsPerPixel: 32, format: 'decoded', data: new Uint8Array(16).fill(255) });
  assert.deepEqual(px(fb, 2, 0), [255, 255, 255, 255]);
  assert.deepEqual(px(fb, 1, 0), [0, 0, 0, 255]);
});

test('too little data and unknown depths are errors, not garbage', () => {
  const fb = new Framebuffer(8, 8);
  assert.throws(() => fb.apply(update(32, 'decoded', 2, 2, [1, 2, 3])), /needs 16/);
  assert.throws(() => fb.apply(update(8, 'raw', 2, 2, [0, 0, 0, 0])), /unsupported colour depth 8/);
});

test('dirty regions: nothing at first, the changed tiles after an update, cleared once taken', () => {
  const fb = new Framebuffer(200, 130);
  assert.deepEqual(fb.takeDirty(), []);
  fb.markDirty({ x: 70, y: 10, width: 10, height: 60 });
  assert.deepEqual(fb.takeDirty(), [{ x: 64, y: 0, width: 64, height: 128 }]);
  assert.equal(fb.isDirty, false);
  fb.markDirty({ x: 0, y: 0, width: 200, height: 130 });
  assert.deepEqual(fb.takeDirty(), [{ x: 0, y: 0, width: 200, height: 130 }]);
});

test('property: dirty rectangles cover every marked pixel, stay on screen and do not overlap', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ x: fc.nat(299), y: fc.nat(199), width: fc.integer({ min: 1, max: 120 }), height: fc.integer({ min: 1, max: 120 }) }), { minLength: 1, maxLength: 8 }),
      (marks) => {
        const fb = new Framebuffer(300, 200);
        for (const m of marks) fb.markDirty({ ...m, width: Math.min(m.width, 300 - m.x), height: Math.min(m.height, 200 - m.y) });
        const rects = fb.takeDirty();
        const cover = new Uint8Array(300 * 200);
        for (const r of rects) {
          assert.ok(r.x >= 0 && r.y >= 0 && r.x + r.width <= 300 && r.y + r.height <= 200);
          assert.equal(r.x % TILE, 0);
          for (let y = r.y; y < r.y + r.height; y++) for (let x = r.x; x < r.x + r.width; x++) assert.equal(cover[y * 300 + x]++, 0, 'overlap');
        }
        for (const m of marks) assert.equal(cover[m.y * 300 + m.x], 1, 'marked pixel not covered');
      },
    ),
  );
});
