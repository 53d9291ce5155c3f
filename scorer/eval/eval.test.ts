import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { extractMembers, listMembers, skipReason } from '../datasets/archive.js';
import { compressIdle, jitterEvents, mergeStreams } from './jitter.js';
import { plotSvg, rocPoints } from './plot.js';
import { quantile, silentProgress } from './summary.js';
import { evalSapimouse, timeSlices } from './mouse-protocols.js';
import { evalAalto } from './aalto-protocol.js';
import { evalTakeover, protocolMaturity } from './takeover.js';
import { importAaltoFile } from '../datasets/aalto.js';
import { importSapimouseFile } from '../datasets/mouse-datasets.js';
import { evalRows } from './command.js';
import { DEFAULT_TRUST_POLICY, type EvidencePolicy } from '../trust/trust.js';
import type { TimingSummary } from './timing-tally.js';

const k = (timeMs: number, pressed = true): InputEvent => ({ timeMs, kind: { $case: 'key', value: { keysym: 0x61, pressed } } });

test('jitter is reproducible, keeps arrival order and has about the asked spread', () => {
  const ev = Array.from({ length: 2000 }, (_, i) => k(i * 100));
  const a = jitterEvents(ev, 20, 7);
  assert.deepEqual(a, jitterEvents(ev, 20, 7));
  for (let i = 1; i < a.length; i++) assert.ok(a[i]!.timeMs >= a[i - 1]!.timeMs);
  const d = a.map((e, i) => e.timeMs - ev[i]!.timeMs);
  const sd = Math.sqrt(d.reduce((s, x) => s + x * x, 0) / d.length);
  assert.ok(sd > 17 && sd < 23, `sd ${sd}`);
  assert.deepEqual(jitterEvents(ev, 0, 1), ev);
  assert.ok(a[0]!.timeMs >= 0, 'no event before the first one was sent');
});

