import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractMembers, listMembers, skipReason } from '../datasets/archive.js';
import { importSapimouseFile } from '../datasets/mouse-datasets.js';
import { windowsOf } from '../features/windows.js';
import { VdiguardError } from '../../lib/errors.js';
import { silentLogger } from '../../lib/log.js';
import { FitPool, packWindows, unpackWindows } from './fit-pool.js';
import { defaultPipelines } from './pipelines.js';
import { initTf } from './tf/runtime.js';

/** Largest lateness (ms) of a 5 ms interval timer while `work` runs. */
async function lateness(work: () => Promise<unknown> | unknown): Promise<number> {
  let worst = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 5);
    last = now;
  }, 5);
  try {
    await new Promise((r) => setTimeout(r, 20));
    await work();
    await new Promise((r) => setTimeout(r, 20));
  } finally {
    clearInterval(timer);
  }
  return worst;
}

test('packed windows come back as they went, NaN and ragged rows included; a stored null is missing, not 0', () => {
  const rows = [[1, Number.NaN, -2.5], [], [3e-9], [4, 5]];
  assert.deepEqual(unpackWindows(packWindows(rows)), rows);
  const stored = JSON.parse(JSON.stringify(rows)) as number[][];
  assert.deepEqual(unpackWindows(packWindows(stored)), rows);
});

test('SapiMouse: a fit on the pool gives the in-thread template against the population while the event loop keeps its timers; so does a fresh worker after a crash', { skip: skipReason('sapimouse') }, async (t) => {
  await initTf('wasm');
  const members = (await listMembers('sapimouse')).filter((m) => /^sapimouse\/user[1-7]\/.*3min\.csv$/.test(m));
  const root = await extractMembers('sapimouse', members);
  const mouse = defaultPipelines().find((p) => p.modality === 'mouse')!;
  const perUser = [];
  for (const m of members.sort()) perUser.push(windowsOf((await importSapimouseFile(join(root, m))).events, mouse.createExtractor()).map((w) => w.vector));
  const agent = perUser[0]!;

  // The real worker, which also crashes on request: a fresh one must be given the population again.
  const pool = new FitPool({ size: 1, log: silentLogger(), workerUrl: new URL('../testing/crashing-fit-worker.js', import.meta.url) });
  try {
    // The worker's start (TensorFlow.js, the pipelines) is not what this measures.
    await pool.fit({ modality: 'mouse', windows: agent.slice(0, 2) });
    // The other users join the population after the worker started: it is sent what changes.
    perUser.forEach((windows, i) => pool.population.put(`user${i + 1}`, new Map([['mouse', windows]])));
    const background = pool.population.background('mouse', 'user1');
    assert.equal(background.agents, perUser.length - 1, 'everyone but the agent');
    let pooled;
    const poolLate = await lateness(async () => (pooled = await pool.fit({ modality: 'mouse', windows: agent, agentId: 'user1' })));
    const started = performance.now();
    let local;
    const localLate = await lateness(() => (local = mouse.model.fit(agent, { background, agentId: 'user1' })));
    const fitMs = performance.now() - started;

    t.diagnostic(`fit ${fitMs.toFixed(0)} ms; timer lateness: ${localLate.toFixed(0)} ms in-thread, ${poolLate.toFixed(1)} ms on the pool`);
    assert.equal(pooled!.model, mouse.model.name);
    assert.deepEqual(pooled!.template, local, 'the worker fits with the same pipelines and seeds');
    assert.ok(localLate > fitMs / 2, `a fit on the event loop holds timers for its duration (late ${localLate.toFixed(0)} ms of ${fitMs.toFixed(0)} ms)`);
    assert.ok(poolLate < fitMs / 5, `timers ran at most ${poolLate.toFixed(1)} ms late while a ${fitMs.toFixed(0)} ms fit ran on the pool`);

    await assert.rejects(pool.fit({ modality: 'crash' as 'mouse', windows: [] }), /worker thread crashed/);
    assert.deepEqual((await pool.fit({ modality: 'mouse', windows: agent, agentId: 'user1' })).template, local, 'the fresh worker fits against the same population');
  } finally {
    await pool.close();
  }
});

