/**
 * Keeps the README's configuration tables equal to the settings declared in code. Each table sits
 * between `<!-- settings:NAME -->` and `<!-- /settings:NAME -->`; `npm run docs` rewrites them and a
 * test fails when they drift.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { settingsTable, type SettingsSpec } from '../lib/config.js';
import { SCORER_SETTINGS } from '../scorer/config.js';
import { BRIDGE_SETTINGS } from '../gateway/bridge/config.js';
import { GATEWAY_SETTINGS } from '../gateway/config.js';

/** Every documented settings table, by the name used in the README's markers. */
export const DOCUMENTED_SETTINGS: Record<string, SettingsSpec> = {
  scorer: SCORER_SETTINGS,
  bridge: BRIDGE_SETTINGS,
  gateway: GATEWAY_SETTINGS,
};

export function withSettingsTables(readme: string): string {
  let out = readme;
  for (const [name, spec] of Object.entries(DOCUMENTED_SETTINGS)) {
    const begin = `<!-- settings:${name} -->`;
    const end = `<!-- /settings:${name} -->`;
    const from = out.indexOf(begin);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`README.md has no ${begin} ... ${end} section`);
    out = `${out.slice(0, from + begin.length)}\n${settingsTable(spec)}\n${out.slice(to)}`;
  }
  return out;
}

export const README_PATH = fileURLToPath(new URL('../../README.md', import.meta.url));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(README_PATH, withSettingsTables(readFileSync(README_PATH, 'utf8')));
}
