/**
 * `vdiguard eval relay-takeover`: what the production scorer decides on the relay rig when the
 * agent has a mature profile (issue 20, build 2). A deployment of synthetic agents (the takeover
 * protocol's: an Aalto participant's keys with a SapiMouse user's pointer, scorer/eval/takeover.ts)
 * enrols and is trained as `vdiguard train` trains one; then each target agent signs in on the rig's
 * PC, once per stretch, and the stretch plays:
 * - the agent's own input, locally: the genuine session;
 * - the next agent's input, locally: another person at the agent's keyboard;
 * - the agent's own input relayed through x11vnc over each link: the agent working through a
 *   remote-control tool, itself a breach of BPO policy (the tool is what the product reports);
 * - the next agent's input relayed over each link: the seeds' takeover, a colluder driving the
 *   agent's PC from home.
 * Each stretch reports the first terminate, how long into the stretch, and whether the
 * remote-control test or the profile's models made it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../lib/db/db.js';
import { silentLogger } from '../lib/log.js';
import { loadScorerSettings } from '../scorer/config.js';
import { trainOn } from '../scorer/commands/train.js';
import { buildAgents, protocolMaturity, type Agent } from '../scorer/eval/takeover.js';
import { initTf } from '../scorer/models/tf/runtime.js';
import { ScorerEngine } from '../scorer/service/engine.js';
import { engineOptions } from '../scorer/service/server.js';
import { REMOTE_CONTROL_REASON } from '../scorer/remote-control/detector.js';
import { actionsOf, stretchOf, type Action, type Rect } from './playback.js';
import { desktopArea, playStretch, type Cell, type CellResult } from './relay-eval.js';
import { startRig, type LinkProfile } from './rig.js';
import type { VncSettings } from './x-display.js';

export interface RelayTakeoverOptions {
  /** The extracted aalto-keystrokes and sapimouse folders. */
  readonly keys: string;
  readonly mouse: string;
  /** Agents enrolled in the deployment: the population the networks train on (20 or more trains both). */
  readonly agents: number;
  /** Agents whose sessions the rig plays, the first of the enrolled. */
  readonly targets: number;
  readonly seconds: number;
  /** The agent's own mouse, played locally. */
  readonly deviceHz: number;
  /** The colluder's mouse, which the viewer sends on. */
  readonly viewerHz: number;
  readonly links: readonly LinkProfile[];
  readonly vnc: VncSettings;
  readonly seed: number;
  readonly progress?: (line: string) => void;
}

/** Whose input a stretch plays. */
export type Hands = 'agent' | 'other person';

/** Who ended a stretch's session: the remote-control test or the profile's models. */
export type EndedBy = 'remote control' | 'profile';

export interface TakeoverStretch {
  readonly agent: string;
  readonly hands: Hands;
  /** Who made the stretch's first terminate (its time is the result's `endedAfterS`); null when none came. */
  readonly endedBy: EndedBy | null;
  readonly result: CellResult;
}

/** The stretches of one target agent, in the order they are played. */
export function stretchesOf(o: Pick<RelayTakeoverOptions, 'deviceHz' | 'viewerHz' | 'links' | 'vnc'>): { hands: Hands; cell: Cell }[] {
  const local: Cell = { path: 'local', setting: `device ${o.deviceHz} Hz`, hz: o.deviceHz };
  const relayed = o.links.map((link): Cell => ({ path: 'relayed', setting: `${link.name}, ${o.vnc.name}`, hz: o.viewerHz, link, vnc: o.vnc }));
  return (['agent', 'other person'] as const).flatMap((hands) => [local, ...relayed].map((cell) => ({ hands, cell })));
}

/** Who made a terminate verdict, by its reason. */
export function endedByOf(reason: string): EndedBy {
  return reason.startsWith(REMOTE_CONTROL_REASON) ? 'remote control' : 'profile';
}

