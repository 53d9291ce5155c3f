import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { README_PATH, withSettingsTables } from './readme.js';

test("the README's configuration tables match the settings declared in code", () => {
  const readme = readFileSync(README_PATH, 'utf8');
  assert.equal(readme, withSettingsTables(readme), 'the README is out of date: run `npm run docs`');
});
