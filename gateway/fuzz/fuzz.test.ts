/**
 * The fuzz itself: its oracle reads the protocol as the desktop does, its cases repeat from the seed,
 * and a short run (2,000 instructions through the tap and through the bridge's handshake over TCP,
 * `vdiguard bridge` in its own process, no desktop) finds nothing. `npm run fuzz` is the long run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { asBytes, downstreamInstructions } from './downstream.js';
import { fuzz } from './fuzz.js';
import { tapCase, runTapCase } from './tap-target.js';
import { caseRng, inputInstruction } from './generate.js';
import { GuacParser, GUACD_LIMITS, readInput } from '../guac/index.js';

test('the desktop side reads lone surrogate halves as U+FFFD and stops at the first malformed instruction', () => {
  assert.deepEqual(downstreamInstructions(asBytes(['4.name,1.\ud800;', '3.key,2.65,1.1;'])), [
    { opcode: 'name', args: ['\ufffd'] },
    { opcode: 'key', args: ['65', '1'] },
  ]);
  assert.deepEqual(downstreamInstructions(Buffer.from('3.nop;3.key,2.65')), [{ opcode: 'nop', args: [] }], 'an unfinished instruction is not read');
  assert.deepEqual(downstreamInstructions(Buffer.from('3.nop;3.key;x;3.nop;')), [{ opcode: 'nop', args: [] }, { opcode: 'key', args: [] }]);
});

test('a case is the same input every time it is generated from the seed and its index', () => {
  assert.deepEqual(tapCase(42, 1234), tapCase(42, 1234));
  assert.notDeepEqual(tapCase(42, 1234).chunks, tapCase(43, 1234).chunks);
});

test('the tap oracle accepts a tap that refuses, and flags one that forwards what its parser did not accept', () => {
  // The real tap: a complete key, then a length that is not a number: refused, and that is correct.
  const refused = runTapCase({ index: 0, instructions: 2, holding: false, chunks: ['3.key,2.65,1.1;', '3.key,x.'] });
  assert.equal(refused.violation, undefined);
  assert.equal(refused.refused, true);
  assert.equal(runTapCase({ index: 0, instructions: 2, holding: true, chunks: ['3.key,2.65,1.1;3.nop;'] }).violation, undefined);

  // A fake tap with the faults the oracle exists for: it forwards every chunk whole, held or broken.
  const leaky = () => ({ holding: false, push: (chunk: string | Buffer) => ({ forward: chunk }) });
  assert.match(runTapCase({ index: 0, instructions: 1, holding: true, chunks: ['3.nop;3.key,2.65,1.1;'] }, leaky).violation ?? '',
    /the desktop side read instruction 2 as \["key","65","1"\] but the tap accepted nothing/);
  assert.match(runTapCase({ index: 0, instructions: 2, holding: false, chunks: ['3.key,2.65,1.1;3.key,x.'] }, leaky).violation ?? '',
    /the tap passed a chunk in which its parser found an error \(bad-length\)/);
});

test('canonical input from the generator is read as canonical input, every instruction of it', () => {
  const rng = caseRng(5, 0);
  for (let i = 0; i < 5000; i++) {
    const wire = inputInstruction(rng, { avoidEnter: true, canonical: true });
    const [parsed] = new GuacParser(GUACD_LIMITS).push(Buffer.from(wire));
    const read = readInput(parsed!.instruction!);
    assert.ok(read?.input, `${wire}: ${read?.error?.message ?? 'not input'}`);
  }
});

test('smoke: 2,000 instructions through the tap and the bridge handshake find nothing', { timeout: 60000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vdiguard-fuzz-'));
  try {
    const lines: string[] = [];
    const reports = await fuzz({
      seed: 17, instructions: 2000, seconds: 30, liveSeconds: 1, hangMs: 5000, concurrency: 8, findingsDir: dir,
      targets: ['tap', 'handshake'], desktopUser: 'none', desktopPassword: 'none',
    }, (line) => lines.push(line));
    assert.equal(reports.length, 2, lines.join('\n'));
    for (const r of reports) {
      assert.deepEqual(r.findings, [], `${r.target}:\n${lines.join('\n')}`);
      assert.ok(r.instructions >= 2000, `${r.target} sent ${r.instructions}`);
      assert.ok((r.peakRss ?? 0) > 0, `${r.target} measured no RSS`);
    }
    assert.match(lines[0] as string, /seed 17/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
