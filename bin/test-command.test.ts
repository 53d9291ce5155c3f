import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../bin/test.mjs', import.meta.url));

/** A dist/ of test files: the two that run alone (the relay rig's and the end-to-end one), and others. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'vdiguard-test-command-'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(join(dir, 'dist', path, '..'), { recursive: true });
    writeFileSync(join(dir, 'dist', path), `import { test } from 'node:test';\n${body}\n`);
  }
  return dir;
}

function runIn(dir: string): { status: number | null; stdout: string } {
  // Outside the runner this test runs under, as `npm test` runs it.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, [script], { cwd: dir, env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout };
}

test('both runs read as one: numbered on, one plan, one summary adding them up', () => {
  const dir = project({
    'rig/relay-rig.test.js': `test('alone', () => {});`,
    'gateway/e2e/e2e.test.js': `test('alone too', () => {});`,
    'a/x.test.js': `test('x1', () => {}); test('x2', () => {});`,
    'b/y.test.js': `test('y1', () => {});`,
    'gateway/test-client.js': `test('a helper, not a test file', () => { throw new Error('ran'); });`,
  });
  const { status, stdout } = runIn(dir);
  assert.equal(status, 0, stdout);
  assert.match(stdout, /^ok 1 - alone$/m, 'the files that run alone run first');
  assert.match(stdout, /^ok 2 - alone too$/m);
  assert.deepEqual(stdout.match(/^ok \d+/gm), ['ok 1', 'ok 2', 'ok 3', 'ok 4', 'ok 5']);
  assert.deepEqual(stdout.match(/^1\.\.\d+$/gm), ['1..5']);
  assert.deepEqual(stdout.match(/^# (tests|pass|fail) \d+$/gm), ['# tests 5', '# pass 5', '# fail 0']);
});

test('a failure in either run fails the command and is counted once in the summary', () => {
  for (const failing of ['rig/relay-rig.test.js', 'a/x.test.js']) {
    const dir = project({
      'rig/relay-rig.test.js': `test('alone', () => {});`,
      'gateway/e2e/e2e.test.js': `test('alone too', () => {});`,
      'a/x.test.js': `test('x1', () => {});`,
      [failing]: `test('broken', () => { throw new Error('boom'); });`,
    });
    const { status, stdout } = runIn(dir);
    assert.equal(status, 1, `${failing}: ${stdout}`);
    assert.match(stdout, /^not ok \d+ - broken$/m);
    assert.deepEqual(stdout.match(/^# (pass|fail) \d+$/gm), ['# pass 2', '# fail 1'], failing);
  }
});

test('without a build it says what to do', () => {
  const dir = project({ 'a/x.test.js': `test('x1', () => {});` });
  const r = spawnSync(process.execPath, [script], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /dist\/rig\/relay-rig\.test\.js, dist\/gateway\/e2e\/e2e\.test\.js not found under dist\/: build first \(npm run build\)/);
});
