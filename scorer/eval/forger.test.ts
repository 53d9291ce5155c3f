import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { extractMembers, listMembers, skipReason } from '../datasets/archive.js';
import { importAaltoFile } from '../datasets/aalto.js';
import { importSapimouseFile } from '../datasets/mouse-datasets.js';
import { resolveEventTimes } from '../timing/client-times.js';
import { forgeClientTimes, forgeOverLink, learnForgerProfile, type ForgerProfile } from './forger.js';
import { jitterEvents } from './jitter.js';
import { evalTakeover } from './takeover.js';
import { evalRewriting } from './rewriting.js';
import { evalSapimouse } from './mouse-protocols.js';
import { evalRows } from './command.js';
import { quantile, silentProgress } from './summary.js';

/** Dwells and in-flow flights (ms) of a stream, on the times `at` gives. */
function keyIntervals(events: readonly InputEvent[], at: (e: InputEvent) => number): { dwell: number[]; flight: number[] } {
  const held = new Map<number, number>();
  const dwell: number[] = [];
  const flight: number[] = [];
  let lastPress = Number.NaN;
  for (const e of events) {
    if (e.kind?.$case !== 'key') continue;
    const { keysym, pressed } = e.kind.value;
    const t = at(e);
    if (pressed && !held.has(keysym)) {
      held.set(keysym, t);
      if (t - lastPress <= 1500) flight.push(t - lastPress);
      lastPress = t;
    } else if (!pressed && held.has(keysym)) {
      dwell.push(t - (held.get(keysym) as number));
      held.delete(keysym);
    }
  }
  return { dwell, flight };
}

/** Speeds (px/ms) of pointer moves without a button change, on the times `at` gives. */
function stepSpeeds(events: readonly InputEvent[], at: (e: InputEvent) => number): number[] {
  const out: number[] = [];
  let prev: { t: number; x: number; y: number; mask: number } | undefined;
  for (const e of events) {
    if (e.kind?.$case !== 'mouse') continue;
    const { x, y, buttonMask } = e.kind.value;
    const t = at(e);
    if (prev && prev.mask === buttonMask && t > prev.t && t - prev.t <= 500 && (x !== prev.x || y !== prev.y)) out.push(Math.hypot(x - prev.x, y - prev.y) / (t - prev.t));
    prev = { t, x, y, mask: buttonMask };
  }
  return out;
}

const truth = (e: InputEvent): number => e.timeMs;
const claimed = (e: InputEvent): number => e.clientTimeMs as number;
const median = (xs: readonly number[]): number => quantile([...xs], 0.5);

/** Every claim within [true - budget, true], claims non-decreasing, nothing else changed. */
function assertInBand(original: readonly InputEvent[], forged: readonly InputEvent[], budgetMs: number): void {
  assert.equal(forged.length, original.length);
  let last = Number.NEGATIVE_INFINITY;
  forged.forEach((e, i) => {
    const o = original[i] as InputEvent;
    assert.deepEqual({ ...e, clientTimeMs: undefined }, { ...o, clientTimeMs: undefined });
    const c = e.clientTimeMs as number;
    assert.ok(c <= o.timeMs && c >= o.timeMs - budgetMs - 1e-6, `claim ${c} of event ${i} at ${o.timeMs} is outside the band of ${budgetMs} ms`);
    assert.ok(c >= last, `claim ${c} of event ${i} is earlier than the previous one (${last})`);
    last = c;
  });
}

