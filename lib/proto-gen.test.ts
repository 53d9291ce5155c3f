import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

test('proto/gen is exactly what the .proto files generate (run `npm run gen` after editing them)', () => {
  const out = mkdtempSync(join(tmpdir(), 'vdiguard-gen-'));
  execFileSync(join(root, 'node_modules/.bin/buf'), ['generate', 'proto', '--template', 'proto/buf.gen.yaml', '-o', out], { cwd: root });
  const fresh = join(out, 'proto/gen');
  const committed = join(root, 'proto/gen');
  assert.deepEqual(files(fresh), files(committed));
  for (const f of files(fresh)) {
    assert.equal(readFileSync(join(committed, f), 'utf8'), readFileSync(join(fresh, f), 'utf8'), `${f} differs from the generated one`);
  }
});
