/**
 * Template fits on worker threads. A full keystroke profile takes over a second to fit; on the
 * scorer's event loop that would stall every live session's scoring meanwhile. The pool keeps a
 * fixed number of workers (started on first use, or by `start`), queues fits beyond them, and
 * replaces a worker that crashes; the fit it was running fails with a message that says so.
 *
 * A fit's background is the population sample (population.ts) without the agent, and every worker
 * keeps its own copy of the sample: the pool sends each agent's sample when it changes (a few
 * hundred kilobytes), not the whole background with every fit. At 500 agents that background is
 * some 7 million numbers; packed, sent and unpacked for every fit it cost the scorer's event loop
 * tens of milliseconds and the worker a hundred megabytes of garbage per fit. An agent's own
 * windows travel as one flat Float64Array per request (transferred, not copied).
 */
import { Worker } from 'node:worker_threads';
import { VdiguardError, type ErrorCode } from '../../lib/errors.js';
import type { JsonValue } from '../../lib/json.js';
import type { Logger } from '../../lib/log.js';
import type { Modality } from '../features/types.js';
import { MODALITIES } from '../profile/profile.js';
import { PopulationSample, type AgentSample } from './population.js';
import type { TfModelJson } from './tf/artifacts.js';

export interface FitRequest {
  readonly modality: Modality;
  readonly windows: readonly (readonly number[])[];
  /**
   * The agent whose template this is: population networks know agents by id, and the background is
   * every other agent in the population sample (every agent in it when none is named).
   */
  readonly agentId?: string;
}

export interface FittedTemplate {
  /** Name of the model that fitted the template. */
  readonly model: string;
  /** Null when there are too few windows for a template yet. */
  readonly template: JsonValue | null;
}

/** Windows as one buffer: row i is values[offsets[i] .. offsets[i+1]). */
export interface PackedWindows {
  readonly values: Float64Array;
  readonly offsets: Uint32Array;
}

/** A fit, as the pool posts it to a worker. */
export interface FitMessage {
  readonly id: number;
  readonly modality: Modality;
  readonly windows: PackedWindows;
  readonly agentId: string | null;
}

/** What the pool posts to a worker: a fit, or an agent's new sample of the population (null: gone). */
export type ToWorker =
  | { readonly fit: FitMessage }
  | { readonly sample: { readonly agentId: string; readonly windows: Readonly<Record<Modality, PackedWindows>> | null } };

function packSample(sample: AgentSample): Record<Modality, PackedWindows> {
  return Object.fromEntries(MODALITIES.map((m) => [m, packWindows(sample.get(m) ?? [])])) as Record<Modality, PackedWindows>;
}

/** An agent's sample as a worker keeps it. */
export function unpackSample(packed: Readonly<Record<Modality, PackedWindows>>): AgentSample {
  return new Map(MODALITIES.map((m) => [m, unpackWindows(packed[m])]));
}

/** A fit's result, or why there is none. */
export type FitOutcome =
  | { readonly id: number; readonly ok: true; readonly result: FittedTemplate }
  | { readonly id: number; readonly ok: false; readonly code: ErrorCode; readonly message: string };

/** What a worker posts back. */
export type FitReply = FitOutcome & {
  /** The worker's V8 heap after the fit, bytes reserved: a worker's memory is its own isolate's, not in the scorer's heap figures. */
  readonly heapCommittedBytes: number;
};

export function packWindows(windows: readonly (readonly number[])[]): PackedWindows {
  const offsets = new Uint32Array(windows.length + 1);
  for (let i = 0; i < windows.length; i++) offsets[i + 1] = (offsets[i] as number) + (windows[i] as readonly number[]).length;
  const values = new Float64Array(offsets[windows.length] as number);
  // A window read back from the store has null where a feature was missing (JSON has no NaN);
  // Float64Array would make that 0, a real value.
  for (let i = 0; i < windows.length; i++) {
    const row = windows[i] as readonly (number | null)[];
    const at = offsets[i] as number;
    for (let j = 0; j < row.length; j++) {
      const x = row[j];
      values[at + j] = typeof x === 'number' ? x : Number.NaN;
    }
  }
  return { values, offsets };
}

export function unpackWindows(p: PackedWindows): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i + 1 < p.offsets.length; i++) rows.push(Array.from(p.values.subarray(p.offsets[i], p.offsets[i + 1])));
  return rows;
}

/** The population networks a worker's pipelines use, as the scorer loaded them (see population-networks.ts). */
export interface NetworkArtifacts {
  readonly keyEmbedding: TfModelJson | null;
  readonly actionNetwork: TfModelJson | null;
}

export interface FitPoolOptions {
  /** Worker threads, at least 1. */
  readonly size: number;
  /**
   * Each worker's JavaScript heap, MiB (its old generation; default DEFAULT_FIT_HEAP_MB). Without a
   * bound a worker let a fit's garbage pile up before collecting it: 15 fits in a row against a full
   * population took the scorer from 319 to 545 MiB resident and back. With 200 MiB it held at 319-348,
   * and the fits ran no slower.
   */
  readonly heapMb?: number;
  /** What the workers build their pipelines with; none: the models' fallbacks. */
  readonly networks?: NetworkArtifacts;
  readonly log: Logger;
  /** The worker's module; tests substitute one that crashes. */
  readonly workerUrl?: URL;
}

interface Job {
  readonly message: FitMessage;
  readonly transfer: ArrayBuffer[];
  resolve(r: FittedTemplate): void;
  reject(err: Error): void;
}

interface Slot {
  readonly worker: Worker;
  job: Job | undefined;
  /** The worker's heap as of its last fit; undefined before its first. */
  heapCommittedBytes: number | undefined;
}

