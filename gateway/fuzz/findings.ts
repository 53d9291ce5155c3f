/**
 * What a fuzz target reports, and where a finding's input is kept: the first reproducing input of
 * each kind per target goes to a file under the git-ignored `.fuzz/` folder, with the seed and case
 * that regenerate it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Wire } from './generate.js';

export type FindingKind = 'crash' | 'hang' | 'violation';

export interface Finding {
  readonly kind: FindingKind;
  readonly message: string;
  /** Where the reproducing input was saved. */
  readonly file?: string;
}

export interface TargetReport {
  readonly target: string;
  readonly instructions: number;
  /** Set when the target was not run, saying why. */
  readonly skipped?: string;
  readonly findings: readonly Finding[];
  /** Peak resident set of the process under test, in bytes. */
  readonly peakRss?: number;
  readonly seconds: number;
  /** Target-specific figures, printed as they are. */
  readonly notes: readonly string[];
}

/** A case as saved: its index in the run, its chunks, and whatever else regenerates it. */
export interface SavedInput {
  readonly index: number;
  readonly chunks: readonly Wire[];
  readonly desktopPort?: number;
  readonly holding?: boolean;
}

export class FindingLog {
  readonly findings: Finding[] = [];
  private readonly saved = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly target: string,
    private readonly seed: number,
  ) {}

  /** Records a finding; the input of the first of each kind is written to a file. */
  add(kind: FindingKind, message: string, input: SavedInput): void {
    let file: string | undefined;
    if (!this.saved.has(kind)) {
      this.saved.add(kind);
      mkdirSync(this.dir, { recursive: true });
      file = path.join(this.dir, `${this.target}-${kind}-seed${this.seed}-case${input.index}.json`);
      const chunks = input.chunks.map((c) => (typeof c === 'string' ? { text: c } : { base64: c.toString('base64') }));
      writeFileSync(file, JSON.stringify({ target: this.target, kind, message, seed: this.seed, ...input, chunks }, null, 1) + '\n');
    }
    this.findings.push({ kind, message, file });
  }
}
