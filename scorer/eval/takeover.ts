/**
 * The takeover protocol: continuous authentication through the real gRPC scorer.
 *
 * Synthetic agents pair the i-th Aalto participant (keyboard) with the i-th SapiMouse user (mouse).
 * Each agent enrols over the admin API on the first half of its keystrokes and its 3-minute mouse
 * session. Then two sessions per agent stream through the scorer's session API, as the gateway's
 * mirror would (100 ms batches):
 * - genuine: the agent's other half of keystrokes with its 1-minute mouse session, merged in time;
 * - takeover: the first `takeoverAt` of that genuine session, then the next agent's genuine session
 *   (someone else at the keyboard and mouse) until the scorer terminates or the behaviour runs out.
 * Idle gaps are shortened to `maxGapMs`, so seconds count activity. Reports impostor actions
 * (keystrokes + mouse actions) and seconds of activity before the terminate verdict, the share of
 * takeovers never terminated, and false terminates per hour of genuine activity, measured and
 * estimated for many more hours (false-terminates.ts). Every figure is computed from the window
 * scores the scorer sent, replayed through the trust engine, after checking that replay agrees
 * with the scorer's own terminate verdicts; so `sweep` can report other trust policies from one run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Modality as ProtoModality, type InputEvent, type Verdict } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import type { Modality } from '../features/types.js';
import { openDb } from '../../lib/db/db.js';
import { importAaltoFile } from '../datasets/aalto.js';
import { importSapimouseFile } from '../datasets/mouse-datasets.js';
import { splitIndex } from '../recording/split.js';
import { writeRecording } from '../recording/writer.js';
import { enroll } from '../commands/admin.js';
import { replay } from '../commands/replay.js';
import { startTestScorer } from '../testing/scorer-harness.js';
import { defaultPipelines } from '../models/pipelines.js';
import { aaltoFiles } from './aalto-protocol.js';
import { compressIdle, linkTitle, measuredOverLink, mergeStreams, overLink, POPULATION_JITTER_SEED, scorerSettingsOf, shiftTo, type Link } from './jitter.js';
import { plotSvg } from './plot.js';
import { figuresOf, quantile, round, type Progress, type ScoredRow } from './summary.js';
import { rocAuc } from '../models/metrics.js';
import { mean, sampleSd } from '../features/stats.js';
import { pipelineOf, wholeWindow } from './windows.js';
import { windowsOf } from '../features/windows.js';
import type { Db } from '../../lib/db/db.js';
import { trainKeyEmbedding, type KeyEmbeddingTraining } from '../models/keystroke-embedding.js';
import { storeKeyEmbedding, trainActionNetworkFromProfiles } from '../service/population-networks.js';
import { initTf } from '../models/tf/runtime.js';
import { firstTerminate, simulateFalseTerminates, type FalseTerminateEstimate, type GenuineScores, type ScoreTrace } from './false-terminates.js';
import type { TrustPolicy } from '../trust/trust.js';
import { replayable, searchDesigns, type DesignSearch, type DesignSearchOptions, type DesignSearchResult } from './design-search.js';
import { loadScorerSettings, trustPolicyOf } from '../config.js';
import { forEachConcurrently } from '../../lib/concurrency.js';
import { silentLogger } from '../../lib/log.js';
import { VdiguardError } from '../../lib/errors.js';
import type { TimingReport } from '../timing/client-times.js';
import { reportSince, timingLines, TimingTally } from './timing-tally.js';
import { DEFAULT_FORGER_OPTIONS, forgeOverLink, learnForgerProfile, recordedTimes, type ForgerOptions } from './forger.js';

export interface TakeoverOptions extends Link {
  readonly keys: string;
  readonly mouse: string;
  /**
   * Aalto participants the keystroke embedding network trains on before the scorer starts (as
   * `vdiguard train` would store it); the agents' own participants are left out.
   */
  readonly population?: string;
  /** Population participants to train on (default 600). */
  readonly populationUsers?: number;
  /** Training options of that network (the defaults are the production ones). */
  readonly keyEmbedding?: KeyEmbeddingTraining;
  /** Agents to build (default: as many as both folders allow). */
  readonly agents?: number;
  /** Aalto participants to skip before the agents' (default 0): a run on other people than the default's. */
  readonly keysOffset?: number;
  /** Share of the genuine session (by time) before the takeover. */
  readonly takeoverAt: number;
  readonly maxGapMs: number;
  readonly progress: Progress;
  /** Scorer settings to override (setting name -> value), for example the trust policy. */
  readonly settings?: Record<string, string>;
  /** Sessions streamed at once (default 4). */
  readonly concurrency?: number;
  /**
   * Trust policies (terminate threshold, each modality's shift and clip) to report besides the scorer's own, from the
   * same sessions: the trust engine replayed over the scores the scorer sent. A session's scores
   * stop at the scorer's terminate, so a policy that would not have terminated it by then cannot be
   * replayed and is left out: run the scorer with a high threshold to sweep widely.
   */
  readonly sweep?: readonly SweptPolicy[];
  /**
   * Also search the trust engine's designs for the takeovers no policy within a false-terminate
   * target catches (design-search.ts). Like the sweep it replays recorded scores: run the scorer
   * with a high threshold.
   */
  readonly designSearch?: DesignSearchOptions;
  /**
   * The impostor's client forges the times it claims toward the agent it takes over (forger.ts),
   * learned from the agent's enrolment as their own browser recorded it; needs client times. The
   * genuine part of a takeover and the genuine sessions stay honest.
   */
  readonly forge?: Partial<ForgerOptions>;
}

