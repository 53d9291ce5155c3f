/**
 * `vdiguard eval relay`: the same recorded person's input played into the agent's PC by each path
 * of the relay rig (rig/rig.ts), and what the scorer received on each: local input as devices of
 * several report rates deliver it, and relayed input from a remote-control viewer through x11vnc
 * over each link profile and x11vnc setting. One signed-in session per stretch.
 */
import type { InputEvent } from '../proto/gen/vdiguard/scorer/v1/scorer.js';
import { importAaltoFile } from '../scorer/datasets/aalto.js';
import { AuditLog } from '../scorer/store/audit.js';
import { importSapimouseFile } from '../scorer/datasets/mouse-datasets.js';
import { actionsOf, asDevice, stretchOf, type Action, type Rect } from './playback.js';
import { pathShape, type PathShape } from './path-shape.js';
import { startRig, type LinkProfile, type Rig } from './rig.js';
import { VNC_DEFAULTS, type VncSettings } from './x-display.js';
import type { Hands } from './hands.js';
import type { AgentPc } from './agent-pc.js';
import { REMOTE_CONTROL_REASON } from '../scorer/remote-control/detector.js';

/** The x11vnc settings the rig compares, by the name `--vnc` takes. */
export const VNC_SETTINGS: Readonly<Record<string, VncSettings>> = { defaults: VNC_DEFAULTS, fast: { name: 'x11vnc -wait 5 -defer 5', waitMs: 5, deferMs: 5 } };

export interface RelayEvalOptions {
  /** An Aalto <ID>_keystrokes.txt file and a SapiMouse session file: the person whose input is played. */
  readonly keysFile: string;
  readonly mouseFile: string;
  readonly seconds: number;
  /** Report rates (Hz) of the local devices played. */
  readonly deviceHz: readonly number[];
  /** The rate the colluder's own mouse reports at, which the viewer sends on. */
  readonly viewerHz: number;
  readonly links: readonly LinkProfile[];
  readonly vnc: readonly VncSettings[];
  readonly runs: number;
  readonly seed: number;
  readonly progress?: (line: string) => void;
}

export interface CellResult {
  readonly path: 'local' | 'relayed';
  /** Device rate for local input; the link and x11vnc setting for relayed. */
  readonly setting: string;
  readonly run: number;
  readonly shape: PathShape;
  /** How late the player sent actions (ms, 99th percentile): the rig's own timing error. */
  readonly playerLateP99Ms: number;
  /** Verdicts the scorer returned during the stretch, and the actions among them. */
  readonly verdicts: number;
  readonly actions: readonly string[];
  /** Seconds into the stretch when the scorer suspected remote control; null when it did not. */
  readonly suspectedAfterS: number | null;
  /** Seconds into the stretch of the first terminate verdict, and its reason; null when none came. */
  readonly endedAfterS: number | null;
  readonly endReason: string | null;
  /** Challenge verdicts during the stretch (answered with the right code when the stretch answers them). */
  readonly challenges: number;
  /** The session's decision log (action: reason), as admins read it. */
  readonly decisions: readonly string[];
  /** What the agent page said when the session ended; null when it did not end. */
  readonly shownToAgent: string | null;
}

/**
 * Answers every MFA challenge the page shows with the agent's right code, as the complicit agent
 * beside the colluder would, until stopped.
 */
function answerEveryChallenge(pc: AgentPc, code: () => Promise<string>): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      if (await pc.page.isVisible('#challenge-form').catch(() => false)) {
        await pc.page.fill('#challenge-code', await code());
        await pc.page.click('#challenge-form button');
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })().catch(() => undefined);
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

function p99(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.floor(0.99 * s.length))] as number) : Number.NaN;
}

/** A stretch's path: local as a device of `hz`, or relayed by a viewer sending at `hz` over `link` to x11vnc run with `vnc`. */
export interface Cell {
  readonly path: 'local' | 'relayed';
  readonly setting: string;
  readonly hz: number;
  readonly link?: LinkProfile;
  readonly vnc?: VncSettings;
}

function cellsOf(o: RelayEvalOptions): Cell[] {
  const cells: Cell[] = o.deviceHz.map((hz) => ({ path: 'local', setting: `device ${hz} Hz`, hz }));
  for (const vnc of o.vnc) for (const link of o.links) cells.push({ path: 'relayed', setting: `${link.name}, ${vnc.name}`, hz: o.viewerHz, link, vnc });
  return cells;
}

/**
 * One stretch in a fresh session of `agentId` (an agent the rig has): returns what the scorer
 * received and decided. `keys` and `mouse` are played side by side, the pointer as the cell's device.
 */
