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
 * takeovers never terminated, and false terminates per hour of genuine activity.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
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
import { compressIdle, jitterEvents, mergeStreams, shiftTo } from './jitter.js';
import { plotSvg } from './plot.js';
import { figuresOf, quantile, round, type Progress, type ScoredRow } from './summary.js';
import { pipelineOf } from './windows.js';
import { forEachConcurrently } from '../../lib/concurrency.js';

export interface TakeoverOptions {
  readonly keys: string;
  readonly mouse: string;
  /** Agents to build (default: as many as both folders allow). */
  readonly agents?: number;
  /** Share of the genuine session (by time) before the takeover. */
  readonly takeoverAt: number;
  readonly maxGapMs: number;
  readonly jitterMs: number;
  readonly progress: Progress;
  /** Scorer settings to override (setting name -> value), for example the trust policy. */
  readonly settings?: Record<string, string>;
  /** Sessions streamed at once (default 4). */
  readonly concurrency?: number;
}

export interface TakeoverResult {
  readonly json: Record<string, unknown>;
  readonly text: string;
  readonly plot: string;
}

interface Agent {
  id: string;
  enrol: InputEvent[];
  session: InputEvent[];
}

/** Scorer settings for the protocol: enrolment of about half an Aalto participant makes a mature profile. */
export const TAKEOVER_SETTINGS: Record<string, string> = { matureKeystrokes: '300', matureMouseActions: '100' };

async function buildAgents(o: TakeoverOptions): Promise<Agent[]> {
  const keyFiles = await aaltoFiles(o.keys);
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
    const seed = 1000 * (i + 1);
    agents.push({
      id: `agent-${i + 1}`,
      enrol: jitterEvents(compressIdle(mergeStreams(prep(keys.slice(0, at)), prep(m3)), o.maxGapMs), o.jitterMs, seed),
      session: jitterEvents(compressIdle(mergeStreams(prep(keys.slice(at)), prep(m1)), o.maxGapMs), o.jitterMs, seed + 1),
    });
  }
  return agents;
}

/** Times (ms) at which the impostor's actions complete: each key press, each mouse action's end. */
function actionTimes(events: readonly InputEvent[]): number[] {
  const keys = events.filter((e) => e.kind?.$case === 'key' && e.kind.value.pressed).map((e) => e.timeMs);
  const ex = pipelineOf(defaultPipelines, 'mouse', { mouse: { windowActions: 1 } }).createExtractor();
  const ends: number[] = [];
  for (const e of events) for (const w of ex.push(e)) ends.push(w.endTimeMs);
  return [...keys, ...ends].sort((a, b) => a - b);
}

