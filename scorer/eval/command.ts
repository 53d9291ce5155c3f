/**
 * `vdiguard eval <protocol>`: the evaluation protocols of the models issue on the real datasets,
 * through the same pipelines (features, models) and, for `takeover`, the real gRPC scorer. Progress
 * goes to stderr; stdout gets a table, or with --json one JSON object as its last line.
 */
import { readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { VdiguardError } from '../../lib/errors.js';
import { baselinePipelines, defaultPipelines, type PipelineFactory } from '../models/pipelines.js';
import { initTf, TF_BACKENDS, type TfBackendChoice } from '../models/tf/runtime.js';
import { KEY_EMBEDDING_TRAINING } from '../models/keystroke-embedding.js';
import { evalAalto, type NetworkFigures } from './aalto-protocol.js';
import { evalBalabit, evalSapimouse, type EvalRowSpec } from './mouse-protocols.js';
import { plotSvg } from './plot.js';
import { figuresOf, stderrProgress, type RowFigures, type ScoredRow } from './summary.js';
import { evalTakeover, type SweptPolicy } from './takeover.js';
import { evalRewriting } from './rewriting.js';
import { DEFAULT_FORGER_OPTIONS, type ForgerOptions } from './forger.js';
import { timingLines } from './timing-tally.js';
import { linkTitle, type Link } from './jitter.js';

/**
 * The rows every protocol reports: the production pipelines (their mouse networks, the per-agent
 * ones and the action network the mouse protocols train, seeded with `mouseSeed`, default 1), then
 * the baseline for comparison.
 */
export function evalRows(mouseSeed?: number): EvalRowSpec[] {
  const production: PipelineFactory = mouseSeed === undefined ? defaultPipelines : (o) => defaultPipelines({ ...o, mouseSeed });
  const rows: EvalRowSpec[] = [{ row: 'default', factory: production, actionNetwork: { seed: mouseSeed ?? 1 } }];
  const dflt = defaultPipelines().map((p) => p.model.name).join('+');
  const base = baselinePipelines().map((p) => p.model.name).join('+');
  if (dflt !== base) rows.push({ row: 'baseline', factory: baselinePipelines });
  return rows;
}

interface CommonFlags {
  json?: boolean;
  plot?: string;
  jitterMs: string;
  clientTimes?: boolean;
  clientTimeEnvelopeMs?: string;
  users?: string;
}

/** The link the flags describe. */
function linkOf(f: CommonFlags): Link & { clientTimes: boolean } {
  const cap = numberFlag('client-time-envelope-ms', f.clientTimeEnvelopeMs, 0);
  return { jitterMs: numberFlag('jitter-ms', f.jitterMs, 0) ?? 0, clientTimes: f.clientTimes === true, ...(cap === undefined ? {} : { clientTimeEnvelopeMs: cap }) };
}


/** A numeric flag of at least `min`; undefined when it was not given. */
export function numberFlag(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new VdiguardError('invalid-argument', `--${name} must be a number >= ${min} (got ${value})`);
  return n;
}

function common(c: Command): Command {
  return c
    .option('--json', 'print one JSON object as the last line')
    .option('--plot <file>', 'write an SVG plot: ROC curves and score distributions')
    .option('--jitter-ms <sd>', 'Gaussian network jitter added to event times, standard deviation in ms', '0')
    .option('--client-times', "the page sends each event's own time (the recorded one) while arrival is jittered; the scorer's client-time rule decides which each event is measured on")
    .option('--client-time-envelope-ms <ms>', "the cap of the scorer's client-time envelope (VDIGUARD_CLIENT_TIME_ENVELOPE_MS; 0: arrival only), to measure other values than the default")
    .option('--users <n>', 'evaluate only the first n users or participants');
}

const EMBEDDING_STEPS_HELP = `optimiser steps of the keystroke embedding network (default ${KEY_EMBEDDING_TRAINING.steps})`;

function embeddingSteps(value: string | undefined): number {
  return numberFlag('embedding-steps', value, 1) ?? KEY_EMBEDDING_TRAINING.steps;
}

const POINTER_HZ_HELP = 'pointer moves reduced to the last of each animation frame at this rate (60: what a page without getCoalescedEvents sends); default as recorded';

const POINTER_SAMPLES_HELP = "with --pointer-hz: each frame's earlier moves sent before its move as timing-only samples (the page's coalesced points, docs/client-times.md), measured only on client times";

function pointerHz(value: string | undefined): number | undefined {
  return numberFlag('pointer-hz', value, 1);
}

/** The pointer-rate options of a mouse protocol; samples need a frame rate to be coalesced at. */
function pointerRate(f: { pointerHz?: string; pointerSamples?: boolean }): { pointerHz: number | undefined; pointerSamples: boolean } {
  const hz = pointerHz(f.pointerHz);
  if (f.pointerSamples === true && hz === undefined) throw new VdiguardError('invalid-argument', '--pointer-samples needs --pointer-hz: samples are the moves a frame coalesced');
  return { pointerHz: hz, pointerSamples: f.pointerSamples === true };
}

const FORGE_HELP = `with --client-times: every impostor's client forges the times it claims toward the enrolled timings of the one it poses as, each claim at most this far below its true time (ms, default ${DEFAULT_FORGER_OPTIONS.budgetMs})`;

function forgeOption(value: string | true | undefined): { forge?: Partial<ForgerOptions> } {
  if (value === undefined) return {};
  return { forge: value === true ? {} : { budgetMs: numberFlag('forge', value, 0) as number } };
}

const SEED_HELP = "seed of the mouse model's networks; the spread of a figure over seeds is its noise";

function table(rows: readonly RowFigures[]): string {
  return rows.map((r) => `  ${r.row.padEnd(9)} ${r.model.padEnd(26)} AUC ${r.auc.toFixed(4)}  EER ${(r.eer * 100).toFixed(2)}%  (${r.genuine} genuine, ${r.impostor} impostor)`).join('\n');
}

async function finish(title: string, f: CommonFlags, scored: readonly ScoredRow[], json: Record<string, unknown>, text: string): Promise<void> {
  if (f.plot) {
    const figs = scored.map(figuresOf);
    await writeFile(f.plot, plotSvg(title, scored, figs.map((x) => x.auc)));
    process.stderr.write(`plot written to ${f.plot}\n`);
  }
  process.stdout.write(text + '\n');
  if (f.json) process.stdout.write(JSON.stringify(json) + '\n');
}

export function registerEvalCommands(program: Command): void {
  const ev = program
    .command('eval')
    .description('evaluate the behaviour models on a dataset (protocols of docs/evaluation.md)')
    .option('--tf-backend <name>', `TensorFlow.js backend: ${TF_BACKENDS.join(', ')}`, 'auto')
    .hook('preAction', async (cmd) => {
      const choice = cmd.opts().tfBackend as string;
      if (!(TF_BACKENDS as readonly string[]).includes(choice)) throw new VdiguardError('invalid-argument', `--tf-backend must be one of ${TF_BACKENDS.join(', ')} (got ${choice})`);
      process.stderr.write(`TensorFlow.js backend: ${await initTf(choice as TfBackendChoice)}\n`);
    });

  common(ev.command('balabit'))
    .description('Balabit challenge: enrol on training_files, one score per labelled test session, global AUC/EER')
    .requiredOption('--data <dir>', 'the extracted balabit-mouse folder (training_files, test_files, labels.csv)')
    .option('--timestamp <which>', 'client (RDP client) or record (network monitor) timestamps', 'client')
    .option('--seed <n>', SEED_HELP, '1')
    .option('--pointer-hz <hz>', POINTER_HZ_HELP)
    .option('--pointer-samples', POINTER_SAMPLES_HELP)
    .action(async (f: CommonFlags & { data: string; timestamp: string; seed: string; pointerHz?: string; pointerSamples?: boolean }) => {
      if (f.timestamp !== 'client' && f.timestamp !== 'record') throw new VdiguardError('invalid-argument', '--timestamp must be client or record');
      const link = linkOf(f);
      requireDatasetFolder('--data', f.data, 'balabit', (n) => ['training_files', 'test_files', 'labels.csv'].every((x) => n.includes(x)));
      const seed = numberFlag('seed', f.seed, 1) as number;
      const pointer = pointerRate(f);
      const hz = pointer.pointerHz;
      const r = await evalBalabit({ data: f.data, rows: evalRows(seed), ...link, progress: stderrProgress, users: numberFlag('users', f.users, 1), timestamp: f.timestamp, ...pointer });
      const figs = r.rows.map(figuresOf);
      const main = figs[0] as RowFigures;
      await finish(`Balabit, ${f.timestamp} timestamps, ${linkTitle(link)}`, f, r.rows,
        { protocol: 'balabit', auc: main.auc, eer: main.eer, sessions: r.sessions, unscored: r.unscored, timestamp: f.timestamp, ...link, pointerHz: hz ?? null, pointerSamples: pointer.pointerSamples, timing: r.timing, seed, rows: figs },
        [`balabit: ${r.sessions} labelled sessions (${r.unscored} too short to score), ${linkTitle(link)}`, table(figs), ...timingLines(r.timing), '  published anchor: AUC 0.92 (Antal & Egyed-Zsigmond 2019); target AUC >= 0.95'].join('\n'));
    });

  common(ev.command('sapimouse'))
    .description('SapiMouse: enrol on the 3-minute session, score 15-second slices of every 1-minute session against every user')
    .requiredOption('--data <dir>', 'the extracted sapimouse folder (userN/...)')
    .option('--slice-seconds <s>', 'seconds of behaviour per test slice', '15')
    .option('--outside-impostors', "split the users in two halves, each a deployment of its own (population, networks); each user's impostors come from the other half (never trained against)")
    .option('--seed <n>', SEED_HELP, '1')
    .option('--pointer-hz <hz>', POINTER_HZ_HELP)
    .option('--pointer-samples', POINTER_SAMPLES_HELP)
    .option('--forge [budgetMs]', FORGE_HELP)
    .action(async (f: CommonFlags & { data: string; sliceSeconds: string; outsideImpostors?: boolean; seed: string; pointerHz?: string; pointerSamples?: boolean; forge?: string | true }) => {
      const link = linkOf(f);
      const sliceSeconds = numberFlag('slice-seconds', f.sliceSeconds, 1) ?? 15;
      requireDatasetFolder('--data', f.data, 'sapimouse', (n) => n.some((x) => /^user\d+$/.test(x)));
      const outsideImpostors = f.outsideImpostors === true;
      const seed = numberFlag('seed', f.seed, 1) as number;
      const pointer = pointerRate(f);
      const hz = pointer.pointerHz;
      const r = await evalSapimouse({ data: f.data, rows: evalRows(seed), ...link, progress: stderrProgress, users: numberFlag('users', f.users, outsideImpostors ? 4 : 2), sliceSeconds, outsideImpostors, ...pointer, ...forgeOption(f.forge) });
      const figs = r.rows.map(figuresOf);
      const main = figs[0] as RowFigures;
      const forging = f.forge === undefined ? '' : ', impostors forging their client times';
      await finish(`SapiMouse, ${sliceSeconds} s slices, ${linkTitle(link)}${forging}${outsideImpostors ? ', outside impostors' : ''}`, f, r.rows,
        { protocol: 'sapimouse', auc: main.auc, eer: main.eer, users: r.users, slices: r.slices, sliceSeconds, ...link, pointerHz: hz ?? null, pointerSamples: pointer.pointerSamples, forge: f.forge === undefined ? null : { ...DEFAULT_FORGER_OPTIONS, ...forgeOption(f.forge).forge }, timing: r.timing, outsideImpostors, seed, rows: figs },
        [
          `sapimouse: ${r.users} users${outsideImpostors ? ' (two halves: populations from the own half, impostors from the other)' : ''}, ${r.slices} slices of ${sliceSeconds} s, ${linkTitle(link)}${forging}`,
          table(figs),
          ...timingLines(r.timing),
          '  published anchor: AUC 0.94 with 15 s (Antal et al. 2021); target AUC >= 0.96',
        ].join('\n'));
    });

  common(ev.command('aalto'))
    .description('TypeNet protocol: 5 enrolment sequences of 50 keystrokes, genuine and impostor sequences of 50/100/200')
    .requiredOption('--data <dir>', 'folder of <ID>_keystrokes.txt files to evaluate on')
    .option('--population <dir>', 'folder of other participants, the only ones population models may train on (disjoint from --data; the same folder means the participants after the --users evaluated ones)')
    .option('--population-users <n>', 'population participants to use (up to 637 beside 500 evaluated)', '200')
    .option('--no-key-embedding', 'do not train the keystroke embedding network on the population (the keyboard model is then KeyMlp alone)')
    .option('--embedding-steps <n>', EMBEDDING_STEPS_HELP)
    .action(async (f: CommonFlags & { data: string; population?: string; populationUsers: string; keyEmbedding: boolean; embeddingSteps?: string }) => {
      const link = linkOf(f);
      const lengths = [50, 100, 200];
      requireDatasetFolder('--data', f.data, 'aalto', (n) => n.some((x) => x.endsWith('_keystrokes.txt')));
      if (f.population) requireDatasetFolder('--population', f.population, 'aalto', (n) => n.some((x) => x.endsWith('_keystrokes.txt')));
      const r = await evalAalto({ data: f.data, population: f.population, rows: evalRows(), lengths, ...link, users: numberFlag('users', f.users, 2), populationUsers: numberFlag('population-users', f.populationUsers, 1),
        keyEmbedding: f.keyEmbedding && { steps: embeddingSteps(f.embeddingSteps) },
        progress: stderrProgress,
      });
      const at = (len: number): RowFigures[] => (r.byLength.get(len) ?? []).map(figuresOf);
      const main = at(50)[0] as RowFigures;
      const text = lengths.map((l) => `${l}-keystroke sequences:\n${table(at(l))}`).join('\n');
      await finish(`Aalto, TypeNet protocol, 50-keystroke sequences, ${linkTitle(link)}`, f, r.byLength.get(50) ?? [],
        {
          protocol: 'aalto', eer: main.eer, auc: main.auc, users: r.users, populationUsers: r.populationUsers,
          eer100: at(100)[0]?.eer, eer200: at(200)[0]?.eer, ...link, timing: r.timing, network: r.network,
          rows: Object.fromEntries(lengths.map((l) => [String(l), at(l)])),
        },
        [`aalto: ${r.users} participants, ${r.populationUsers} population, ${linkTitle(link)}${networkLine(r.network)}`, text, ...timingLines(r.timing), '  published anchor: EER 2.2% at 50 keystrokes (TypeNet); target EER <= 5%'].join('\n'));
    });

  registerRewriting(ev);

  common(ev.command('takeover'))
    .description('continuous authentication through the real gRPC scorer: synthetic agents, genuine and taken-over sessions')
    .requiredOption('--keys <dir>', 'folder of Aalto <ID>_keystrokes.txt files')
    .requiredOption('--mouse <dir>', 'the extracted sapimouse folder')
    .option('--population <dir>', 'Aalto folder whose participants (other than the agents) train the keystroke embedding network')
    .option('--population-users <n>', 'population participants to train on', '600')
    .option('--embedding-steps <n>', EMBEDDING_STEPS_HELP)
    .option('--takeover-at <f>', 'share of the genuine session before the impostor takes over', '0.3')
    .option('--max-gap-ms <ms>', 'idle gaps are shortened to this, so time counts activity', '2000')
    .option('--terminate-at <evidence>', "the scorer's terminate threshold (VDIGUARD_TRUST_TERMINATE_AT)")
    .option('--keys-offset <n>', 'skip the first n Aalto participants, so the agents are other people than the default run\'s', '0')
    .option('--traces <file>', "write every session's window scores (score, time, modality; never what was typed) as JSON, to study trust policies offline")
    .option('--sweep <list>', 'also report these trust policies from the same sessions: comma-separated thresholds, each optionally with the keystroke and mouse shifts and clips (the largest window score counted): threshold:keystrokeShift:keystrokeClip:mouseShift:mouseClip, for example 24,30:4:8:2:6')
    .option('--search-designs [per100h]', 'also search the trust designs (keystroke and mouse shifts) for the lowest threshold keeping this many false terminates per 100 h (default 1), and report the takeovers none of them catches, on the recorded and on ideally calibrated genuine scores; run with --terminate-at 1000')
    .option('--forge [budgetMs]', FORGE_HELP)
    .action(async (f: CommonFlags & { keys: string; mouse: string; population?: string; populationUsers: string; takeoverAt: string; maxGapMs: string; terminateAt?: string; sweep?: string; traces?: string; keysOffset: string; embeddingSteps?: string; searchDesigns?: string | true; forge?: string | true }) => {
      const link = linkOf(f);
      requireDatasetFolder('--keys', f.keys, 'aalto', (n) => n.some((x) => x.endsWith('_keystrokes.txt')));
      requireDatasetFolder('--mouse', f.mouse, 'sapimouse', (n) => n.some((x) => /^user\d+$/.test(x)));
      if (f.population) requireDatasetFolder('--population', f.population, 'aalto', (n) => n.some((x) => x.endsWith('_keystrokes.txt')));
      const r = await evalTakeover({
        keys: f.keys,
        mouse: f.mouse,
        ...(f.population ? { population: f.population, populationUsers: numberFlag('population-users', f.populationUsers, 2), keyEmbedding: { steps: embeddingSteps(f.embeddingSteps) } } : {}),
        agents: numberFlag('users', f.users, 2),
        keysOffset: numberFlag('keys-offset', f.keysOffset, 0),
        takeoverAt: numberFlag('takeover-at', f.takeoverAt, 0) ?? 0.3,
        maxGapMs: numberFlag('max-gap-ms', f.maxGapMs, 100) ?? 2000,
        ...link,
        progress: stderrProgress,
        ...(f.terminateAt !== undefined ? { settings: { trustTerminateAt: f.terminateAt } } : {}),
        ...(f.sweep !== undefined ? { sweep: f.sweep.split(',').map(sweepPolicy) } : {}),
        ...forgeOption(f.forge),
        ...(f.searchDesigns !== undefined ? { designSearch: f.searchDesigns === true ? {} : { targetPer100h: numberFlag('search-designs', f.searchDesigns, 0.001) as number } } : {}),
      });
      if (f.plot) {
        await writeFile(f.plot, r.plot);
        process.stderr.write(`plot written to ${f.plot}\n`);
      }
      if (f.traces) {
        await writeFile(f.traces, JSON.stringify(r.traces));
        process.stderr.write(`window scores written to ${f.traces}\n`);
      }
      process.stdout.write(r.text + '\n');
      if (f.json) process.stdout.write(JSON.stringify(r.json) + '\n');
    });
}

/** The `eval rewriting` command: the test for rewritten client times, honest and forged. */
function registerRewriting(ev: Command): void {
  common(ev.command('rewriting'))
    .description("the test for rewritten client times on the takeover's agents, without a scorer: honest pages taken for rewriting ones per hour, and how soon forging impostors are found")
    .requiredOption('--keys <dir>', 'folder of Aalto <ID>_keystrokes.txt files')
    .requiredOption('--mouse <dir>', 'the extracted sapimouse folder')
    .option('--keys-offset <n>', 'skip the first n Aalto participants', '0')
    .option('--draws <n>', "draws of the link's delays for the honest sessions", '4')
    .option('--forge <budgets>', "the forgers' bands (ms), comma-separated", '30,50,75')
    .option('--takeover-at <f>', 'share of the genuine session before the impostor takes over', '0.3')
    .option('--max-gap-ms <ms>', 'idle gaps are shortened to this, so time counts activity', '2000')
    .action(async (f: CommonFlags & { keys: string; mouse: string; keysOffset: string; draws: string; forge: string; takeoverAt: string; maxGapMs: string }) => {
      requireDatasetFolder('--keys', f.keys, 'aalto', (n) => n.some((x) => x.endsWith('_keystrokes.txt')));
      requireDatasetFolder('--mouse', f.mouse, 'sapimouse', (n) => n.some((x) => /^user\d+$/.test(x)));
      const r = await evalRewriting({
        keys: f.keys,
        mouse: f.mouse,
        agents: numberFlag('users', f.users, 2),
        keysOffset: numberFlag('keys-offset', f.keysOffset, 0),
        maxGapMs: numberFlag('max-gap-ms', f.maxGapMs, 100) ?? 2000,
        takeoverAt: numberFlag('takeover-at', f.takeoverAt, 0) ?? 0.3,
        draws: numberFlag('draws', f.draws, 1) ?? 4,
        budgets: f.forge.split(',').map((b) => numberFlag('forge', b, 0) as number),
        ...linkOf(f),
        progress: stderrProgress,
      });
      process.stdout.write(r.text + '\n');
      if (f.json) process.stdout.write(JSON.stringify(r.json) + '\n');
    });
}

/** One --sweep item: `threshold`, or `threshold:keystrokeShift:keystrokeClip:mouseShift:mouseClip`. */
function sweepPolicy(item: string): SweptPolicy {
  const parts = item.trim().split(':');
  if (parts.length !== 1 && parts.length !== 5) throw new VdiguardError('invalid-argument', `--sweep items are threshold or threshold:keystrokeShift:keystrokeClip:mouseShift:mouseClip (got ${item})`);
  const terminateAt = numberFlag('sweep', parts[0], 1) as number;
  if (parts.length === 1) return { terminateAt };
  const [ks, kc, ms, mc] = parts.slice(1).map((x) => numberFlag('sweep', x, 0.1) as number) as [number, number, number, number];
  return { terminateAt, evidence: { keystroke: { shift: ks, maxScore: kc }, mouse: { shift: ms, maxScore: mc } } };
}

function networkLine(n: NetworkFigures | undefined): string {
  if (!n) return '';
  return `; keystroke embedding network ${n.fingerprint}: ${n.parameters} parameters (${(n.bytes / 1024).toFixed(0)} KiB), trained in ${n.trainSeconds.toFixed(0)} s, ${n.inferenceMicros.toFixed(0)} µs per 50-keystroke window`;
}

/**
 * Refuses a folder that is not the extracted dataset the protocol reads, before any work starts,
 * saying what was expected (the protocols themselves would fail on the first missing file).
 */
export function requireDatasetFolder(flag: string, dir: string, dataset: 'aalto' | 'balabit' | 'sapimouse', looksRight: (names: string[]) => boolean): void {
  const expected = {
    aalto: 'the aalto-keystrokes folder with <ID>_keystrokes.txt files',
    balabit: 'the balabit-mouse folder with training_files, test_files and labels.csv',
    sapimouse: 'the sapimouse folder with userN folders',
  }[dataset];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new VdiguardError('not-found', `${flag} ${dir}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass ${expected}, extracted from ../shared/datasets`);
  }
  if (!looksRight(names)) throw new VdiguardError('invalid-argument', `${flag} ${dir} is not ${expected}; extract the archive from ../shared/datasets and pass that folder`);
}
