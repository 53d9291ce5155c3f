/**
 * `npm run fuzz`: generated and mutated Guacamole instructions through the gateway's input tap (in
 * a watched worker thread), through the built-in bridge's handshake over TCP (`vdiguard bridge` in
 * its own process), and through a live bridge session on the xrdp dev desktop. Prints, per target,
 * the instructions sent, crashes, hangs and rule violations (the first reproducing input of each
 * saved under .fuzz/), the peak RSS of the process under test and the elapsed time; exits 1 when it
 * found anything. The seed is printed: `--seed` repeats a run exactly.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Command, InvalidArgumentError } from 'commander';
import { BridgeProcess } from './bridge-process.js';
import { FindingLog, type TargetReport } from './findings.js';
import { runHandshakeTarget } from './handshake-target.js';
import { runLiveTarget } from './live-target.js';
import { tapCase } from './tap-target.js';
import type { TapWorkerInput, TapWorkerMessage } from './tap-worker.js';

export interface FuzzOptions {
  readonly seed: number;
  readonly instructions: number;
  readonly seconds: number;
  readonly liveSeconds: number;
  readonly hangMs: number;
  readonly concurrency: number;
  readonly findingsDir: string;
  readonly targets: readonly ('tap' | 'handshake' | 'live')[];
  readonly desktopUser: string;
  readonly desktopPassword: string;
  /** Directory for heap snapshots of the bridge in the live target; none when undefined. */
  readonly heapSnapshots?: string;
}

/** The tap in a worker thread; the main thread is the watchdog that turns a stuck case into a hang. */
export function runTapTarget(o: FuzzOptions): Promise<TargetReport> {
  const t0 = performance.now();
  const log = new FindingLog(o.findingsDir, 'tap', o.seed);
  const progress = new SharedArrayBuffer(4);
  const input: TapWorkerInput = { seed: o.seed, instructions: o.instructions, deadline: Date.now() + o.seconds * 1000, progress };
  const worker = new Worker(new URL('./tap-worker.js', import.meta.url), { workerData: input });
  const current = new Int32Array(progress);
  return new Promise((resolve) => {
    let last = -2;
    let since = performance.now();
    const finish = (instructions: number, notes: string[]) => {
      clearInterval(watchdog);
      resolve({
        target: 'tap (InputTap.push)', instructions, findings: log.findings, peakRss: process.resourceUsage().maxRSS * 1024,
        seconds: (performance.now() - t0) / 1000, notes,
      });
    };
    const watchdog = setInterval(() => {
      const index = Atomics.load(current, 0);
      if (index !== last) {
        last = index;
        since = performance.now();
      } else if (performance.now() - since > o.hangMs && index >= 0) {
        void worker.terminate();
        const c = tapCase(o.seed, index);
        log.add('hang', `case ${index} did not return within ${o.hangMs} ms`, c);
        finish(Number.NaN, [`stopped at the hang in case ${index}`]);
      }
    }, Math.min(250, o.hangMs / 4));
    worker.on('message', (m: TapWorkerMessage) => {
      if (m.type === 'finding') {
        log.add(m.kind, `${m.message} (case ${m.index})`, tapCase(o.seed, m.index));
        return;
      }
      if (m.hugeElementGrowth > 32 * 1024 * 1024) {
        log.add('violation', `streaming a 64 MB element grew the heap by ${mb(m.hugeElementGrowth)}`, { index: -1, chunks: ['3.key,9999999999.', '(64 MB of x)'] });
      }
      finish(m.instructions, [
        `${m.cases} cases (one fresh tap each), ${m.refused} refused by the tap`,
        `${m.unscored} key/mouse instructions passed with no input event (spellings the tap does not score)`,
        `slowest push ${m.maxPushMs.toFixed(1)} ms; worker heap peak ${mb(m.peakHeap)}; a 64 MB element grew the heap by ${mb(Math.max(0, m.hugeElementGrowth))}`,
      ]);
    });
    worker.on('error', (err) => {
      log.add('crash', `the tap worker died: ${err.message} (case ${Atomics.load(current, 0)})`, tapCase(o.seed, Atomics.load(current, 0)));
      finish(Number.NaN, []);
    });
  });
}