export async function evalTakeover(o: TakeoverOptions): Promise<TakeoverResult> {
  const agents = await buildAgents(o);
  if (agents.length < 2) throw new Error('the takeover protocol needs at least 2 agents');
  o.progress(`takeover: ${agents.length} synthetic agents built`);
  const dir = mkdtempSync(join(tmpdir(), 'vdiguard-takeover-'));
  const db = await openDb({});
  const scorer = await startTestScorer(db, { ...TAKEOVER_SETTINGS, ...o.settings });
  const client = { address: scorer.address, adminTokenFile: scorer.adminTokenFile };
  try {
    await forEachConcurrently(agents, o.concurrency ?? 4, async (a) => {
      const file = join(dir, `${a.id}-enrol.jsonl`);
      await writeRecording(file, { format: 'vdiguard.recording.v1', agent: a.id, source: 'eval-takeover' }, a.enrol);
      await enroll({ ...client, agent: a.id, file });
    });
    // What `vdiguard train` does: refit every agent against the now-enrolled population.
    await scorer.engine.refitProfiles();
    o.progress(`takeover: ${agents.length} agents enrolled through the admin API and refitted against the population`);

    const genuineScores: number[] = [];
    const impostorScores: number[] = [];
    let genuineMs = 0;
    let genuineActions = 0;
    let falseTerminates = 0;
    let terminatedBeforeTakeover = 0;
    const ania: number[] = [];
    const secondsToDrop: number[] = [];
    let missed = 0;

    await forEachConcurrently(agents, o.concurrency ?? 4, async (a, i) => {
      // Genuine session.
      const gFile = join(dir, `${a.id}-genuine.jsonl`);
      await writeRecording(gFile, { format: 'vdiguard.recording.v1', agent: a.id, source: 'eval-takeover' }, a.session);
      const g = await replay({ ...client, file: gFile, agent: a.id, desktop: 'eval', speed: 0, batchMs: 100, onVerdict: (v) => { if (v.windowsScored > 0) genuineScores.push(v.windowScore); } });
      const start = (a.session[0] as InputEvent).timeMs;
      const end = (a.session[a.session.length - 1] as InputEvent).timeMs;
      const ranMs = g.terminated ? (g.terminatedAtMs ?? 0) : end - start;
      genuineMs += ranMs;
      genuineActions += actionTimes(a.session).filter((t) => t - start <= ranMs).length;
      if (g.terminated) falseTerminates++;

      // Takeover session: this agent, then the next agent's behaviour.
      const imp = agents[(i + 1) % agents.length] as Agent;
      const cut = start + o.takeoverAt * (end - start);
      const prefix = a.session.filter((e) => e.timeMs <= cut);
      const t0 = cut + 100;
      const impostor = shiftTo(imp.session, t0);
      const tFile = join(dir, `${a.id}-takeover.jsonl`);
      await writeRecording(tFile, { format: 'vdiguard.recording.v1', agent: a.id, source: 'eval-takeover' }, [...prefix, ...impostor]);
      const t = await replay({
        ...client, file: tFile, agent: a.id, desktop: 'eval', speed: 0, batchMs: 100,
        onVerdict: (v, at) => { if (v.windowsScored > 0 && start + at > t0) impostorScores.push(v.windowScore); },
      });
      if (!t.terminated) {
        missed++;
        return;
      }
      const dropAt = start + (t.terminatedAtMs ?? 0);
      if (dropAt < t0) {
        terminatedBeforeTakeover++;
        return;
      }
      secondsToDrop.push((dropAt - t0) / 1000);
      ania.push(actionTimes(impostor).filter((x) => x <= dropAt).length);
    });
    o.progress(`takeover: ${agents.length} genuine and ${agents.length} taken-over sessions streamed`);

    const hours = genuineMs / 3_600_000;
    const json = {
      protocol: 'takeover',
      agents: agents.length,
      aniaMedian: round(quantile(ania, 0.5), 1),
      aniaP95: round(quantile(ania, 0.95), 1),
      secondsToDropMedian: round(quantile(secondsToDrop, 0.5), 2),
      secondsToDropP95: round(quantile(secondsToDrop, 0.95), 2),
      missedTakeovers: round(missed / agents.length),
      falseTerminatesPerHour: round(falseTerminates / hours),
      falseTerminates,
      genuineHours: round(hours),
      angaActionsPerFalseTerminate: falseTerminates > 0 ? Math.round(genuineActions / falseTerminates) : null,
      genuineActions,
      terminatedBeforeTakeover,
      takeoverAt: o.takeoverAt,
      jitterMs: o.jitterMs,
      model: defaultPipelines().map((p) => `${p.modality}:${p.model.name}`).join(' '),
    };
    const row: ScoredRow = { row: 'in-session windows', model: json.model, genuine: genuineScores.filter(Number.isFinite), impostor: impostorScores.filter(Number.isFinite) };
    const fig = figuresOf(row);
    const text = [
      `takeover: ${agents.length} agents through the gRPC scorer (${json.model}), jitter ${o.jitterMs} ms`,
      `  impostor actions before terminate: median ${json.aniaMedian}, p95 ${json.aniaP95}`,
      `  seconds of activity before terminate: median ${json.secondsToDropMedian}, p95 ${json.secondsToDropP95}`,
      `  missed takeovers ${(json.missedTakeovers * 100).toFixed(1)}%, terminated before the takeover ${terminatedBeforeTakeover}`,
      `  false terminates ${falseTerminates} in ${hours.toFixed(2)} h of genuine activity (${json.falseTerminatesPerHour} per hour)`,
      `  in-session window scores: AUC ${fig.auc.toFixed(4)}, EER ${(fig.eer * 100).toFixed(2)}%`,
      '  targets: median <= 30 s, p95 <= 120 s, missed <= 1%, <= 0.01 false terminates per hour',
    ].join('\n');
    return { json, text, plot: plotSvg(`takeover: window scores in genuine sessions and after takeovers (${json.model})`, [row], [fig.auc]) };
  } finally {
    await scorer.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