/** A trust policy to replay: a threshold, and optionally the modalities' shifts and clips (else the scorer's). */
export interface SweptPolicy {
  readonly terminateAt: number;
  readonly evidence?: TrustPolicy['evidence'];
}

export interface TakeoverResult {
  readonly json: Record<string, unknown>;
  /** Per agent, the window scores of its genuine and its taken-over session. */
  readonly traces: readonly AgentTraces[];
  readonly text: string;
  readonly plot: string;
}

export interface Agent {
  id: string;
  /** The Aalto file of its keystrokes (left out of the population). */
  keyFile: string;
  enrol: InputEvent[];
  session: InputEvent[];
}

/**
 * Scorer maturity for the protocol: each modality is ready at the least that any agent enrolled, so
 * every agent is enrolled on both, as the protocol means them to be. Fixed thresholds (300
 * keystrokes, 100 mouse actions) left 2 of the first 72 agents without a keyboard profile and 4
 * without a mouse profile, whose takeovers then measured one modality. Units are counted as the
 * scorer counts them: the keystrokes or actions of whole windows.
 */
export function protocolMaturity(enrolments: readonly (readonly InputEvent[])[]): Record<string, string> {
  const least = (modality: Modality): number => {
    const pipeline = pipelineOf(defaultPipelines, modality);
    const units = enrolments.map((events) => windowsOf(events, pipeline.createExtractor()).reduce((n, w) => n + w.count, 0));
    return Math.max(1, Math.min(...units));
  };
  return { matureKeystrokes: String(least('keystroke')), matureMouseActions: String(least('mouse')) };
}

/** What building the synthetic agents needs of the options. */
export type AgentSource = Pick<TakeoverOptions, 'keys' | 'mouse' | 'keysOffset' | 'agents' | 'maxGapMs' | 'jitterMs' | 'clientTimes'>;

/**
 * The synthetic agents: each an Aalto participant's keystrokes (first half to enrol, second half in
 * session) merged with a SapiMouse user's 3-minute (enrol) and 1-minute (session) mouse, over the
 * link. `jitterSeedOffset` draws other link delays for the same people (the default run's is 0).
 */
export async function buildAgents(o: AgentSource, jitterSeedOffset = 0): Promise<Agent[]> {
  const keyFiles = (await aaltoFiles(o.keys)).slice(o.keysOffset ?? 0);
  const mouseUsers = (await readdir(o.mouse)).filter((u) => /^user\d+$/.test(u)).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  const n = Math.min(keyFiles.length, mouseUsers.length, o.agents ?? Infinity);
  const agents: Agent[] = [];
  for (let i = 0; i < n; i++) {
    const keys = (await importAaltoFile(join(o.keys, keyFiles[i] as string))).events;
    const dir = join(o.mouse, mouseUsers[i] as string);
    const files = (await readdir(dir)).sort();
    const three = files.find((f) => f.endsWith('3min.csv'));
    const one = files.find((f) => f.endsWith('1min.csv'));
    if (!three || !one) continue;
    const m3 = (await importSapimouseFile(join(dir, three))).events;
    const m1 = (await importSapimouseFile(join(dir, one))).events;
    const at = splitIndex(keys, 0.5);
    const prep = (ev: InputEvent[]): InputEvent[] => shiftTo(compressIdle(ev, o.maxGapMs), 0);
    const seed = 1000 * (i + 1) + jitterSeedOffset;
    agents.push({
      id: `agent-${i + 1}`,
      keyFile: keyFiles[i] as string,
      enrol: overLink(compressIdle(mergeStreams(prep(keys.slice(0, at)), prep(m3)), o.maxGapMs), o, seed),
      session: overLink(compressIdle(mergeStreams(prep(keys.slice(at)), prep(m1)), o.maxGapMs), o, seed + 1),
    });
  }
  return agents;
}