describe('the forged-timing attack on real typing and pointing', () => {
  const keys: { agent: InputEvent[]; impostor: InputEvent[] } = { agent: [], impostor: [] };
  const mouse: { agent: InputEvent[]; impostor: InputEvent[] } = { agent: [], impostor: [] };
  let keyProfile: ForgerProfile;
  let mouseProfile: ForgerProfile;

  before(async () => {
    if (skipReason('aalto') || skipReason('sapimouse')) return;
    const files = (await listMembers('aalto')).filter((m) => m.endsWith('_keystrokes.txt')).slice(0, 2);
    const aalto = await extractMembers('aalto', files);
    keys.agent = (await importAaltoFile(join(aalto, files[0] as string))).events;
    keys.impostor = (await importAaltoFile(join(aalto, files[1] as string))).events;
    const sessions = (await listMembers('sapimouse')).filter((m) => /^sapimouse\/user[12]\/.*3min\.csv$/.test(m)).sort();
    const sapi = await extractMembers('sapimouse', sessions);
    mouse.agent = (await importSapimouseFile(join(sapi, sessions[0] as string))).events;
    mouse.impostor = (await importSapimouseFile(join(sapi, sessions[1] as string))).events;
    keyProfile = learnForgerProfile(keys.agent);
    mouseProfile = learnForgerProfile(mouse.agent);
  });

  const skip = skipReason('aalto') || skipReason('sapimouse');

  test('claims stay in the band below the true times, never decrease, and change nothing else', { skip }, () => {
    for (const budgetMs of [0, 40, 150]) {
      assertInBand(keys.impostor, forgeClientTimes(keys.impostor, keyProfile, { budgetMs }), budgetMs);
      assertInBand(mouse.impostor, forgeClientTimes(mouse.impostor, mouseProfile, { budgetMs }), budgetMs);
    }
    assert.deepEqual(forgeClientTimes(keys.impostor, keyProfile, { budgetMs: 0 }).map(claimed), keys.impostor.map(truth));
    assert.throws(() => forgeClientTimes(keys.impostor, keyProfile, { budgetMs: -1 }), /budget and ramp must be >= 0/);
  });

  test('each claim depends only on the events up to it, as a real client must', { skip }, () => {
    const whole = forgeClientTimes(keys.impostor, keyProfile, { budgetMs: 150 });
    const half = forgeClientTimes(keys.impostor.slice(0, 400), keyProfile, { budgetMs: 150 });
    assert.deepEqual(half, whole.slice(0, 400));
  });

  test("the forged dwells, flights and pointer speeds move toward the agent's", { skip }, () => {
    const agent = keyIntervals(keys.agent, truth);
    const own = keyIntervals(keys.impostor, truth);
    const forged = keyIntervals(forgeClientTimes(keys.impostor, keyProfile, { budgetMs: 150 }), claimed);
    // A dwell is one interval the band can move whole; flights and pointer steps add up to the
    // person's pace, which the band keeps (this impostor types at 285 ms a flight, the agent at 115;
    // it points at 0.17 px/ms, the agent at 0.44): they only move closer.
    for (const [k, share] of [['dwell', 0.5], ['flight', 1]] as const) {
      const before = Math.abs(median(own[k]) - median(agent[k]));
      const after = Math.abs(median(forged[k]) - median(agent[k]));
      assert.ok(before > 10, `the two participants' ${k}s differ (${median(own[k])} vs ${median(agent[k])} ms)`);
      assert.ok(after < before * share, `forged ${k} median ${median(forged[k])} ms, agent ${median(agent[k])}, impostor ${median(own[k])}`);
    }
    const speed = { agent: median(stepSpeeds(mouse.agent, truth)), own: median(stepSpeeds(mouse.impostor, truth)) };
    const forgedSpeed = median(stepSpeeds(forgeClientTimes(mouse.impostor, mouseProfile, { budgetMs: 150 }), claimed));
    assert.ok(Math.abs(forgedSpeed - speed.agent) < Math.abs(speed.own - speed.agent), `forged speed ${forgedSpeed}, agent ${speed.agent}, impostor ${speed.own} px/ms`);
  });

  test('through the rule at 20 ms of jitter, a budget under the cap is used as claimed; one past it falls back to arrival', { skip }, () => {
    const through = (budgetMs: number): { inconsistent: number; events: number; backwards: number } => {
      const r = resolveEventTimes(jitterEvents(forgeClientTimes(keys.impostor, keyProfile, { budgetMs }), 20, 7));
      return { inconsistent: r.report.future + r.report.outsideEnvelope + r.report.backwards, events: keys.impostor.length, backwards: r.report.backwards };
    };
    const within = through(100);
    assert.equal(within.backwards, 0);
    assert.ok(within.inconsistent <= 0.01 * within.events, `${within.inconsistent} of ${within.events} inconsistent at 100 ms`);
    const beyond = through(400);
    assert.ok(beyond.inconsistent >= 0.1 * beyond.events, `${beyond.inconsistent} of ${beyond.events} inconsistent at 400 ms`);
  });

  test("over a link, the page's true claims are replaced by forged ones and arrival stays as the link made it", { skip }, () => {
    const sent = jitterEvents(keys.impostor, 20, 3).map((e, i) => ({ ...e, clientTimeMs: (keys.impostor[i] as InputEvent).timeMs }));
    const forged = forgeOverLink(sent, keyProfile, { budgetMs: 120 });
    assert.deepEqual(forged.map(truth), sent.map(truth));
    assert.deepEqual(forged.map(claimed), forgeClientTimes(keys.impostor, keyProfile, { budgetMs: 120 }).map(claimed));
    assert.throws(() => forgeOverLink(keys.impostor, keyProfile), /event 0 carries no client time.*--client-times/);
  });
});

test('a forged takeover needs client times to forge, and says so before any work', async () => {
  await assert.rejects(
    evalTakeover({ keys: '/nonexistent', mouse: '/nonexistent', takeoverAt: 0.3, maxGapMs: 2000, jitterMs: 20, progress: silentProgress, forge: { budgetMs: 100 } }),
    /run the takeover with client times \(--client-times\)/,
  );
});

