/**
 * The shutdown spill: records a write queue could not write before its process had to stop (the
 * database away, or the grace period over) go to a file in a private directory, and the next start
 * reads them back and writes them. Records must be idempotent to write, since one in flight at
 * shutdown may have landed too.
 *
 * One file per shutdown, `<queue>-<time>-<pid>.jsonl`: a header line with the record count, then
 * one JSON record per line. It is written to a temporary name, flushed and renamed, so a process
 * killed while spilling leaves no half file under a name that is read back. Dates survive the
 * round trip by name: a string value of a key ending in `At` that is an ISO time comes back as a
 * Date.
 */
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir } from '../private-dir.js';

const FORMAT = 'vdiguard.spill.v1';
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

export interface SpillOptions<R> {
  /** The directory (created private if missing). */
  readonly dir: string;
  /** Whose records: the file name's prefix, so queues can share a directory. */
  readonly queue: string;
  /** Whether a parsed line is a record this queue can write. */
  readonly isRecord: (value: unknown) => value is R;
}

export interface SpillLoad<R> {
  readonly records: R[];
  /** The files the records came from: remove them once the records are written. */
  readonly files: string[];
  /** What was wrong with files that could not be read whole; each was kept as `<file>.bad`. */
  readonly problems: string[];
}

export class Spill<R> {
  constructor(private readonly options: SpillOptions<R>) {}

  /** Writes `records` to a new spill file; returns its path. */
  save(records: readonly R[]): string {
    const { dir, queue } = this.options;
    ensurePrivateDir(dir);
    const name = `${queue}-${new Date().toISOString().replaceAll(':', '')}-${process.pid}.jsonl`;
    const file = join(dir, name);
    const temporary = `${file}.partial`;
    const lines = [JSON.stringify({ format: FORMAT, queue, records: records.length }), ...records.map((r) => JSON.stringify(r))];
    const fd = openSync(temporary, 'w', 0o600);
    try {
      writeSync(fd, `${lines.join('\n')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
    syncDir(dir);
    return file;
  }

  /** Every spill file of this queue, oldest first, read back. */
  load(): SpillLoad<R> {
    const { dir, queue } = this.options;
    const out: SpillLoad<R> = { records: [], files: [], problems: [] };
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw err;
    }
    for (const name of names.filter((n) => n.startsWith(`${queue}-`) && n.endsWith('.jsonl')).sort()) {
      const file = join(dir, name);
      const { records, problem } = this.parse(readFileSync(file, 'utf8'));
      out.records.push(...records);
      if (problem === undefined) {
        out.files.push(file);
        continue;
      }
      renameSync(file, `${file}.bad`);
      out.problems.push(
        `${file}: ${problem}; the ${records.length} records before it were recovered, and the file is kept as ${file}.bad: ` +
          'restore what it holds by hand, or delete it once you know it is not needed',
      );
    }
    return out;
  }

  remove(files: readonly string[]): void {
    for (const file of files) rmSync(file, { force: true });
    if (files.length > 0) syncDir(this.options.dir);
  }

  private parse(text: string): { records: R[]; problem?: string } {
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    let header: { format?: unknown; queue?: unknown; records?: unknown };
    try {
      header = JSON.parse(lines[0] ?? '') as typeof header;
    } catch {
      return { records: [], problem: 'line 1 is not a spill header' };
    }
    if (header.format !== FORMAT || header.queue !== this.options.queue || typeof header.records !== 'number') {
      return { records: [], problem: `line 1 is not a ${FORMAT} header of queue ${this.options.queue}` };
    }
    const records: R[] = [];
    for (let i = 1; i < lines.length; i++) {
      let value: unknown;
      try {
        value = JSON.parse(lines[i] as string, reviveDates);
      } catch {
        return { records, problem: `line ${i + 1} is not JSON (the file is truncated or damaged)` };
      }
      if (!this.options.isRecord(value)) return { records, problem: `line ${i + 1} is not a record of queue ${this.options.queue}` };
      records.push(value);
    }
    if (records.length !== header.records) {
      return { records, problem: `it holds ${records.length} records where its header says ${header.records} (truncated)` };
    }
    return { records };
  }
}

function reviveDates(key: string, value: unknown): unknown {
  return key.endsWith('At') && typeof value === 'string' && ISO_TIME.test(value) ? new Date(value) : value;
}

/** Makes a rename or removal in `dir` durable. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