/**
 * A takeover session: the agent's own session up to `takeoverAt` of it, then (from `t0`) the next
 * agent's session as the impostor; with `forge`, the impostor's client claims forged times.
 */
export function takeoverOf(a: Agent, imp: Agent, o: Pick<TakeoverOptions, 'takeoverAt' | 'forge'>): { t0: number; impostor: InputEvent[]; events: InputEvent[] } {
  const start = (a.session[0] as InputEvent).timeMs;
  const end = (a.session[a.session.length - 1] as InputEvent).timeMs;
  const cut = start + o.takeoverAt * (end - start);
  const t0 = cut + 100;
  const sent = shiftTo(imp.session, t0);
  const impostor = o.forge ? forgeOverLink(sent, learnForgerProfile(recordedTimes(a.enrol)), o.forge) : sent;
  return { t0, impostor, events: [...a.session.filter((e) => e.timeMs <= cut), ...impostor] };
}

/** Times (ms) at which the impostor's actions complete: each key press, each mouse action's end. */
function actionTimes(events: readonly InputEvent[]): number[] {
  const keys = events.filter((e) => e.kind?.$case === 'key' && e.kind.value.pressed).map((e) => e.timeMs);
  const ex = pipelineOf(defaultPipelines, 'mouse', { mouse: { windowActions: 1 } }).createExtractor();
  const ends: number[] = [];
  for (const e of events) for (const w of ex.push(e)) ends.push(w.endTimeMs);
  return [...keys, ...ends].sort((a, b) => a - b);
}

/** Trains the keystroke network on population participants other than the agents' and stores it, as `vdiguard train` does. */
async function storeKeyNetwork(db: Db, o: TakeoverOptions, agentFiles: ReadonlySet<string>, timing: TimingTally): Promise<string> {
  await initTf();
  const files = (await aaltoFiles(o.population as string)).filter((f) => !agentFiles.has(f)).slice(0, o.populationUsers ?? 600);
  const windows: number[][][] = [];
  for (const [i, f] of files.entries()) {
    // The population's keystrokes reach a deployment through the gateway too: over the agents' link.
    const events = measuredOverLink((await importAaltoFile(join(o.population as string, f))).events, o, POPULATION_JITTER_SEED + i, timing);
    const w = wholeWindow(defaultPipelines, 'keystroke', events, 50);
    if (w) windows.push([w]);
  }
  o.progress(`takeover: training the keystroke embedding network on ${windows.length} population participants`);
  const network = trainKeyEmbedding(windows, { progress: o.progress, ...o.keyEmbedding });
  await storeKeyEmbedding(db, network, windows.length);
  return network.fingerprint;
}