export async function fuzz(o: FuzzOptions, print: (line: string) => void): Promise<TargetReport[]> {
  print(`fuzz: seed ${o.seed}, up to ${o.instructions.toLocaleString('en-US')} instructions and ${o.seconds} s per target`);
  const reports: TargetReport[] = [];
  const done = (r: TargetReport) => {
    reports.push(r);
    printReport(r, print);
  };
  if (o.targets.includes('tap')) done(await runTapTarget(o));
  if (!o.targets.includes('handshake') && !o.targets.includes('live')) return reports;
  if (o.heapSnapshots) mkdirSync(o.heapSnapshots, { recursive: true });
  const bridge = await BridgeProcess.start(o.heapSnapshots);
  try {
    if (o.targets.includes('handshake')) {
      done(await runHandshakeTarget(bridge, { ...o, deadline: Date.now() + o.seconds * 1000, hangMs: o.hangMs + 4000 }));
    }
    if (o.targets.includes('live')) {
      done(await runLiveTarget(bridge, { ...o, heapSnapshots: o.heapSnapshots !== undefined, deadline: Date.now() + Math.min(o.seconds, o.liveSeconds) * 1000 }));
    }
  } finally {
    bridge.stop();
  }
  return reports;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function printReport(r: TargetReport, print: (line: string) => void): void {
  if (r.skipped) {
    print(`${r.target}: skipped: ${r.skipped}`);
    return;
  }
  const count = (kind: string) => r.findings.filter((f) => f.kind === kind).length;
  print(`${r.target}: ${Number.isNaN(r.instructions) ? 'stopped' : r.instructions.toLocaleString('en-US')} instructions in ${r.seconds.toFixed(1)} s`
    + ` (${Math.round(r.instructions / r.seconds).toLocaleString('en-US')}/s); crashes ${count('crash')}, hangs ${count('hang')}, violations ${count('violation')};`
    + ` peak RSS of the process under test ${r.peakRss === undefined ? 'unknown' : mb(r.peakRss)}`);
  for (const n of r.notes) print(`  ${n}`);
  for (const f of r.findings.slice(0, 20)) print(`  ${f.kind}: ${f.message}${f.file ? ` -> ${f.file}` : ''}`);
  if (r.findings.length > 20) print(`  ... and ${r.findings.length - 20} more`);
}

function integer(min: number) {
  return (text: string): number => {
    const n = Number(text.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer of at least ${min}, got ${JSON.stringify(text)}`);
    return n;
  };
}

async function main(): Promise<void> {
  const program = new Command('fuzz')
    .description('Fuzz the input tap and the built-in bridge with generated and mutated Guacamole instructions')
    .option('--instructions <n>', 'instructions per target', integer(1), 1_000_000)
    .option('--seconds <s>', 'time limit per target', integer(1), 300)
    .option('--live-seconds <s>', 'time limit of the live desktop session', integer(1), 60)
    .option('--seed <n>', 'seed of the generator (printed; repeats a run)', integer(0))
    .option('--hang-ms <ms>', 'a case with no return (tap) or answer (bridge) within this is a hang', integer(100), 5000)
    .option('--concurrency <n>', 'bridge connections in flight at once', integer(1), 16)
    .option('--targets <list>', 'comma-separated: tap, handshake, live', 'tap,handshake,live')
    .option('--findings <dir>', 'where reproducing inputs are saved', '.fuzz')
    .option('--heap-snapshots <dir>', 'live target: snapshot the bridge\'s heap after the first fifth of the run and at its end, and print what grew')
    .showHelpAfterError();
  program.parse();
  const opts = program.opts<{ instructions: number; seconds: number; liveSeconds: number; seed?: number; hangMs: number; concurrency: number; targets: string; findings: string; heapSnapshots?: string }>();
  const targets = opts.targets.split(',').map((t) => t.trim());
  const unknown = targets.filter((t) => !['tap', 'handshake', 'live'].includes(t));
  if (unknown.length > 0) program.error(`--targets: unknown ${unknown.join(', ')} (choose among tap, handshake, live)`);
  const t0 = performance.now();
  const reports = await fuzz({
    ...opts,
    seed: opts.seed ?? Math.floor(Math.random() * 2 ** 31),
    findingsDir: opts.findings,
    targets: targets as FuzzOptions['targets'],
    desktopUser: process.env.VDIGUARD_FUZZ_USER ?? 'vdiguard-test11',
    desktopPassword: process.env.VDIGUARD_DESKTOP_PASSWORD ?? 'vdiguard-test',
  }, (line) => console.log(line));
  const found = reports.flatMap((r) => r.findings);
  console.log(`fuzz: ${found.length === 0 ? 'nothing found' : `${found.length} findings`} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  process.exit(found.length === 0 ? 0 : 1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