test("sapimouse with forging clients: impostors' slices, forged toward each user, score closer to genuine; the rule's view of them is reported", { skip: skipReason('sapimouse') }, async () => {
  const members = (await listMembers('sapimouse')).filter((m) => /^sapimouse\/user[1-4]\/.*\.csv$/.test(m));
  const data = join(await extractMembers('sapimouse', members), 'sapimouse');
  const common = { data, rows: evalRows().slice(0, 1), jitterMs: 20, clientTimes: true, progress: silentProgress, users: 4, sliceSeconds: 15 };
  const honest = await evalSapimouse(common);
  const forged = await evalSapimouse({ ...common, forge: { budgetMs: 100 } });
  const [h, f] = [honest.rows[0]!, forged.rows[0]!];
  assert.deepEqual(f.genuine, h.genuine, 'genuine slices are not forged');
  assert.equal(f.impostor.length, h.impostor.length);
  assert.ok(quantile(f.impostor, 0.5) < quantile(h.impostor, 0.5), `forged impostor median ${quantile(f.impostor, 0.5)}, honest ${quantile(h.impostor, 0.5)}`);
  assert.equal(forged.timing.forged?.streams, 12);
  assert.equal(honest.timing.forged, undefined);
  await assert.rejects(evalSapimouse({ ...common, clientTimes: false, forge: {} }), /run sapimouse with client times/);
});

test('a forged takeover through the gRPC scorer: the genuine sessions are untouched, the impostor parts claim forged times the rule records', { skip: skipReason('aalto') || skipReason('sapimouse') }, async () => {
  const keys = (await listMembers('aalto')).filter((m) => m.endsWith('_keystrokes.txt'));
  keys.sort((a, b) => parseInt(a.split('/').pop()!, 10) - parseInt(b.split('/').pop()!, 10));
  const kr = await extractMembers('aalto', keys.slice(0, 2));
  const mr = await extractMembers('sapimouse', (await listMembers('sapimouse')).filter((m) => /^sapimouse\/user[1-2]\/.*\.csv$/.test(m)));
  const run = (forge?: { budgetMs: number; rampMs: number }) =>
    evalTakeover({ keys: join(kr, 'aalto-keystrokes'), mouse: join(mr, 'sapimouse'), agents: 2, takeoverAt: 0.3, maxGapMs: 2000, jitterMs: 20, clientTimes: true, progress: silentProgress, settings: { trustTerminateAt: '1000' }, ...(forge ? { forge } : {}) });
  const honest = await run();
  const forged = await run({ budgetMs: 200, rampMs: 0 });
  assert.equal((forged.json.forge as { budgetMs: number }).budgetMs, 200);
  assert.equal(honest.json.forge, null);
  assert.match(forged.text, /impostors forging their client times \(budget 200 ms\)/);
  type Timing = Record<'genuine' | 'impostor', { events: { outsideEnvelope: number }; envelopeMs: { median: number } }>;
  const [h, f] = [honest.json.timing as Timing, forged.json.timing as Timing];
  assert.deepEqual(f.genuine, h.genuine);
  assert.deepEqual(forged.traces.map((t) => t.genuine), honest.traces.map((t) => t.genuine));
  // A band wider than the envelope the agent's page measured: the rule falls back to arrival and says so.
  assert.ok(f.impostor.events.outsideEnvelope > 10 * Math.max(1, h.impostor.events.outsideEnvelope), `${f.impostor.events.outsideEnvelope} vs ${h.impostor.events.outsideEnvelope} outside`);
  assert.ok(f.impostor.envelopeMs.median > h.impostor.envelopeMs.median);
});

test("the test for rewritten times on the takeover's agents: honest pages are not taken for rewriting ones, forging impostors are found", { skip: skipReason('aalto') || skipReason('sapimouse') }, async () => {
  const keys = (await listMembers('aalto')).filter((m) => m.endsWith('_keystrokes.txt'));
  keys.sort((a, b) => parseInt(a.split('/').pop()!, 10) - parseInt(b.split('/').pop()!, 10));
  const kr = await extractMembers('aalto', keys.slice(0, 8));
  const mr = await extractMembers('sapimouse', (await listMembers('sapimouse')).filter((m) => /^sapimouse\/user[1-8]\/.*\.csv$/.test(m)));
  const o = { keys: join(kr, 'aalto-keystrokes'), mouse: join(mr, 'sapimouse'), agents: 8, takeoverAt: 0.3, maxGapMs: 2000, jitterMs: 5, clientTimes: true, draws: 1, budgets: [75], progress: silentProgress };
  const r = await evalRewriting(o);
  const honest = r.json.honest as { streams: number; findings: number; hours: number };
  const [forged] = r.json.forged as { takeovers: number; found: number; medianSeconds: number | null }[];
  assert.equal(honest.streams, 16, 'each agent enrolment and session');
  assert.ok(honest.hours > 0.3, `${honest.hours} h of honest activity`);
  assert.equal(honest.findings, 0);
  assert.equal(forged!.takeovers, 8);
  assert.ok(forged!.found >= 2, `forgers found in ${forged!.found} of 8 takeovers`);
  assert.ok(forged!.medianSeconds! > 0);
  assert.match(r.text, /forging, 75 ms band: found in \d of 8 takeovers/);
  await assert.rejects(evalRewriting({ ...o, clientTimes: false }), /run with --client-times/);
});