test('idle gaps are shortened, streams merge in time order, slices cut by time', () => {
  const c = compressIdle([k(0), k(100), k(10_000), k(10_050)], 2000);
  assert.deepEqual(c.map((e) => e.timeMs), [0, 100, 2100, 2150]);
  assert.deepEqual(mergeStreams([k(0), k(20)], [k(10), k(20, false)]).map((e) => e.timeMs), [0, 10, 20, 20]);
  assert.deepEqual(timeSlices([k(0), k(14_999), k(15_000), k(40_000)], 15_000).map((s) => s.length), [2, 1, 1]);
  assert.equal(quantile([3, 1, 2], 0.5), 2);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

test('the ROC of a perfect separation reaches (0, 1); the plot is one SVG document', () => {
  const pts = rocPoints([0, 1, 2], [5, 6]);
  assert.ok(pts.some(([x, y]) => x === 0 && y === 1));
  const svg = plotSvg('t <1>', [{ row: 'default', model: 'm', genuine: [0, 1], impostor: [3, 4] }], [1]);
  assert.match(svg, /^<svg [^]*<\/svg>\n$/);
  assert.match(svg, /t &lt;1&gt;/);
});

describe('evaluation protocols on slices of the real datasets', () => {
  test('sapimouse: 4 users, genuine slices score lower than impostor slices on the whole', { skip: skipReason('sapimouse') }, async () => {
    const members = (await listMembers('sapimouse')).filter((m) => /^sapimouse\/user[1-4]\/.*\.csv$/.test(m));
    const root = await extractMembers('sapimouse', members);
    const r = await evalSapimouse({ data: join(root, 'sapimouse'), rows: evalRows(), jitterMs: 0, progress: silentProgress, users: 4, sliceSeconds: 15 });
    assert.equal(r.users, 4);
    const row = r.rows[0]!;
    assert.ok(row.genuine.length >= 8 && row.impostor.length >= 3 * row.genuine.length);
    assert.ok(quantile(row.genuine, 0.5) < quantile(row.impostor, 0.5));
    // Halves {1, 2} and {3, 4}: each user's impostors are the two users of the other half, so every
    // slice is an impostor exactly twice, as it is genuine once.
    const outside = await evalSapimouse({ data: join(root, 'sapimouse'), rows: evalRows(), jitterMs: 0, progress: silentProgress, users: 4, sliceSeconds: 15, outsideImpostors: true });
    assert.equal(outside.rows[0]!.genuine.length, row.genuine.length);
    assert.equal(outside.rows[0]!.impostor.length, 2 * row.genuine.length);
  });

  test('sapimouse: the mouse model seed is a choice of the evaluation (6 users, enough for the classifier)', { skip: skipReason('sapimouse') }, async () => {
    const members = (await listMembers('sapimouse')).filter((m) => /^sapimouse\/user[1-6]\/.*\.csv$/.test(m));
    const root = await extractMembers('sapimouse', members);
    const run = (rows: ReturnType<typeof evalRows>) => evalSapimouse({ data: join(root, 'sapimouse'), rows: rows.slice(0, 1), jitterMs: 0, progress: silentProgress, users: 6, sliceSeconds: 15 });
    const [byDefault, seeded] = [await run(evalRows()), await run(evalRows(2))];
    assert.equal(seeded.rows[0]!.genuine.length, byDefault.rows[0]!.genuine.length);
    assert.notDeepEqual(seeded.rows[0]!.genuine, byDefault.rows[0]!.genuine, 'other networks, other scores');
    assert.ok(quantile(seeded.rows[0]!.genuine, 0.5) < quantile(seeded.rows[0]!.impostor, 0.5));
  });

  test('aalto: the TypeNet protocol on 6 participants, population models on 6 others only', { skip: skipReason('aalto') }, async () => {
    const files = (await listMembers('aalto')).filter((m) => m.endsWith('_keystrokes.txt'));
    files.sort((a, b) => parseInt(a.split('/').pop()!, 10) - parseInt(b.split('/').pop()!, 10));
    const root = await extractMembers('aalto', files.slice(0, 12));
    const data = join(root, 'aalto-keystrokes');
    const keyEmbedding = { steps: 20, keyUnits: 16, pooledUnits: 16, embedding: 16 };
    const r = await evalAalto({ data, population: data, populationUsers: 6, keyEmbedding, rows: evalRows(), lengths: [50, 100], jitterMs: 5, clientTimes: true, users: 6, progress: silentProgress });
    assert.equal(r.users, 6);
    // Evaluated and population keystrokes alike reach the scorer with client times, which the rule measures them on.
    for (const t of [r.timing.evaluated, r.timing.population]) {
      assert.equal(t.streams, 6);
      assert.equal(t.events.missing, 0);
      assert.ok(t.events.client > 0.99 * (t.events.client + t.events.outsideEnvelope + t.events.future + t.events.backwards), JSON.stringify(t));
    }
    assert.equal(r.populationUsers, 6);
    assert.ok(r.network && r.network.parameters > 0 && r.network.inferenceMicros > 0, 'a network trained on the population');
    assert.equal(r.byLength.get(50)![0]!.model, 'key-embedding');
    const row50 = r.byLength.get(50)![0]!;
    assert.equal(row50.impostor.length, 6 * 5);
    assert.ok(row50.genuine.every(Number.isFinite) && row50.impostor.every(Number.isFinite));
    assert.ok(quantile(row50.genuine, 0.5) < quantile(row50.impostor, 0.5));
    // A population folder that shares a participant with the evaluated ones is refused.
    const other = mkdtempSync(join(tmpdir(), 'vdiguard-pop-'));
    const first = files[0]!.split('/').pop()!;
    symlinkSync(join(data, first), join(other, first));
    await assert.rejects(evalAalto({ data, population: other, rows: evalRows(), lengths: [50], jitterMs: 0, users: 6, progress: silentProgress }), /other people/);
  });

  test('the protocol\'s maturity is the least any agent enrolled, in whole windows, so every agent is enrolled on both modalities', { skip: skipReason('aalto') || skipReason('sapimouse') }, async () => {
    const keys = (await listMembers('aalto')).filter((m) => m.endsWith('_keystrokes.txt')).slice(0, 1);
    const kr = await extractMembers('aalto', keys);
    const three = (await listMembers('sapimouse')).filter((m) => /^sapimouse\/user1\/.*3min\.csv$/.test(m));
    const mr = await extractMembers('sapimouse', three);
    const typed = (await importAaltoFile(join(kr, keys[0]!))).events;
    const moved = (await importSapimouseFile(join(mr, three[0]!))).events;
    const presses = (ev: InputEvent[]): number => ev.filter((e) => e.kind?.$case === 'key' && e.kind.value.pressed).length;
    // A short enrolment (about 3.5 keystroke windows, a third of the mouse session) beside a long one.
    const short = mergeStreams(typed.slice(0, 360), moved.slice(0, Math.floor(moved.length / 3)));
    const long = mergeStreams(typed, moved);
    const m = protocolMaturity([long, short]);
    assert.equal(m.matureKeystrokes, '150', `${presses(short)} presses in the short enrolment: 3 whole windows of 50`);
    const actions = Number(m.matureMouseActions);
    assert.ok(actions > 0 && actions % 20 === 0, `${actions} mouse actions: whole windows of 20`);
    assert.ok(Number(protocolMaturity([long]).matureMouseActions) > actions, 'the long enrolment alone matures later');
  });

  // The default shifts with lower clips, at which one window adds just over 2 (the swept threshold):
  // no window counts for more than under the default policy.
  const clipNear2 = (e: EvidencePolicy): EvidencePolicy => ({ shift: e.shift, maxScore: (2.5 + e.shift ** 2 / 2) / e.shift });
  const { keystroke: KEYS, mouse: MOUSE } = DEFAULT_TRUST_POLICY.evidence;
  test('takeover through the gRPC scorer: 3 agents, figures under the issue names', { skip: skipReason('aalto') || skipReason('sapimouse') }, async () => {
    const keys = (await listMembers('aalto')).filter((m) => m.endsWith('_keystrokes.txt'));
    keys.sort((a, b) => parseInt(a.split('/').pop()!, 10) - parseInt(b.split('/').pop()!, 10));
    const kr = await extractMembers('aalto', keys.slice(0, 3));
    const mr = await extractMembers('sapimouse', (await listMembers('sapimouse')).filter((m) => /^sapimouse\/user[1-3]\/.*\.csv$/.test(m)));
    const r = await evalTakeover({ keys: join(kr, 'aalto-keystrokes'), mouse: join(mr, 'sapimouse'), agents: 3, takeoverAt: 0.3, maxGapMs: 2000, jitterMs: 0, progress: silentProgress, sweep: [{ terminateAt: 2 }, { terminateAt: 6 }, { terminateAt: 500 }, { terminateAt: 2, evidence: { keystroke: clipNear2(KEYS), mouse: clipNear2(MOUSE) } }], designSearch: { keystrokeShifts: [3, 4.5], mouseShifts: [2.5], simulation: { hoursPerAgent: 5, blockWindows: 1, seed: 1 } } });
    for (const key of ['aniaMedian', 'aniaP95', 'secondsToDropMedian', 'secondsToDropP95', 'missedTakeovers', 'falseTerminatesPerHour']) assert.ok(key in r.json, key);
    assert.equal(r.json.agents, 3);
    assert.ok((r.json.genuineHours as number) > 0);
    assert.deepEqual(r.traces.map((t) => t.agent).sort(), ['agent-1', 'agent-2', 'agent-3']);
    assert.ok(r.traces.every((t) => t.genuine.every((w) => w.modality === 'keystroke' || w.modality === 'mouse')));
    // 50 simulated hours per agent that produced genuine windows.
    assert.ok((r.json.simulatedHours as number) >= 50, `${r.json.simulatedHours} simulated hours`);
    assert.ok((r.json.falseTerminatesPer100hSimulated as number) >= 0);
    // Lower thresholds from the same sessions: never fewer false terminates, never more misses;
    // 500 would not have ended the sessions the scorer ended at 12, so it cannot be replayed.
    const sweep = r.json.sweep as { terminateAt: number; falseTerminates: number; missedTakeovers: number; simulatedHours: number }[];
    assert.deepEqual(sweep.map((w) => w.terminateAt), [2, 6, 2]);
    const [low, mid, clipped] = sweep as [(typeof sweep)[0], (typeof sweep)[0], (typeof sweep)[0]];
    // A lower clip counts no window as more evidence than before: never more false terminates.
    assert.ok(clipped.falseTerminates <= low.falseTerminates && clipped.missedTakeovers >= low.missedTakeovers);
    assert.ok(low.falseTerminates >= mid.falseTerminates && mid.falseTerminates >= (r.json.falseTerminates as number));
    assert.ok(low.missedTakeovers <= mid.missedTakeovers && mid.missedTakeovers <= (r.json.missedTakeovers as number));
    assert.ok(low.falseTerminates > 0, 'a threshold of 2 (one bad window) ends some genuine session');
    // The design search reports both kinds of genuine scores, each design either searched or left out.
    const search = r.json.designSearch as Record<'recorded' | 'idealCalibration', { designs: number; notReplayable: number; missedByEveryDesign: string[]; best: { missed: string[] }[] }>;
    for (const part of [search.recorded, search.idealCalibration]) {
      assert.ok(part.designs + part.notReplayable <= 2 && part.best.length === part.designs, JSON.stringify(part));
      assert.ok(part.missedByEveryDesign.every((a) => part.best.every((d) => d.missed.includes(a))));
    }
    assert.match(r.text, /trust designs keeping <= 1 false terminates per 100 h/);
    assert.match(r.plot, /<svg/);
    assert.equal(r.json.keyNetwork, null, 'no population, no keystroke network');
    assert.equal(r.json.actionNetwork, null, 'fewer agents than the mouse action network needs: action-mlp alone');
    // Per modality, the same windows as the pooled figures, split by where they came from.
    const modalities = r.json.modalities as { modality: string; agents: number; genuineWindows: number; impostorWindows: number }[];
    assert.deepEqual(modalities.map((m) => m.modality), ['keystroke', 'mouse']);
    assert.ok(modalities.every((m) => m.genuineWindows > 0), JSON.stringify(modalities));
    assert.ok(modalities.every((m) => m.agents === 3), 'each agent is enrolled and scored on both modalities');
    const genuine = modalities.reduce((n, m) => n + m.genuineWindows, 0);
    assert.ok(genuine > 0 && genuine <= (r.json.genuineActions as number));
    // Without client times every event is measured on arrival, as other Guacamole clients' are.
    const timing = r.json.timing as Record<'genuine' | 'impostor', TimingSummary>;
    assert.equal(r.json.clientTimes, false);
    assert.ok(timing.genuine.events.client === 0 && timing.genuine.events.missing > 0, JSON.stringify(timing.genuine));
  });

  test('takeover with client times: they reach the scorer over gRPC and its session measures genuine and impostor events on them', { skip: skipReason('aalto') || skipReason('sapimouse') }, async () => {
    const keys = (await listMembers('aalto')).filter((m) => m.endsWith('_keystrokes.txt'));
    keys.sort((a, b) => parseInt(a.split('/').pop()!, 10) - parseInt(b.split('/').pop()!, 10));
    const kr = await extractMembers('aalto', keys.slice(0, 2));
    const mr = await extractMembers('sapimouse', (await listMembers('sapimouse')).filter((m) => /^sapimouse\/user[1-2]\/.*\.csv$/.test(m)));
    const r = await evalTakeover({ keys: join(kr, 'aalto-keystrokes'), mouse: join(mr, 'sapimouse'), agents: 2, takeoverAt: 0.3, maxGapMs: 2000, jitterMs: 20, clientTimes: true, progress: silentProgress, settings: { trustTerminateAt: '1000' } });
    assert.equal(r.json.clientTimes, true);
    assert.match(r.text, /jitter 20 ms, client times/);
    const timing = r.json.timing as Record<'genuine' | 'impostor', TimingSummary>;
    for (const kind of ['genuine', 'impostor'] as const) {
      const t = timing[kind];
      assert.equal(t.streams, 2, kind);
      assert.equal(t.events.missing, 0, `${kind}: every event carried its client time`);
      assert.ok(t.events.client > 0.99 * (t.events.client + t.events.outsideEnvelope + t.events.future + t.events.backwards), `${kind}: ${JSON.stringify(t)}`);
      assert.ok(t.hours > 0 && t.envelopeMs.max <= 250, `${kind}: ${JSON.stringify(t)}`);
    }
    // The impostor's part is counted from the takeover on: each agent's whole session, once as the
    // next agent's impostor (nothing is terminated at 1000), so as many hours as the genuine sessions.
    assert.ok(Math.abs(timing.impostor.hours - timing.genuine.hours) <= 0.002, `${timing.impostor.hours} h vs ${timing.genuine.hours} h`);
  });

  test('takeover with a population: the keystroke network is trained on other participants, with the agents\' jitter, and the scorer loads it', { skip: skipReason('aalto') || skipReason('sapimouse') }, async () => {
    const keys = (await listMembers('aalto')).filter((m) => m.endsWith('_keystrokes.txt'));
    keys.sort((a, b) => parseInt(a.split('/').pop()!, 10) - parseInt(b.split('/').pop()!, 10));
    const kr = await extractMembers('aalto', keys.slice(0, 6));
    const mr = await extractMembers('sapimouse', (await listMembers('sapimouse')).filter((m) => /^sapimouse\/user[1-2]\/.*\.csv$/.test(m)));
    const folder = join(kr, 'aalto-keystrokes');
    // Agents from the 3rd and 4th participants: the network trains on the 1st, 2nd, 5th and 6th.
    const run = (jitterMs: number) => evalTakeover({ keys: folder, mouse: join(mr, 'sapimouse'), population: folder, agents: 2, keysOffset: 2, takeoverAt: 0.3, maxGapMs: 2000, jitterMs, progress: silentProgress, keyEmbedding: { steps: 10 } });
    const r = await run(0);
    assert.deepEqual(r.traces.map((t) => t.keyFile).sort(), keys.slice(2, 4).map((k) => k.split('/').pop()));
    assert.equal(r.json.keysOffset, 2);
    assert.match(String(r.json.keyNetwork), /^key-embedding:[0-9a-f]{16}$/);
    assert.match(String(r.json.model), /key-embedding/);
    // Only the population's keystrokes train the network: a different network means they were jittered
    // as the agents' are (a deployment's population comes through the gateway too).
    const jittered = await run(20);
    assert.match(String(jittered.json.keyNetwork), /^key-embedding:[0-9a-f]{16}$/);
    assert.notEqual(jittered.json.keyNetwork, r.json.keyNetwork);
  });
});

test('the Balabit labels are read from the real file when present', { skip: skipReason('balabit') }, async () => {
  const root = await extractMembers('balabit', ['balabit-mouse/labels.csv']);
  const text = readFileSync(join(root, 'balabit-mouse', 'labels.csv'), 'utf8');
  assert.match(text, /^filename,is_illegal\n/);
});

test('a folder that is not the extracted dataset is refused before any work, saying what to pass', () => {
  const cli = join(fileURLToPath(new URL('../../bin/vdiguard.js', import.meta.url)));
  const empty = mkdtempSync(join(tmpdir(), 'vdiguard-not-a-dataset-'));
  const cases: [string[], RegExp][] = [
    [['eval', 'balabit', '--data', join(empty, 'missing')], /--data .*missing: cannot read it \(ENOENT\); pass the balabit-mouse folder with training_files, test_files and labels\.csv/],
    [['eval', 'sapimouse', '--data', empty], /--data .* is not the sapimouse folder with userN folders/],
    [['eval', 'aalto', '--data', empty], /--data .* is not the aalto-keystrokes folder/],
    [['eval', 'takeover', '--keys', empty, '--mouse', empty], /--keys .* is not the aalto-keystrokes folder/],
  ];
  for (const [args, message] of cases) {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /at async|node:internal/, 'a message, not a stack trace');
  }
});
