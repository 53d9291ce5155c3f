#!/usr/bin/env node
// @ts-check
/**
 * The test command (`npm test`, after the build): node's own test runner over every test file in
 * dist/, three files at a time, except the few whose assertions are measurements of real timing,
 * which run first, one at a time, so that a neighbour's load cannot move what they measure. Both runs go
 * through one reporter as one run: one numbering, one plan, one summary, and a non-zero exit on
 * any failure, as `node --test dist/` gives.
 *
 * Most files spend their time waiting on real components (chromium, xrdp, guacd, PostgreSQL,
 * playback at recorded speed), so three at a time takes about a quarter off the run on a 2-core machine.
 */
import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';

/**
 * Files whose assertions measure real timing, and which a neighbour's load moves: the relay rig
 * times the page's pointer events through an X server and x11vnc (its local input read 2.5 ms off
 * its path, against a 2 ms margin, beside another file); the end-to-end test's genuine session
 * must be measured on the page's own times, and a loaded gateway stamps arrivals late (9 of 801
 * events beyond the envelope, against at most 1%, beside another file).
 */
const ALONE = ['dist/rig/relay-rig.test.js', 'dist/gateway/e2e/e2e.test.js'];

/** Test files as `node --test dist/` finds them (*.test.js), sorted. */
function testFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.js'))
    .map((e) => relative(process.cwd(), join(e.parentPath ?? e.path, e.name)).split(sep).join('/'))
    .sort();
}

/**
 * Files run at once after those. On the 2-core CI machine the suite took 19.1 minutes with two at
 * a time and 16.5 with three (both passed).
 */
const TOGETHER = 3;

const SUMMARY = /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) (\d+(?:\.\d+)?)$/;

/**
 * The events of the runs one after the other, as those of one run: top-level tests numbered on,
 * each run's plan and summary held back and given once, added up, at the end.
 */
async function* asOneRun(runs) {
  const totals = new Map();
  let numbered = 0;
  let failed = false;
  for (const start of runs) {
    const offset = numbered;
    for await (const event of start()) {
      const data = event.data ?? {};
      if (event.type === 'test:diagnostic' && data.nesting === 0 && SUMMARY.test(data.message)) {
        const [, name, value] = SUMMARY.exec(data.message);
        totals.set(name, (totals.get(name) ?? 0) + Number(value));
        continue;
      }
      if (event.type === 'test:plan' && data.nesting === 0) continue;
      if ((event.type === 'test:pass' || event.type === 'test:fail') && data.nesting === 0) {
        numbered = Math.max(numbered, offset + data.testNumber);
        yield { ...event, data: { ...data, testNumber: offset + data.testNumber } };
        if (event.type === 'test:fail') failed = true;
        continue;
      }
      if (event.type === 'test:fail') failed = true;
      yield event;
    }
  }
  yield { type: 'test:plan', data: { nesting: 0, count: numbered } };
  for (const [name, value] of totals) {
    const shown = name === 'duration_ms' ? value.toFixed(3) : String(value);
    yield { type: 'test:diagnostic', data: { nesting: 0, message: `${name} ${shown}` } };
  }
  if (failed || (totals.get('fail') ?? 0) > 0 || (totals.get('cancelled') ?? 0) > 0) process.exitCode = 1;
}

const files = testFiles('dist');
const missing = ALONE.filter((f) => !files.includes(f));
if (missing.length > 0) {
  console.error(`bin/test.mjs: ${missing.join(', ')} not found under dist/: build first (npm run build), or update ALONE`);
  process.exit(2);
}
const together = files.filter((f) => !ALONE.includes(f));
const events = Readable.from(asOneRun([() => run({ files: ALONE, concurrency: 1 }), () => run({ files: together, concurrency: TOGETHER })]));
// As `node --test` chooses: spec on a terminal, TAP otherwise (CI).
(process.stdout.isTTY ? events.pipe(new spec()) : Readable.from(tap(events))).pipe(process.stdout);
