/**
 * Reading V8 heap snapshots (the files `node --heapsnapshot-signal` writes): what the heap holds
 * after the full collection a snapshot forces, by constructor, and what grew between two. A leak is
 * what keeps growing there; resident memory alone also moves with allocator and native caches.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';

export interface HeapGroup {
  count: number;
  bytes: number;
}

export interface HeapSummary {
  /** Sum of the self sizes of every node: the live heap after a full collection. */
  readonly bytes: number;
  readonly nodes: number;
  /** By constructor for objects, by kind otherwise ("(string)", "(closure)", "(code)"...). */
  readonly groups: ReadonlyMap<string, HeapGroup>;
}

interface SnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Summarises the JSON text of a .heapsnapshot; throws a clear error on a file that is not one (or not whole). */
export function summarizeHeapSnapshot(text: string): HeapSummary {
  let file: SnapshotFile;
  try {
    file = JSON.parse(text) as SnapshotFile;
  } catch (err) {
    throw new Error(`not a complete heap snapshot (${(err as Error).message}): was it still being written?`);
  }
  const fields = file.snapshot?.meta?.node_fields;
  if (!Array.isArray(fields) || !Array.isArray(file.nodes) || !Array.isArray(file.strings)) {
    throw new Error('not a V8 heap snapshot: snapshot.meta.node_fields, nodes or strings is missing');
  }
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = file.snapshot.meta.node_types[0];
  const groups = new Map<string, HeapGroup>();
  let bytes = 0;
  for (let i = 0; i < file.nodes.length; i += width) {
    const type = types[file.nodes[i + typeAt] as number] ?? 'unknown';
    const size = file.nodes[i + sizeAt] as number;
    const key = type === 'object' || type === 'native' ? (file.strings[file.nodes[i + nameAt] as number] ?? '?') : `(${type})`;
    const g = groups.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += size;
    groups.set(key, g);
    bytes += size;
  }
  return { bytes, nodes: file.nodes.length / width, groups };
}

export interface HeapChange {
  readonly name: string;
  readonly count: number;
  readonly bytes: number;
}

/** The groups whose bytes grew most from `before` to `after`, largest first. */
export function heapGrowth(before: HeapSummary, after: HeapSummary, top = 8): HeapChange[] {
  const changes: HeapChange[] = [];
  for (const [name, a] of after.groups) {
    const b = before.groups.get(name) ?? { count: 0, bytes: 0 };
    if (a.bytes > b.bytes) changes.push({ name, count: a.count - b.count, bytes: a.bytes - b.bytes });
  }
  return changes.sort((x, y) => y.bytes - x.bytes).slice(0, top);
}

/** Node options that make a process write a heap snapshot into `dir` on SIGUSR2. */
export function heapSnapshotArgs(dir: string): string[] {
  return ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`];
}

/**
 * Has `child` (started with heapSnapshotArgs(dir)) write a heap snapshot: it collects all garbage
 * first and serves nothing while it writes. Resolves with its summary once the file is whole.
 */
export async function takeHeapSnapshot(child: ChildProcess, dir: string, timeoutMs = 120_000): Promise<{ file: string; summary: HeapSummary }> {
  const list = () => readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot'));
  const before = new Set(list());
  child.kill('SIGUSR2');
  for (const t0 = Date.now(); Date.now() - t0 < timeoutMs; await new Promise((r) => setTimeout(r, 1000))) {
    const file = list().find((f) => !before.has(f));
    if (!file) continue;
    try {
      return { file: path.join(dir, file), summary: summarizeHeapSnapshot(readFileSync(path.join(dir, file), 'utf8')) };
    } catch {
      // Still being written: the next look reads it whole.
    }
  }
  throw new Error(`process ${child.pid} wrote no complete heap snapshot into ${dir} within ${timeoutMs / 1000} s`);
}