/** A synthetic agent's session input as the player takes it: keys and pointer apart, the first `ms`. */
function sessionInput(a: Agent, into: Rect, ms: number): { keys: Action[]; mouse: Action[] } {
  const actions = stretchOf(actionsOf(a.session, into), 0, ms);
  return { keys: actions.filter((x) => 'key' in x), mouse: actions.filter((x) => !('key' in x)) };
}

export async function evalRelayTakeover(o: RelayTakeoverOptions): Promise<{ stretches: TakeoverStretch[]; text: string; json: Record<string, unknown> }> {
  const say = o.progress ?? (() => undefined);
  const agents = await buildAgents({ keys: o.keys, mouse: o.mouse, agents: o.agents, maxGapMs: 2000, jitterMs: 0, clientTimes: true });
  if (agents.length < o.targets + 1) throw new Error(`${agents.length} agents could be built from the datasets; ${o.targets} targets need ${o.targets + 1}`);
  const maturity = protocolMaturity(agents.map((a) => a.enrol));
  const dataDir = mkdtempSync(join(tmpdir(), 'vdiguard-relay-takeover-'));
  const db = await openDb({});
  const stretches: TakeoverStretch[] = [];
  try {
    const settings = loadScorerSettings({}, { ...maturity, dataDir });
    const log = silentLogger();
    await initTf(settings.tfBackend);
    const enrolling = new ScorerEngine(engineOptions(settings, db, log));
    for (const a of agents) await enrolling.enroll(a.id, a.enrol);
    await enrolling.shutdown(30_000);
    say(`relay-takeover: ${agents.length} agents enrolled; training the population networks and refitting, as \`vdiguard train\` does`);
    const trained = await trainOn(db, settings, log);
    say(`relay-takeover: keystroke network ${trained.keyEmbedding ? `v${trained.keyEmbedding.version}` : 'none (fallback templates)'}, mouse action network ${trained.actionNetwork ? `v${trained.actionNetwork.version}` : 'none'}; ${trained.agents} profiles refitted`);
    const rig = await startRig({ db, scorer: maturity });
    try {
      const into = await desktopArea(rig);
      const ms = o.seconds * 1000;
      let n = 0;
      for (const agent of agents.slice(0, o.targets)) {
        const other = agents[agents.indexOf(agent) + 1] as Agent;
        await rig.addAgent(agent.id);
        for (const { hands, cell } of stretchesOf(o)) {
          // As an admin would after reviewing a terminate, so that the agent can sign in for the next stretch.
          await rig.system.gateway.login.unlock(agent.id);
          const input = sessionInput(hands === 'agent' ? agent : other, into, ms);
          const result = { ...(await playStretch(rig, cell, agent.id, input.keys, input.mouse, o.seed + n++, true)), run: 0 };
          const stretch: TakeoverStretch = { agent: agent.id, hands, endedBy: result.endReason === null ? null : endedByOf(result.endReason), result };
          stretches.push(stretch);
          say(lineOf(stretch));
        }
      }
    } finally {
      await rig.close();
    }
  } finally {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const text = [`relay rig with enrolled agents: ${o.agents} enrolled, ${o.targets} signed in, ${o.seconds} s stretches, the other person is the next agent`, ...stretches.map((s) => `  ${lineOf(s)}`)].join('\n');
  return { stretches, text, json: { agents: o.agents, targets: o.targets, seconds: o.seconds, maturity, stretches } };
}

function lineOf(s: TakeoverStretch): string {
  const r = s.result;
  const ended = r.endedAfterS === null ? 'not ended' : `ended after ${r.endedAfterS.toFixed(1)} s by the ${s.endedBy === 'remote control' ? 'remote-control test' : "profile's models"}`;
  return `${s.agent} ${s.hands.padEnd(12)} ${r.path.padEnd(8)} ${r.setting.padEnd(32)} ${ended}; ${r.verdicts} verdicts, ${r.challenges} challenges, times off the path ${r.shape.disagreementMs.toFixed(1)} ms`;
}
