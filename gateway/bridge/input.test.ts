import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyboard, keysymToCodePoint, MouseState, type RdpInputEvent } from './input.js';
import { KEYMAPS } from './keymaps/layouts.js';
import { charKeysym } from './keymaps/types.js';

const us = KEYMAPS['en-us-qwerty']!;
const de = KEYMAPS['de-de-qwertz']!;

/** A fresh keyboard's events for one key instruction (no modifier held). */
const keyEvents = (keymap: typeof us, keysym: number, pressed: boolean): RdpInputEvent[] => new Keyboard(keymap).events(keysym, pressed);

const keys: { name: string; keymap: typeof us; keysym: number; scancode: number; extended: boolean }[] = [
  { name: 'a', keymap: us, keysym: 0x61, scancode: 0x1e, extended: false },
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

const sc = (scancode: number, pressed: boolean, extended = false): RdpInputEvent => ({ type: 'scancode', scancode, extended, pressed });
const SHIFT_L = 0xffe1;
const SHIFT_R = 0xffe2;
const ALTGR = 0xfe03;

/** Plays key instructions on one keyboard and returns every event, in order. */
function play(keymap: typeof us, ...keys: [number | string, 0 | 1][]): RdpInputEvent[] {
  const kb = new Keyboard(keymap);
  return keys.flatMap(([k, pressed]) => kb.events(typeof k === 'string' ? charKeysym(k) : k, pressed === 1));
}

test("a shifted symbol sent without Shift is typed with Shift around it: '>' is Shift+'.', not '.'", () => {
  assert.deepEqual(play(us, ['>', 1], ['>', 0]), [sc(0x2a, true), sc(0x34, true), sc(0x2a, false), sc(0x34, false)]);
  assert.deepEqual(play(us, ['A', 1]), [sc(0x2a, true), sc(0x1e, true), sc(0x2a, false)]);
  assert.deepEqual(play(de, ['>', 1]), [sc(0x2a, true), sc(0x56, true), sc(0x2a, false)], "on QWERTZ '>' is Shift+<");
});

test('a person holding Shift types shifted symbols as they are, with no extra events', () => {
  assert.deepEqual(play(us, [SHIFT_L, 1], ['>', 1], ['>', 0], [SHIFT_L, 0]), [sc(0x2a, true), sc(0x34, true), sc(0x34, false), sc(0x2a, false)]);
  assert.deepEqual(play(us, [SHIFT_R, 1], ['A', 1]), [sc(0x36, true), sc(0x1e, true)]);
});

test('a plain symbol sent while Shift is held is typed with every held Shift lifted, then pressed again', () => {
  assert.deepEqual(play(us, [SHIFT_L, 1], ['.', 1], ['.', 0]), [sc(0x2a, true), sc(0x2a, false), sc(0x34, true), sc(0x2a, true), sc(0x34, false)]);
  assert.deepEqual(play(us, [SHIFT_L, 1], [SHIFT_R, 1], ['1', 1]).slice(2), [sc(0x2a, false), sc(0x36, false), sc(0x02, true), sc(0x36, true), sc(0x2a, true)]);
  assert.deepEqual(play(us, [SHIFT_L, 1], [SHIFT_L, 0], ['.', 1]), [sc(0x2a, true), sc(0x2a, false), sc(0x34, true)], 'a released Shift is no longer held');
});

test('keys without a level keep the modifiers held: Shift+Left selects, Shift+Return stays Shift+Return', () => {
  assert.deepEqual(play(us, [SHIFT_L, 1], [0xff51, 1]), [sc(0x2a, true), sc(0x4b, true, true)]);
  assert.deepEqual(play(us, [SHIFT_L, 1], [0xff0d, 1]), [sc(0x2a, true), sc(0x1c, true)]);
});

test('AltGr symbols: pressed around the key when not held, Shift lifted for them, none when the client holds AltGr', () => {
  const altgrDown = sc(0x38, true, true);
  const altgrUp = sc(0x38, false, true);
  assert.deepEqual(play(de, ['@', 1]), [altgrDown, sc(0x10, true), altgrUp], '@ is AltGr+q on QWERTZ');
  assert.deepEqual(play(de, [ALTGR, 1], ['@', 1]), [altgrDown, sc(0x10, true)]);
  assert.deepEqual(play(de, [SHIFT_L, 1], ['{', 1]).slice(1), [sc(0x2a, false), altgrDown, sc(0x08, true), altgrUp, sc(0x2a, true)]);
  assert.deepEqual(play(de, [ALTGR, 1], ['q', 1]).slice(1), [altgrUp, sc(0x10, true), altgrDown], 'a plain q while AltGr is held');
  assert.deepEqual(play(us, ['€', 1]), [{ type: 'unicode', unit: 0x20ac, pressed: true }], 'US has no AltGr level: a unicode event');
});

test('every layout: each listed symbol gives its own scancode at its own level', () => {
  const cases: [typeof us, string, number, boolean, boolean][] = [
    [us, '<', 0x33, true, false], [us, ',', 0x33, false, false], [KEYMAPS['en-gb-qwerty']!, '€', 0x05, false, true],
    [de, '\\', 0x0c, false, true], [de, '|', 0x56, false, true], [de, 'µ', 0x32, false, true],
    [KEYMAPS['fr-fr-azerty']!, '@', 0x0b, false, true], [KEYMAPS['fr-fr-azerty']!, '1', 0x02, true, false],
  ];
  for (const [keymap, ch, scancode, shift, altgr] of cases) {
    assert.deepEqual(keymap.keys.get(charKeysym(ch)), { scancode, level: { shift, altgr } }, `${keymap.name} ${ch}`);
  }
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