export async function playStretch(rig: Rig, cell: Cell, agentId: string, keys: readonly Action[], mouse: readonly Action[], seed: number, answerChallenges = false): Promise<Omit<CellResult, 'run'>> {
  const pc = await rig.signIn(agentId);
  const local = await rig.local();
  let relay: Hands | undefined;
  let sessionId: string | undefined;
  try {
    const r = pc.desktopRect;
    local.pointer(r.x + 200, r.y + 150, 0);
    await new Promise((res) => setTimeout(res, 500));
    sessionId = await pc.page.evaluate(() => (window as unknown as { vdiguard: { session: string } }).vdiguard.session);
    const from = rig.scorerViews.get(sessionId)?.events.length ?? 0;
    const verdictsFrom = rig.scorerViews.get(sessionId)?.verdicts.length ?? 0;
    let hands: Hands = local;
    if (cell.link && cell.vnc) {
      relay = await rig.relayed(cell.link, cell.vnc, seed);
      hands = relay;
    }
    const id = sessionId;
    // A challenge holds the input: the stretch goes on through it only when it is answered.
    const going = new Set(answerChallenges ? ['active', 'challenged'] : ['active']);
    const ended = (): boolean => !going.has(rig.system.gateway.sessions.get(id)?.status ?? 'ended');
    const answering = answerChallenges ? answerEveryChallenge(pc, () => rig.nextCode(agentId)) : undefined;
    // The person at the keyboard waits while the page asks for a code: the keys would go into its form.
    const challenged = (): boolean => rig.system.gateway.sessions.get(id)?.status === 'challenged';
    const started = performance.now();
    let late: number[];
    try {
      late = await hands.play(keys, asDevice(mouse, cell.hz), ended, challenged).catch((err: Error) => {
        throw new Error(`${cell.setting}: ${err.message}`);
      });
    } finally {
      await answering?.stop();
    }
    await new Promise((res) => setTimeout(res, 1000));
    const shownToAgent = ended() ? await pc.page.textContent('#overlay-message') : null;
    const decisions = (await new AuditLog(rig.db).decisions({ sessionId })).map((d) => `${d.action}: ${d.reason}`);
    const view = rig.scorerViews.get(sessionId);
    const events: InputEvent[] = view?.events.slice(from) ?? [];
    const received = view?.verdicts.slice(verdictsFrom) ?? [];
    const verdicts = received.map((r) => r.verdict);
    const suspected = received.find((r) => r.verdict.reason.startsWith(REMOTE_CONTROL_REASON));
    const terminated = received.find((r) => r.verdict.action === 'terminate');
    return {
      path: cell.path,
      setting: cell.setting,
      shape: pathShape(events),
      playerLateP99Ms: p99(late),
      verdicts: verdicts.length,
      actions: verdicts.filter((v) => v.action !== 'none').map((v) => `${v.action}: ${v.reason}`),
      suspectedAfterS: suspected ? (suspected.at - started) / 1000 : null,
      endedAfterS: terminated ? (terminated.at - started) / 1000 : null,
      endReason: terminated ? terminated.verdict.reason : null,
      challenges: verdicts.filter((v) => v.action === 'challenge').length,
      decisions,
      shownToAgent,
    };
  } finally {
    // The agent's next sign-in would resume this session (trust belongs to the agent): each stretch is a session of its own.
    if (sessionId) rig.system.gateway.sessions.get(sessionId)?.closed('the rig ended the stretch');
    await relay?.close();
    await local.close();
    await pc.close();
  }
}

export async function evalRelay(o: RelayEvalOptions): Promise<{ cells: CellResult[]; text: string; json: Record<string, unknown> }> {
  const keyEvents = (await importAaltoFile(o.keysFile)).events;
  const mouseEvents = (await importSapimouseFile(o.mouseFile)).events;
  const rig = await startRig();
  const cells: CellResult[] = [];
  try {
    const into = await desktopArea(rig);
    let n = 0;
    for (let run = 0; run < o.runs; run++) {
      for (const cell of cellsOf(o)) {
        const agentId = `relay-${n++}`;
        const ms = o.seconds * 1000;
        const keys = stretchOf(actionsOf(keyEvents, into), run * ms, ms);
        const mouse = stretchOf(actionsOf(mouseEvents, into), run * ms, ms);
        await rig.addAgent(agentId);
        const result = { ...(await playStretch(rig, cell, agentId, keys, mouse, o.seed + n)), run };
        cells.push(result);
        o.progress?.(`${result.path} ${result.setting}, run ${run}: ${result.suspectedAfterS === null ? 'not suspected' : `suspected after ${result.suspectedAfterS.toFixed(1)} s`}; ${describeShape(result.shape)}`);
      }
    }
  } finally {
    await rig.close();
  }
  return { cells, text: tableOf(cells, o), json: { keysFile: o.keysFile, mouseFile: o.mouseFile, seconds: o.seconds, viewerHz: o.viewerHz, cells } };
}

/** Where recorded pointer paths land: the page's desktop view less a margin (every page lays out the same). */
export async function desktopArea(rig: Rig): Promise<Rect> {
  await rig.addAgent('relay-probe');
  const pc = await rig.signIn('relay-probe');
  const r = pc.desktopRect;
  await pc.close();
  return { x: r.x + 20, y: r.y + 20, width: r.width - 40, height: r.height - 40 };
}

export function describeShape(s: PathShape): string {
  return (
    `${s.keys} keys, ${s.pointer} pointer points at ${s.pointerHz.toFixed(0)} Hz (intervals ${s.pointerIntervalMs.map((x) => x.toFixed(0)).join('/')} ms), ` +
    `${(s.pointerRegular * 100).toFixed(0)}% regular, key bursts ${(s.keyBursts * 100).toFixed(1)}%, times off the path by ${s.disagreementMs.toFixed(1)} ms (${s.disagreements} points), ` +
    `${(s.offRhythm * 100).toFixed(0)}% off the rhythm (${s.rhythmWindows} windows)`
  );
}

function tableOf(cells: readonly CellResult[], o: RelayEvalOptions): string {
  const lines = [`relay rig: ${o.seconds} s stretches of ${o.keysFile.split('/').pop()} and ${o.mouseFile.split('/').pop()}, viewer at ${o.viewerHz} Hz, ${o.runs} run(s)`];
  for (const c of cells) {
    const suspected = c.suspectedAfterS === null ? 'not suspected' : `remote control suspected after ${c.suspectedAfterS.toFixed(1)} s`;
    lines.push(`  ${c.path.padEnd(8)} ${c.setting.padEnd(36)} ${suspected}; ${describeShape(c.shape)}; player late p99 ${c.playerLateP99Ms.toFixed(1)} ms`);
  }
  return lines.join('\n');
}

