/**
 * The test for rewritten client times (scorer/timing/lag-coupling.ts), measured on the takeover's
 * synthetic agents without a scorer: how often the production rule takes an honest page for a
 * rewriting one (per hour of honest activity, over several draws of the link's delays), and how
 * soon it finds impostors whose clients forge their times (forger.ts) toward the agent they take
 * over. Only the rule runs here: what a finding does to the decisions is the takeover's
 * `--forge` figure.
 */
import type { InputEvent } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { clientTimePolicyOf, loadScorerSettings } from '../config.js';
import { eventClock } from '../session/session.js';
import type { Coupling } from '../timing/lag-coupling.js';
import { activityMs, linkTitle, scorerSettingsOf } from './jitter.js';
import { quantile, round, type Progress } from './summary.js';
import { buildAgents, takeoverOf, type AgentSource } from './takeover.js';
import { DEFAULT_FORGER_OPTIONS } from './forger.js';

export interface RewritingOptions extends AgentSource {
  readonly takeoverAt: number;
  /** Draws of the link's delays for the honest sessions (each agent's enrolment and session). */
  readonly draws: number;
  /** The forgers' budgets (ms) to measure. */
  readonly budgets: readonly number[];
  readonly progress: Progress;
}

export interface RewritingResult {
  readonly text: string;
  readonly json: Record<string, unknown>;
}

/** When the rule first found a stream's times rewritten (ms after `fromMs`), and what it found. */
function firstFinding(events: readonly InputEvent[], link: AgentSource, fromMs: number): { atMs: number; found: Coupling } | undefined {
  const policy = clientTimePolicyOf(loadScorerSettings({}, scorerSettingsOf(link)));
  const clock = eventClock({ clientTimes: policy });
  for (const e of events) {
    clock.next(e);
    const found = clock.rewritten;
    if (found) return { atMs: e.timeMs - fromMs, found };
  }
  return undefined;
}

export async function evalRewriting(o: RewritingOptions): Promise<RewritingResult> {
  if (o.clientTimes !== true) throw new RangeError('the test for rewritten times judges client times: run with --client-times');
  let honestMs = 0;
  let honestStreams = 0;
  const honestFindings: Coupling[] = [];
  for (let draw = 0; draw < o.draws; draw++) {
    const agents = await buildAgents(o, 7919 * draw);
    for (const a of agents) {
      for (const s of [a.enrol, a.session]) {
        honestStreams++;
        honestMs += activityMs(s);
        const f = firstFinding(s, o, 0);
        if (f) honestFindings.push(f.found);
      }
    }
    o.progress(`rewriting: honest draw ${draw + 1} of ${o.draws}: ${honestFindings.length} findings so far`);
  }
  const agents = await buildAgents(o);
  const forged = o.budgets.map((budgetMs) => {
    const findings = agents.flatMap((a, i) => {
      const { t0, events } = takeoverOf(a, agents[(i + 1) % agents.length] as (typeof agents)[number], { takeoverAt: o.takeoverAt, forge: { budgetMs } });
      return firstFinding(events, o, t0) ?? [];
    });
    const seconds = findings.map((f) => f.atMs / 1000);
    const at = (q: number): number | null => (seconds.length ? round(quantile(seconds, q), 1) : null);
    return { budgetMs, takeovers: agents.length, found: findings.length, medianSeconds: at(0.5), p90Seconds: at(0.9), kinds: countKinds(findings.map((f) => f.found)) };
  });
  const hours = honestMs / 3_600_000;
  const honest = { streams: honestStreams, hours: round(hours, 2), findings: honestFindings.length, perHour: round(honestFindings.length / hours, 3), kinds: countKinds(honestFindings) };
  const lines = [
    `rewriting: ${agents.length} agents, ${linkTitle(o)}, forgers ramping over ${DEFAULT_FORGER_OPTIONS.rampMs / 1000} s`,
    `  honest pages: ${honest.findings} found rewriting in ${honest.streams} streams, ${honest.hours} h (${honest.perHour} per hour)`,
    ...forged.map((f) => `  forging, ${f.budgetMs} ms band: found in ${f.found} of ${f.takeovers} takeovers, median ${f.medianSeconds ?? '-'} s after the takeover, p90 ${f.p90Seconds ?? '-'} s (${Object.entries(f.kinds).map(([k, n]) => `${n} on ${k}`).join(', ') || 'none'})`),
  ];
  return { text: lines.join('\n'), json: { protocol: 'rewriting', agents: agents.length, jitterMs: o.jitterMs, clientTimes: true, draws: o.draws, honest, forged } };
}

function countKinds(found: readonly Coupling[]): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const f of found) kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
  return kinds;
}
