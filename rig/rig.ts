/**
 * The relay rig put together (issue 20): gateway and scorer in one process on a fresh embedded
 * store, the built-in bridge to the xrdp dev desktop, and the agent's PC (rig/x-display.ts) with
 * chromium signed in to the agent page. Input reaches the page two ways:
 * - local: XTest on the display (rig/xtest.ts);
 * - relayed: an RFB client (rig/rfb-client.ts) through a jittering link (lib/testing/jitter-proxy.ts)
 *   to x11vnc on the display.
 * Every event batch the scorer applies is also kept here, timings only, for the rig's figures.
 */
import { randomBytes } from 'node:crypto';
import { openDb, type Db } from '../lib/db/db.js';
import { silentLogger } from '../lib/log.js';
import type { ChunkDelay } from '../lib/testing/jitter-proxy.js';
import type { InputEvent } from '../proto/gen/vdiguard/scorer/v1/scorer.js';
import { loadScorerSettings, type SCORER_SETTINGS } from '../scorer/config.js';
import type { SessionVerdict } from '../scorer/session/session.js';
import { hashPassword } from '../gateway/auth/password.js';
import { newTotpSecret, totpCode } from '../gateway/auth/totp.js';
import { startSystem, type System } from '../gateway/commands/gateway.js';
import { loadGatewaySettings } from '../gateway/config.js';
import { devDesktopFor } from '../gateway/testing/desktop.js';
import { freePort, startBridge, type Engine } from '../gateway/testing/guacd.js';
import { startAgentPc, type AgentPc } from './agent-pc.js';
import { startHands, type Hands } from './hands.js';
import { startDisplay, startVnc, type Vnc, type VncSettings, type XDisplay } from './x-display.js';

/** A link between the colluder's viewer and the agent's PC. */
export interface LinkProfile {
  readonly name: string;
  /** Each way: the viewer's input towards the PC, and the screen back. */
  readonly delay: ChunkDelay;
}

export const LINKS: readonly LinkProfile[] = [
  { name: 'lan', delay: { meanMs: 1, sdMs: 0.3 } },
  { name: 'broadband', delay: { meanMs: 20, sdMs: 5 } },
  { name: 'mobile', delay: { meanMs: 60, sdMs: 20 } },
];

/** The desktop account the rig's agent works in (deploy/dev-desktop.sh makes vdiguard-test1..24). */
export const RIG_DESKTOP_USER = process.env.VDIGUARD_RIG_DESKTOP_USER ?? 'vdiguard-test21';

const PASSWORD = 'relay-rig-password-1';

/** What the scorer applied for one session, batch by batch, with the verdicts and when (performance.now()) it returned each. */
export interface ScorerView {
  readonly events: InputEvent[];
  readonly verdicts: { readonly verdict: SessionVerdict; readonly at: number }[];
}

export interface Rig {
  readonly display: XDisplay;
  readonly system: System;
  /** The store the gateway and scorer share: the decision log. */
  readonly db: Db;
  /** The scorer's input per session id. */
  readonly scorerViews: Map<string, ScorerView>;
  /** Signs a new agent in on a fresh chromium and gives it the keyboard; each call is a new session. */
  signIn(agentId: string): Promise<AgentPc>;
  /** The agent's next TOTP code, for a sign-in or a challenge. */
  nextCode(agentId: string): Promise<string>;
  /** Adds an agent with the rig's desktop. */
  addAgent(agentId: string): Promise<void>;
  /** The agent's own hands: XTest on the display. */
  local(): Promise<Hands>;
  /** The colluder's hands: an RFB viewer through `link` to x11vnc started with `vnc`; closing them stops x11vnc too. */
  relayed(link: LinkProfile, vnc: VncSettings, seed: number): Promise<Hands>;
  close(): Promise<void>;
}

export interface RigOptions {
  /** Scorer settings over the rig's own, by setting name (as `loadScorerSettings` takes overrides). */
  readonly scorer?: Partial<Record<keyof typeof SCORER_SETTINGS, string>>;
  /** A store prepared beforehand (agents enrolled, networks trained), which the caller closes; a fresh embedded one otherwise. */
  readonly db?: Db;
}

export async function startRig(o: RigOptions = {}): Promise<Rig> {
  const closers: (() => Promise<unknown>)[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    const engine: Engine = await startBridge();
    closers.push(() => engine.close());
    const db: Db = o.db ?? (await openDb({}));
    if (!o.db) closers.push(() => db.close());
    const gs = loadGatewaySettings({ VDIGUARD_GATEWAY_LISTEN: '127.0.0.1:0', VDIGUARD_GUACD: `127.0.0.1:${engine.port}`, VDIGUARD_GATEWAY_SECRET_KEY: randomBytes(32).toString('base64') });
    const ss = loadScorerSettings({ VDIGUARD_SCORER_LISTEN: '127.0.0.1:0', VDIGUARD_ADMIN_TOKEN: randomBytes(24).toString('base64url') }, o.scorer);
    const system = await startSystem(gs, ss, silentLogger(), db);
    closers.push(() => system.close());
    const scorerViews = new Map<string, ScorerView>();
    const scorer = system.scorer!.engine;
    const apply = scorer.applyBatch.bind(scorer);
    scorer.applyBatch = (sessionId, seq, events) => {
      const verdicts = apply(sessionId, seq, events);
      const view = scorerViews.get(sessionId) ?? { events: [], verdicts: [] };
      view.events.push(...events);
      const at = performance.now();
      view.verdicts.push(...verdicts.map((verdict) => ({ verdict, at })));
      scorerViews.set(sessionId, view);
      return verdicts;
    };
    const display = await startDisplay();
    closers.push(() => display.close());
    const secrets = new Map<string, string>();
    const steps = new Map<string, number>();
    const nextCode = async (agentId: string): Promise<string> => {
      // One code per agent and TOTP step (the gateway refuses a step twice): a later one takes the
      // next step, and waits for it when it would be more than one step ahead (the gateway's skew).
      const step = Math.max(Math.floor(Date.now() / 30000), (steps.get(agentId) ?? 0) + 1);
      steps.set(agentId, step);
      const early = (step - 1) * 30000 - Date.now();
      if (early > 0) await new Promise((r) => setTimeout(r, early + 100));
      return totpCode(secrets.get(agentId) as string, step * 30000 + 1000);
    };
    return {
      display,
      system,
      db,
      scorerViews,
      async addAgent(agentId) {
        const secret = newTotpSecret();
        secrets.set(agentId, secret);
        const store = system.gateway.store;
        await store.addAgent({ agentId, displayName: agentId, passwordHash: await hashPassword(PASSWORD), totpSecret: secret });
        await store.addDesktop(devDesktopFor(agentId, RIG_DESKTOP_USER));
        await store.assign(`desk-${agentId}`, agentId);
      },
      nextCode,
      signIn: (agentId) => startAgentPc(display, { url: system.gateway.url, agent: agentId, password: PASSWORD, code: () => nextCode(agentId) }),
      local: () => startHands({ kind: 'local', display: display.name }),
      async relayed(link, vnc, seed) {
        const v: Vnc = await startVnc(display, await freePort(), vnc);
        const hands = await startHands({ kind: 'relayed', vncPort: v.port, link: link.delay, seed }).catch(async (err: Error) => {
          await v.close();
          throw err;
        });
        return {
          ...hands,
          async close() {
            await hands.close();
            await v.close();
          },
        };
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