const DEFAULT_WORKER = new URL('./fit-worker.js', import.meta.url);

/**
 * What a worker holds at most, with room: its copy of a full population sample (some 85 MiB at
 * POPULATION_MAX_AGENTS) and one fit's working set; fits against a full sample ran with 96.
 */
export const DEFAULT_FIT_HEAP_MB = 256;

export class FitPool {
  /**
   * The population the fits' backgrounds come from. Change it here (set, delete): each change goes
   * to every worker at once, and a worker started later is given the whole sample first.
   */
  readonly population = new PopulationSample({ onChange: (agentId, sample) => this.sampleChanged(agentId, sample) });
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private readonly heapMb: number;
  private closed = false;
  /** Workers replaced after a crash (for tests and logs). */
  restarts = 0;

  constructor(private readonly o: FitPoolOptions) {
    if (!Number.isInteger(o.size) || o.size < 1) throw new VdiguardError('invalid-argument', `a fit pool needs at least one worker (got ${o.size})`);
    this.heapMb = o.heapMb ?? DEFAULT_FIT_HEAP_MB;
  }

  fit(req: FitRequest): Promise<FittedTemplate> {
    if (this.closed) return Promise.reject(new VdiguardError('unavailable', 'the fit pool is closed: the scorer is shutting down'));
    const windows = packWindows(req.windows);
    const message: FitMessage = { id: this.nextId++, modality: req.modality, windows, agentId: req.agentId ?? null };
    const transfer = [windows.values.buffer, windows.offsets.buffer] as ArrayBuffer[];
    return new Promise((resolve, reject) => {
      this.queue.push({ message, transfer, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Starts the workers now rather than at the first fit, so that the scorer's memory at start is
   * what it runs with (TensorFlow.js and the population sample in each worker), and a worker that
   * cannot start says so in the log at start rather than mid-shift. An idle worker does not keep the
   * process alive.
   */
  start(): void {
    if (this.closed) return;
    while (this.slots.length < this.o.size) this.spawn().worker.unref();
  }

  /**
   * The V8 heap the workers have reserved, bytes, each as of its last fit (a worker's heap grows
   * during fits and is not in the scorer's own heap figures); undefined before any worker's first fit.
   */
  get heapCommittedBytes(): number | undefined {
    const known = this.slots.flatMap((s) => (s.heapCommittedBytes === undefined ? [] : [s.heapCommittedBytes]));
    return known.length === 0 ? undefined : known.reduce((a, b) => a + b, 0);
  }

  /** Fails queued and running fits and stops the workers. */
  async close(): Promise<void> {
    this.closed = true;
    const stopped = new VdiguardError('unavailable', 'the fit pool was closed before the fit finished: the scorer is shutting down');
    for (const job of this.queue.splice(0)) job.reject(stopped);
    const slots = this.slots.splice(0);
    for (const s of slots) s.job?.reject(stopped);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.job === undefined);
      if (!slot && this.slots.length < this.o.size) slot = this.spawn();
      if (!slot) return;
      const job = this.queue.shift() as Job;
      slot.job = job;
      // An idle worker must not keep a finished command (vdiguard train) alive.
      slot.worker.ref();
      slot.worker.postMessage({ fit: job.message } satisfies ToWorker, job.transfer);
    }
  }

  private spawn(): Slot {
    const workerData: NetworkArtifacts = this.o.networks ?? { keyEmbedding: null, actionNetwork: null };
    const worker = new Worker(this.o.workerUrl ?? DEFAULT_WORKER, { workerData, resourceLimits: { maxOldGenerationSizeMb: this.heapMb } });
    const slot: Slot = { worker, job: undefined, heapCommittedBytes: undefined };
    this.slots.push(slot);
    // Messages arrive in order: the whole sample before the first fit.
    for (const [agentId, sample] of this.population.entries()) worker.postMessage({ sample: { agentId, windows: packSample(sample) } } satisfies ToWorker);
    worker.on('message', (reply: FitReply) => {
      const job = slot.job;
      slot.heapCommittedBytes = reply.heapCommittedBytes;
      if (!job || job.message.id !== reply.id) return;
      slot.job = undefined;
      worker.unref();
      if (reply.ok) job.resolve(reply.result);
      else job.reject(new VdiguardError(reply.code, reply.message));
      this.dispatch();
    });
    worker.on('error', (err: Error & { code?: string }) =>
      this.crashed(slot, err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `${err.message}; its heap is ${this.heapMb} MiB, raise VDIGUARD_FIT_WORKER_HEAP_MB` : err.message),
    );
    worker.on('exit', (code) => this.crashed(slot, `it exited with code ${code}`));
    return slot;
  }

  private sampleChanged(agentId: string, sample: AgentSample | undefined): void {
    if (this.slots.length === 0) return;
    const message: ToWorker = { sample: { agentId, windows: sample ? packSample(sample) : null } };
    // Copied to each worker (a typed array is cloned as one block), not transferred: there may be several.
    for (const s of this.slots) s.worker.postMessage(message);
  }

  /** A worker died: its fit fails, and the next fit gets a fresh worker. */
  private crashed(slot: Slot, why: string): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    this.restarts++;
    slot.worker.removeAllListeners();
    slot.worker.on('error', () => undefined);
    void slot.worker.terminate();
    this.o.log.error({ why, restarts: this.restarts }, 'template fit worker crashed; a fresh one takes the next fit');
    slot.job?.reject(
      new VdiguardError('internal', `the template fit failed because its worker thread crashed (${why}); a fresh worker takes the next fit, retry the profile update`),
    );
    this.dispatch();
  }
}
