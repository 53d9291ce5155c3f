import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyEvents, keysymToCodePoint, MouseState } from './input.js';
import { KEYMAPS } from './keymaps/layouts.js';
import { charKeysym } from './keymaps/types.js';

const us = KEYMAPS['en-us-qwerty']!;
const de = KEYMAPS['de-de-qwertz']!;

const keys: { name: string; keymap: typeof us; keysym: number; scancode: number; extended: boolean }[] = [
  { name: 'a', keymap: us, keysym: 0x61, scancode: 0x1e, extended: false },
  { name: 'A shares the key of a', keymap: us, keysym: 0x41, scancode: 0x1e, extended: false },
  { name: 'Return', keymap: us, keysym: 0xff0d, scancode: 0x1c, extended: false },
  { name: 'Left arrow is extended', keymap: us, keysym: 0xff51, scancode: 0x4b, extended: true },
  { name: 'Control_R is extended', keymap: us, keysym: 0xffe4, scancode: 0x1d, extended: true },
  { name: 'z on QWERTY', keymap: us, keysym: 0x7a, scancode: 0x2c, extended: false },
  { name: 'z on QWERTZ', keymap: de, keysym: 0x7a, scancode: 0x15, extended: false },
  { name: 'ö on QWERTZ', keymap: de, keysym: 0xf6, scancode: 0x27, extended: false },
  { name: 'a on AZERTY', keymap: KEYMAPS['fr-fr-azerty']!, keysym: 0x61, scancode: 0x10, extended: false },
];

for (const { name, keymap, keysym, scancode, extended } of keys) {
  test(`key ${name} (${keymap.name}) is a scancode`, () => {
    assert.deepEqual(keyEvents(keymap, keysym, true), [{ type: 'scancode', scancode, extended, pressed: true }]);
    assert.deepEqual(keyEvents(keymap, keysym, false), [{ type: 'scancode', scancode, extended, pressed: false }]);
  });
}

test('a character no key gives is a unicode event; beyond the BMP, a surrogate pair', () => {
  assert.deepEqual(keyEvents(us, 0xe9, true), [{ type: 'unicode', unit: 0xe9, pressed: true }]); // é
  assert.deepEqual(keyEvents(us, 0x01000000 + 0x20ac, true), [{ type: 'unicode', unit: 0x20ac, pressed: true }]); // €
  assert.deepEqual(keyEvents(us, 0x01000000 + 0x1f600, false), [
    { type: 'unicode', unit: 0xd83d, pressed: false },
    { type: 'unicode', unit: 0xde00, pressed: false },
  ]);
  assert.deepEqual(keyEvents(us, 0xfe52, true), [], 'a dead key with no character sends nothing');
});

test('keysymToCodePoint and charKeysym agree', () => {
  for (const ch of ['a', '~', 'é', 'ß', '€', '日', '😀']) assert.equal(keysymToCodePoint(charKeysym(ch)), ch.codePointAt(0));
});

test('every layout maps every ASCII letter and digit', () => {
  for (const keymap of Object.values(KEYMAPS)) {
    for (const ch of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789') {
      assert.ok(keymap.keys.has(ch.charCodeAt(0)), `${keymap.name} lacks ${ch}`);
    }
  }
});

test('mouse: moves, button presses and releases, and wheel notches become only what changed', () => {
  const m = new MouseState();
  assert.deepEqual(m.events(10, 20, 0), [{ type: 'pointer', x: 10, y: 20, button: 0, pressed: false }]);
  assert.deepEqual(m.events(10, 20, 1), [{ type: 'pointer', x: 10, y: 20, button: 1, pressed: true }]);
  assert.deepEqual(m.events(12, 20, 1), [{ type: 'pointer', x: 12, y: 20, button: 0, pressed: false }]);
  assert.deepEqual(m.events(12, 20, 4), [
    { type: 'pointer', x: 12, y: 20, button: 1, pressed: false },
    { type: 'pointer', x: 12, y: 20, button: 2, pressed: true },
  ]);
  assert.deepEqual(m.events(12, 20, 2), [
    { type: 'pointer', x: 12, y: 20, button: 3, pressed: true },
    { type: 'pointer', x: 12, y: 20, button: 2, pressed: false },
  ]);
  assert.deepEqual(m.events(12, 20, 0), [{ type: 'pointer', x: 12, y: 20, button: 3, pressed: false }]);
  assert.deepEqual(m.events(12, 20, 8), [{ type: 'wheel', x: 12, y: 20, down: false }]);
  assert.deepEqual(m.events(12, 20, 0), []);
  assert.deepEqual(m.events(12, 20, 16), [{ type: 'wheel', x: 12, y: 20, down: true }]);
});