test('start brings the fit worker up before any fit; on Linux it runs at the lowest priority, and the scorer\'s own thread keeps its own', { skip: process.platform !== 'linux' && 'thread priorities are per thread on Linux only' }, async () => {
  const nice = (tid: string) => Number(readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[16]);
  const before = new Set(readdirSync(`/proc/${process.pid}/task`));
  const pool = new FitPool({ size: 1, log: silentLogger() });
  try {
    // Started before any fit, as the scorer service does.
    pool.start();
    const started = (): string[] => readdirSync(`/proc/${process.pid}/task`).filter((tid) => !before.has(tid));
    for (const deadline = Date.now() + 20_000; !started().some((tid) => nice(tid) === 19) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
    assert.ok(started().some((tid) => nice(tid) === 19), `a thread the pool started, before any fit, is at nice 19 (${started().map((tid) => `${tid}:${nice(tid)}`).join(', ')})`);
    assert.notEqual(nice(String(process.pid)), 19, "the scorer's event loop is not lowered with it");
  } finally {
    await pool.close();
  }
});

test('too few windows is no template yet; an unknown modality is a typed error from the worker', async () => {
  const pool = new FitPool({ size: 1, log: silentLogger() });
  try {
    assert.deepEqual(await pool.fit({ modality: 'keystroke', windows: [] }), { model: defaultPipelines()[0]!.model.name, template: null });
    await assert.rejects(pool.fit({ modality: 'gaze' as 'mouse', windows: [] }), (e: unknown) => e instanceof VdiguardError && e.code === 'invalid-argument' && /no pipeline for modality "gaze"/.test(e.message));
  } finally {
    await pool.close();
  }
});

test("each fit reports the worker's own heap: unknown before the first fit, within the worker's limit after it", async () => {
  const pool = new FitPool({ size: 1, log: silentLogger(), heapMb: 128 });
  try {
    pool.start();
    assert.equal(pool.heapCommittedBytes, undefined, 'no fit yet: not reported as 0');
    await pool.fit({ modality: 'keystroke', windows: [] });
    const bytes = pool.heapCommittedBytes;
    // TensorFlow.js and the pipelines take some MiB; the old generation is capped at 128 MiB, the young one adds at most tens.
    assert.ok(bytes !== undefined && bytes > 2 ** 20 && bytes < 192 * 2 ** 20, `the worker's heap after a fit: ${bytes} B`);
  } finally {
    await pool.close();
  }
});

test('a worker that crashes fails its fit with a clear error, and a fresh worker takes the next one', async () => {
  const pool = new FitPool({ size: 1, log: silentLogger(), workerUrl: new URL('../testing/crashing-fit-worker.js', import.meta.url) });
  try {
    const queued = pool.fit({ modality: 'keystroke', windows: [] });
    await assert.rejects(pool.fit({ modality: 'crash' as 'mouse', windows: [] }), (e: unknown) => e instanceof VdiguardError && e.code === 'internal' && /worker thread crashed \(it exited with code 70\).*fresh worker/.test(e.message));
    assert.equal((await queued).template, null, 'the fit before the crash was answered');
    assert.equal((await pool.fit({ modality: 'keystroke', windows: [] })).template, null);
    assert.equal(pool.restarts, 1);
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.fit({ modality: 'mouse', windows: [] }), /closed/);
});

test('a started pool with no fit to do does not keep a command from exiting', async () => {
  const pool = new URL('./fit-pool.js', import.meta.url).href;
  const log = new URL('../../lib/log.js', import.meta.url).href;
  const child = spawn(process.execPath, ['--input-type=module', '-e', `const { FitPool } = await import(${JSON.stringify(pool)}); const { silentLogger } = await import(${JSON.stringify(log)}); new FitPool({ size: 1, log: silentLogger() }).start();`], { stdio: 'inherit' });
  const tooLong = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const exited = await once(child, 'exit');
  clearTimeout(tooLong);
  assert.deepEqual(exited, [0, null], 'the process ended on its own (killed after 30 s otherwise)');
});

test('a worker beyond its heap fails the fit with an error that names the setting to raise, and the pool goes on', async () => {
  // A sample of 6,000 keystroke windows (some 70 MiB as numbers) does not fit in a heap of 64 MiB.
  const pool = new FitPool({ size: 1, log: silentLogger(), heapMb: 64 });
  try {
    pool.start();
    pool.population.put('a', new Map([['keystroke', Array.from({ length: 6000 }, () => Array.from({ length: 1425 }, Math.random))]]));
    await assert.rejects(pool.fit({ modality: 'keystroke', windows: [], agentId: 'b' }), (e: unknown) => e instanceof VdiguardError && e.code === 'internal' && /memory limit.*raise VDIGUARD_FIT_WORKER_HEAP_MB/.test(e.message));
    assert.equal(pool.restarts, 1);
  } finally {
    await pool.close();
  }
});