export async function evalTakeover(o: TakeoverOptions): Promise<TakeoverResult> {
  if (o.forge && o.clientTimes !== true) throw new VdiguardError('invalid-argument', 'forging rewrites the client times the page claims: run the takeover with client times (--client-times)');
  const agents = await buildAgents(o);
  if (agents.length < 2) throw new Error('the takeover protocol needs at least 2 agents');
  o.progress(`takeover: ${agents.length} synthetic agents built`);
  const dir = mkdtempSync(join(tmpdir(), 'vdiguard-takeover-'));
  const db = await openDb({});
  const timing = { genuine: new TimingTally(), impostor: new TimingTally(), population: new TimingTally() };
  const keyNetwork = o.population ? await storeKeyNetwork(db, o, new Set(agents.map((a) => a.keyFile)), timing.population) : null;
  const settings = { ...protocolMaturity(agents.map((a) => a.enrol)), ...scorerSettingsOf(o), ...o.settings };
  let scorer = await startTestScorer(db, settings);
  try {
    const enrolling = { address: scorer.address, adminTokenFile: scorer.adminTokenFile };
    await forEachConcurrently(agents, o.concurrency ?? 4, async (a) => {
      const file = join(dir, `${a.id}-enrol.jsonl`);
      await writeRecording(file, { format: 'vdiguard.recording.v1', agent: a.id, source: 'eval-takeover' }, a.enrol);
      await enroll({ ...enrolling, agent: a.id, file });
    });
    // What `vdiguard train` does: train the mouse action network on the enrolled agents, then
    // (on a scorer restarted to load it) refit every agent with it and against the population.
    o.progress(`takeover: training the mouse action network on the ${agents.length} enrolled agents`);
    const actionNetwork = await trainActionNetworkFromProfiles(db, join(dir, 'models'), silentLogger());
    await scorer.close();
    scorer = await startTestScorer(db, settings);
    await scorer.engine.refitProfiles();
    o.progress(`takeover: ${agents.length} agents enrolled through the admin API and refitted against the population${actionNetwork ? ', with the mouse action network' : ''}`);
    const client = { address: scorer.address, adminTokenFile: scorer.adminTokenFile };

    const traces: AgentTraces[] = [];
    const scorerSettings = loadScorerSettings({}, settings);
    const timingEvidence = scorerSettings.timingEvidence;
    await forEachConcurrently(agents, o.concurrency ?? 4, async (a, i) => {
      const start = (a.session[0] as InputEvent).timeMs;
      const end = (a.session[a.session.length - 1] as InputEvent).timeMs;
      const stream = async (name: string, events: InputEvent[]): Promise<{ trace: ScoreTrace; terminatedAtMs: number | null; timing: TimedReport[] }> => {
        const file = join(dir, `${a.id}-${name}.jsonl`);
        await writeRecording(file, { format: 'vdiguard.recording.v1', agent: a.id, source: 'eval-takeover' }, events);
        const { trace, timing, onVerdict } = verdictRecorder(timingEvidence);
        const r = await replay({ ...client, file, agent: a.id, desktop: 'eval', speed: 0, batchMs: 100, onVerdict });
        return { trace, terminatedAtMs: r.terminatedAtMs, timing };
      };
      const genuine = await stream('genuine', a.session);
      const { t0, impostor, events } = takeoverOf(a, agents[(i + 1) % agents.length] as Agent, o);
      const takeover = await stream('takeover', events);
      // What the rule did in the agent's genuine session, and in the impostor's part of the takeover.
      const last = (t: TimedReport[]): TimingReport | undefined => t[t.length - 1]?.report;
      const genuineReport = last(genuine.timing);
      if (genuineReport) timing.genuine.add(genuineReport, genuine.terminatedAtMs ?? end - start);
      const takeoverReport = last(takeover.timing);
      if (takeoverReport) {
        const before = last(takeover.timing.filter((x) => x.atMs < t0 - start));
        const impostorEnd = (impostor[impostor.length - 1] as InputEvent).timeMs - start;
        timing.impostor.add(reportSince(takeoverReport, before), Math.max(0, (takeover.terminatedAtMs ?? impostorEnd) - (t0 - start)));
      }
      // By the agent's place, not by which stream finished first: the same run gives the same report.
      traces[i] = {
        agent: a.id,
        keyFile: a.keyFile,
        genuine: genuine.trace,
        genuineMs: end - start,
        genuineActionsMs: actionTimes(a.session).map((t) => t - start),
        takeover: takeover.trace,
        takeoverAtMs: t0 - start,
        impostorActionsMs: actionTimes(impostor).map((t) => t - start),
        scorerTerminatedMs: { genuine: genuine.terminatedAtMs, takeover: takeover.terminatedAtMs },
      };
    });
    o.progress(`takeover: ${agents.length} genuine and ${agents.length} taken-over sessions streamed`);

    // The scorer's own terminate verdicts, checked against the trust engine replayed over the
    // scores it sent: that replay is what the sweep uses for lower thresholds.
    const policy = trustPolicyOf(scorerSettings);
    for (const t of traces) {
      for (const kind of ['genuine', 'takeover'] as const) {
        const offline = firstTerminate(t[kind], policy);
        if (offline !== t.scorerTerminatedMs[kind]) {
          throw new Error(`${t.agent} ${kind}: the scorer terminated at ${t.scorerTerminatedMs[kind]} ms but its trust replayed offline terminates at ${offline} ms`);
        }
      }
    }
    const main = outcomesAt(traces, policy);
    const sweep = (o.sweep ?? []).flatMap((p) => {
      const swept = { ...policy, terminateAt: p.terminateAt, evidence: p.evidence ?? policy.evidence };
      return replayable(traces, swept) ? [{ terminateAt: swept.terminateAt, evidence: swept.evidence, ...figuresAt(outcomesAt(traces, swept)) }] : [];
    });
    const designs = o.designSearch ? searchDesigns(traces, o.designSearch) : undefined;
    const genuineScores = traces.flatMap((t) => t.genuine.map((w) => w.score));
    const impostorScores = traces.flatMap((t) => t.takeover.filter((w) => w.atMs > t.takeoverAtMs).map((w) => w.score));
    const modalities = (['keystroke', 'mouse'] as const).map((m) => modalityFigures(traces, m));
    const json = {
      protocol: 'takeover',
      agents: agents.length,
      keysOffset: o.keysOffset ?? 0,
      ...figuresAt(main),
      terminateAt: policy.terminateAt,
      maturity: { keystrokes: Number(settings.matureKeystrokes), mouseActions: Number(settings.matureMouseActions) },
      keyNetwork,
      actionNetwork: actionNetwork?.network.fingerprint ?? null,
      takeoverAt: o.takeoverAt,
      jitterMs: o.jitterMs,
      clientTimes: o.clientTimes === true,
      ...(o.clientTimeEnvelopeMs === undefined ? {} : { clientTimeEnvelopeMs: o.clientTimeEnvelopeMs }),
      forge: o.forge ? { ...DEFAULT_FORGER_OPTIONS, ...o.forge } : null,
      timing: { genuine: timing.genuine.summary(), impostor: timing.impostor.summary(), population: timing.population.summary() },
      model: defaultPipelines().map((p) => `${p.modality}:${p.model.name}`).join(' '),
      ...(sweep.length > 0 ? { sweep } : {}),
      ...(designs ? { designSearch: designSearchFigures(designs) } : {}),
      modalities,
    };
    const row: ScoredRow = { row: 'in-session windows', model: json.model, genuine: genuineScores.filter(Number.isFinite), impostor: impostorScores.filter(Number.isFinite) };
    const fig = figuresOf(row);
    const text = [
      `takeover: ${agents.length} agents through the gRPC scorer (${json.model}), ${linkTitle(o)}${json.forge ? `, impostors forging their client times (budget ${json.forge.budgetMs} ms)` : ''}, terminate at ${policy.terminateAt}`,
      `  impostor actions before terminate: median ${json.aniaMedian}, p95 ${json.aniaP95}`,
      `  seconds of activity before terminate: median ${json.secondsToDropMedian}, p95 ${json.secondsToDropP95}`,
      `  missed takeovers ${(json.missedTakeovers * 100).toFixed(1)}%, terminated before the takeover ${json.terminatedBeforeTakeover}`,
      `  false terminates ${json.falseTerminates} in ${json.genuineHours.toFixed(2)} h of genuine activity (${json.falseTerminatesPerHour} per hour)`,
      `  simulated from each agent's genuine window scores: ${json.falseTerminatesPer100hSimulated} false terminates per 100 h (${json.simulatedHours} h, ${json.simulatedAgentsAffected} agents affected)`,
      `  in-session window scores: AUC ${fig.auc.toFixed(4)}, EER ${(fig.eer * 100).toFixed(2)}%`,
      ...modalities.map(
        (m) =>
          `    ${m.modality}: ${m.agents} agents scored, AUC ${m.auc.toFixed(4)}, ${m.genuineWindows} genuine windows (mean ${m.genuineMean}, sd ${m.genuineSd}), ${m.impostorWindows} impostor windows (mean ${m.impostorMean}); ${m.agentsGenuineMeanAbove1} agents' genuine mean above 1`,
      ),
      ...sweep.map((w) => `  terminate at ${w.terminateAt}, keystroke shift ${w.evidence.keystroke.shift} clip ${w.evidence.keystroke.maxScore}, mouse shift ${w.evidence.mouse.shift} clip ${w.evidence.mouse.maxScore}: median ${w.secondsToDropMedian} s, p95 ${w.secondsToDropP95} s, missed ${(w.missedTakeovers * 100).toFixed(1)}%, simulated ${w.falseTerminatesPer100hSimulated} false terminates per 100 h`),
      ...(designs ? designSearchLines(designs) : []),
      ...timingLines(json.timing),
      '  targets: median <= 30 s, p95 <= 120 s, missed <= 1%, <= 1 false terminate per 100 h',
    ].join('\n');
    return { json, traces, text, plot: plotSvg(`takeover: window scores in genuine sessions and after takeovers (${json.model})`, [row], [fig.auc]) };
  } finally {
    await scorer.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A session's client-time report as of a verdict, ms from the session's start. */
export interface TimedReport {
  atMs: number;
  report: TimingReport;
}

/**
 * Records a streamed session's verdicts (replay's `onVerdict`): the windows the scorer fed to its
 * trust engine (its count of them went up), each with the evidence of the stretches of impossible
 * client times it carried in (`timingEvidence` each, VDIGUARD_TIMING_EVIDENCE), and the timing reports.
 */
export function verdictRecorder(timingEvidence: number): { trace: ScoreTrace[number][]; timing: TimedReport[]; onVerdict: (v: Verdict, sinceStartMs: number) => void } {
  const trace: ScoreTrace[number][] = [];
  const timing: TimedReport[] = [];
  let fed = 0;
  let stretchesFed = 0;
  const onVerdict = (v: Verdict, at: number): void => {
    const stretches = v.timing?.inconsistentStretches ?? 0;
    if (v.windowsScored > fed) {
      trace.push({ score: v.windowScore, atMs: at, modality: v.modality === ProtoModality.MODALITY_MOUSE ? 'mouse' : 'keystroke', timingEvidence: (stretches - stretchesFed) * timingEvidence });
      stretchesFed = stretches;
    }
    fed = v.windowsScored;
    if (v.timing) timing.push({ atMs: at, report: v.timing });
  };
  return { trace, timing, onVerdict };
}

interface AgentTraces {
  agent: string;
  /** The Aalto participant typing as the agent. */
  keyFile: string;
  genuine: ScoreTrace;
  genuineMs: number;
  /** Completion times of the agent's actions in its genuine session. */
  genuineActionsMs: number[];
  takeover: ScoreTrace;
  takeoverAtMs: number;
  impostorActionsMs: number[];
  scorerTerminatedMs: { genuine: number | null; takeover: number | null };
}

/** The JSON of a design search: the five best designs of each kind, not all of them. */
function designSearchFigures(d: DesignSearch): Record<string, unknown> {
  const part = (r: DesignSearchResult): Record<string, unknown> => ({ designs: r.designs.length, notReplayable: r.notReplayable, missedByEveryDesign: r.missedByEveryDesign, best: r.designs.slice(0, 5) });
  return { targetPer100h: d.targetPer100h, recorded: part(d.recorded), idealCalibration: part(d.idealCalibration) };
}

function designSearchLines(d: DesignSearch): string[] {
  const part = (name: string, r: DesignSearchResult): string => {
    const best = r.designs[0];
    const skipped = r.notReplayable > 0 ? ` (${r.notReplayable} designs not replayable: run with --terminate-at 1000)` : '';
    if (!best) return `    ${name}: no design keeps the target${skipped}`;
    const design = `keystroke shift ${best.evidence.keystroke.shift}, mouse shift ${best.evidence.mouse.shift}, terminate at ${best.terminateAt}`;
    return `    ${name}: ${r.designs.length} designs keep it; best ${design}: missed ${best.missed.length} [${best.missed.join(', ')}], median ${best.secondsToDropMedian} s; missed by every design: [${r.missedByEveryDesign.join(', ')}]${skipped}`;
  };
  return [
    `  trust designs keeping <= ${d.targetPer100h} false terminates per 100 h (each design at its lowest such threshold):`,
    part("agents' own genuine scores", d.recorded),
    part('ideally calibrated genuine scores', d.idealCalibration),
  ];
}

interface Outcomes {
  ania: number[];
  secondsToDrop: number[];
  missed: number;
  terminatedBeforeTakeover: number;
  falseTerminates: number;
  genuineMs: number;
  genuineActions: number;
  simulated: FalseTerminateEstimate;
  agents: number;
}

function outcomesAt(traces: readonly AgentTraces[], policy: TrustPolicy): Outcomes {
  const out: Outcomes = { ania: [], secondsToDrop: [], missed: 0, terminatedBeforeTakeover: 0, falseTerminates: 0, genuineMs: 0, genuineActions: 0, simulated: simulateFalseTerminates([], policy), agents: traces.length };
  const genuine: GenuineScores[] = [];
  for (const t of traces) {
    const g = firstTerminate(t.genuine, policy);
    const ranMs = g ?? t.genuineMs;
    if (g !== null) out.falseTerminates++;
    out.genuineMs += ranMs;
    out.genuineActions += t.genuineActionsMs.filter((x) => x <= ranMs).length;
    genuine.push({ windows: t.genuine.filter((w) => w.atMs <= ranMs), seconds: ranMs / 1000 });
    const drop = firstTerminate(t.takeover, policy);
    if (drop === null) out.missed++;
    else if (drop < t.takeoverAtMs) out.terminatedBeforeTakeover++;
    else {
      out.secondsToDrop.push((drop - t.takeoverAtMs) / 1000);
      out.ania.push(t.impostorActionsMs.filter((x) => x <= drop).length);
    }
  }
  out.simulated = simulateFalseTerminates(genuine, policy);
  return out;
}

function figuresAt(o: Outcomes): {
  aniaMedian: number; aniaP95: number; secondsToDropMedian: number; secondsToDropP95: number; missedTakeovers: number;
  falseTerminatesPerHour: number; falseTerminates: number; genuineHours: number; angaActionsPerFalseTerminate: number | null;
  genuineActions: number; terminatedBeforeTakeover: number; falseTerminatesPer100hSimulated: number; simulatedHours: number; simulatedAgentsAffected: number;
} {
  const hours = o.genuineMs / 3_600_000;
  return {
    aniaMedian: round(quantile(o.ania, 0.5), 1),
    aniaP95: round(quantile(o.ania, 0.95), 1),
    secondsToDropMedian: round(quantile(o.secondsToDrop, 0.5), 2),
    secondsToDropP95: round(quantile(o.secondsToDrop, 0.95), 2),
    missedTakeovers: round(o.missed / o.agents),
    falseTerminatesPerHour: round(o.falseTerminates / hours),
    falseTerminates: o.falseTerminates,
    genuineHours: round(hours),
    angaActionsPerFalseTerminate: o.falseTerminates > 0 ? Math.round(o.genuineActions / o.falseTerminates) : null,
    genuineActions: o.genuineActions,
    terminatedBeforeTakeover: o.terminatedBeforeTakeover,
    // The bootstrap estimate (false-terminates.ts): the streamed hours cannot show 1 per 100 h.
    falseTerminatesPer100hSimulated: round(o.simulated.per100Hours, 2),
    simulatedHours: Math.round(o.simulated.hours),
    simulatedAgentsAffected: o.simulated.agentsAffected,
  };
}

/**
 * One modality's in-session window scores: how well it separates, and how far the agents' own
 * genuine windows sit from the N(0,1) their calibration promises (a new session's drift is what
 * false terminates come from).
 */
function modalityFigures(traces: readonly AgentTraces[], modality: Modality): {
  modality: Modality; agents: number; auc: number; genuineWindows: number; genuineMean: number; genuineSd: number; impostorWindows: number; impostorMean: number; agentsGenuineMeanAbove1: number;
} {
  const finite = (t: ScoreTrace): number[] => t.filter((w) => w.modality === modality && Number.isFinite(w.score)).map((w) => w.score);
  const perAgent = traces.map((t) => finite(t.genuine));
  const genuine = perAgent.flat();
  const impostor = traces.flatMap((t) => finite(t.takeover.filter((w) => w.atMs > t.takeoverAtMs)));
  return {
    modality,
    // Agents scored on this modality in their genuine session (a short recording may give no window).
    agents: perAgent.filter((s) => s.length > 0).length,
    auc: round(rocAuc(genuine, impostor)),
    genuineWindows: genuine.length,
    genuineMean: round(mean(genuine), 2),
    genuineSd: round(sampleSd(genuine), 2),
    impostorWindows: impostor.length,
    impostorMean: round(mean(impostor), 2),
    agentsGenuineMeanAbove1: perAgent.filter((s) => mean(s) > 1).length,
  };
}
