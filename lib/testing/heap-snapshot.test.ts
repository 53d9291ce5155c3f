/** Heap snapshots of this very process, read back: what it holds, and what grew between two. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { heapGrowth, summarizeHeapSnapshot } from './heap-snapshot.js';

class HeapProbe {
  constructor(readonly n: number) {}
}

test('a snapshot counts the objects of a class by its constructor, and growth names the class that grew', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vdiguard-heap-'));
  try {
    const kept: HeapProbe[] = Array.from({ length: 1000 }, (_, i) => new HeapProbe(i));
    const before = summarizeHeapSnapshot(readFileSync(v8.writeHeapSnapshot(path.join(dir, 'a.heapsnapshot')), 'utf8'));
    for (let i = 0; i < 20_000; i++) kept.push(new HeapProbe(i));
    const after = summarizeHeapSnapshot(readFileSync(v8.writeHeapSnapshot(path.join(dir, 'b.heapsnapshot')), 'utf8'));
    assert.equal(before.groups.get('HeapProbe')?.count, 1000);
    assert.equal(after.groups.get('HeapProbe')?.count, 21_000);
    assert.ok(after.bytes > before.bytes);
    const grown = heapGrowth(before, after, 3);
    const probe = grown.find((g) => g.name === 'HeapProbe');
    assert.ok(probe, `HeapProbe among what grew most: ${grown.map((g) => g.name).join(', ')}`);
    assert.equal(probe.count, 20_000);
    assert.ok(kept.length === 21_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a snapshot cut short, or a file that is not one, is refused with what is wrong', () => {
  assert.throws(() => summarizeHeapSnapshot('{"snapshot":{"meta":'), /not a complete heap snapshot .*still being written/);
  assert.throws(() => summarizeHeapSnapshot('{"nodes":[]}'), /not a V8 heap snapshot/);
});
