/**
 * What `vdiguard gateway` prints on stderr once it serves: where agents and admins go, where the
 * admin token and the store are, which engine reaches the desktops, and, while there are no agents
 * or desktops yet, the commands that come next. A block of its own so a new operator finds the way
 * without reading the logs; rendering is pure, the facts are gathered once at start-up.
 */
import { isAbsolute, join, relative, resolve } from 'node:path';
import { formatHostPort } from '../../lib/config.js';
import { redactUrl } from '../../lib/db/db.js';
import { SCORER_SETTINGS, type ScorerSettings } from '../../scorer/config.js';
import type { GatewaySettings } from '../config.js';
import type { System } from './gateway.js';

export interface StartupFacts {
  /** The gateway's base URL, without a trailing slash. */
  readonly url: string;
  /** The admin token's file, or undefined when it came from VDIGUARD_ADMIN_TOKEN. */
  readonly adminTokenFile?: string;
  /** The embedded store's directory, or the redacted DATABASE_URL. */
  readonly store: { readonly embedded: string } | { readonly postgres: string };
  /** How desktops are reached. */
  readonly engine: { readonly builtinBridge: string } | { readonly guacd: string };
  /** The scorer inside this process (its address), or the one named by VDIGUARD_GATEWAY_SCORER. */
  readonly scorer: { readonly inside: string } | { readonly remote: string };
  readonly agents: number;
  readonly desktops: number;
  /** Desktops at least one agent may use. */
  readonly assignedDesktops: number;
  /** How to run the CLI as this process was run: `vdiguard`, or `node dist/bin/vdiguard.js` in a checkout. */
  readonly cli: string;
}

export async function startupFacts(gs: GatewaySettings, ss: ScorerSettings, system: System, script = process.argv[1] ?? 'vdiguard'): Promise<StartupFacts> {
  const [agents, desktops] = await Promise.all([system.gateway.store.listAgents(), system.gateway.store.listDesktops()]);
  const dataDir = resolve(ss.dataDir) === resolve(SCORER_SETTINGS.dataDir.default) ? '' : `VDIGUARD_DATA_DIR=${resolve(ss.dataDir)} `;
  const fromHere = relative(process.cwd(), script);
  const runScript = /[\\/]vdiguard$/.test(script) ? 'vdiguard' : `node ${fromHere.startsWith('..') || isAbsolute(fromHere) ? script : fromHere}`;
  return {
    url: system.gateway.url,
    adminTokenFile: ss.adminToken ? undefined : resolve(ss.adminTokenFile ?? join(ss.dataDir, 'admin-token')),
    store: ss.databaseUrl ? { postgres: redactUrl(ss.databaseUrl) } : { embedded: resolve(ss.dataDir, 'store') },
    engine: gs.bridge === 'builtin' ? { builtinBridge: formatHostPort(gs.guacd) } : { guacd: formatHostPort(gs.guacd) },
    scorer: gs.scorer ? { remote: gs.scorer } : { inside: system.scorer?.address ?? formatHostPort(ss.listen) },
    agents: agents.length,
    desktops: desktops.length,
    assignedDesktops: desktops.filter((d) => d.agents.length > 0).length,
    // Commands of a store in another data directory need it too (with DATABASE_URL they share the URL).
    cli: `${ss.databaseUrl ? '' : dataDir}${runScript}`,
  };
}

export function startupNotice(f: StartupFacts): string {
  const lines = [
    `vdiguard gateway on ${f.url} is running`,
    `  agents sign in at  ${f.url}/`,
    `  admin page         ${f.url}/admin`,
    `  admin token        ${f.adminTokenFile ? `in ${f.adminTokenFile} (the admin page and API take it as a bearer token)` : 'from VDIGUARD_ADMIN_TOKEN'}`,
    `  store              ${'embedded' in f.store ? `embedded (PGlite) in ${f.store.embedded}` : `PostgreSQL ${f.store.postgres}`}`,
    `  desktops through   ${'builtinBridge' in f.engine ? `the built-in RDP bridge on ${f.engine.builtinBridge}` : `guacd at ${f.engine.guacd}`}`,
    `  scorer             ${'inside' in f.scorer ? `inside this process, gRPC on ${f.scorer.inside}` : `at ${f.scorer.remote}`}`,
    `  ${count(f.agents, 'agent')}, ${count(f.desktops, 'desktop')}`,
  ];
  return [...lines, ...nextSteps(f)].join('\n') + '\n';
}

function count(n: number, noun: string): string {
  return `${n === 0 ? 'no' : n} ${noun}${n === 1 ? '' : 's'}`;
}

/** The commands still needed before an agent can type on a desktop; none once one is assigned. */
function nextSteps(f: StartupFacts): string[] {
  if (f.assignedDesktops > 0) return [];
  const steps: string[][] = [];
  if (f.desktops === 0) {
    steps.push([
      "add a desktop, pinning its certificate (or --ignore-cert on a development desktop):",
      `${f.cli} desktop check <host>:3389      # prints the certificate's sha256 fingerprint`,
      `VDIGUARD_DESKTOP_PASSWORD='<rdp password>' ${f.cli} desktop add desk1 --host <host> --username <rdp user> --cert-fingerprints sha256:<fingerprint>`,
    ]);
  }
  if (f.agents === 0) {
    steps.push([
      'add an agent (prints a QR code for their authenticator app):',
      `VDIGUARD_AGENT_PASSWORD='<initial password>' ${f.cli} agent add alice --name "Alice A."`,
    ]);
  }
  steps.push(['let the agent use the desktop:', `${f.cli} desktop assign desk1 alice`]);
  steps.push([`the agent signs in at ${f.url}/ with the password and the authenticator's code`]);
  return [
    `next steps (no agent can reach a desktop yet; the admin page does the same):`,
    ...steps.flatMap(([what, ...commands], i) => [`  ${i + 1}. ${what}`, ...commands.map((c) => `       ${c}`)]),
  ];
}
