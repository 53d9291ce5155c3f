/**
 * lib/ sits below the services: the gateway, the scorer and the tools built on them import it,
 * never the other way round, so a module here can be read, tested and reused without them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ABOVE = ['gateway', 'scorer', 'soak', 'rig', 'deploy', 'bin'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

test('no module of lib/ (tests included) imports from the services or the tools above it', () => {
  const files = sources(path.join(ROOT, 'lib'));
  assert.ok(files.length > 20, `read ${files.length} files of lib/`);
  const offending: string[] = [];
  for (const file of files) {
    for (const m of readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
      const target = path.relative(ROOT, path.resolve(path.dirname(file), m[1] as string));
      if (m[1]!.startsWith('.') && ABOVE.includes(target.split(path.sep)[0] as string)) offending.push(`${path.relative(ROOT, file)} imports ${m[1]}`);
    }
  }
  assert.deepEqual(offending, []);
});
