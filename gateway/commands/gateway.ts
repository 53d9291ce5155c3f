/**
 * `vdiguard gateway`: the gateway on its settings, with the scorer inside the same process on the
 * same store unless VDIGUARD_GATEWAY_SCORER names a running one. Runs until SIGINT or SIGTERM.
 */
import { join } from 'node:path';
import { formatHostPort, isLoopback } from '../../lib/config.js';
import { openDb, type Db } from '../../lib/db/db.js';
import { claimStore, type StoreClaim } from '../../lib/db/owner.js';
import { ensurePrivateDir } from '../../lib/private-dir.js';
import { untilSignalled } from '../../lib/signals.js';
import { startTelemetry } from '../../lib/telemetry/telemetry.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { loadScorerSettings, spillDirOf, type ScorerSettings } from '../../scorer/config.js';
import { startScorer, type RunningScorer } from '../../scorer/service/server.js';
import { resolveAdminToken, resolveGatewayToken } from '../../scorer/service/credentials.js';
import { GATEWAY_SETTINGS, loadGatewaySettings, type GatewaySettings } from '../config.js';
import { resolveSecretKey } from '../auth/secret-box.js';
import { scorerLink } from '../mirror/scorer-link.js';
import { startGateway, type RunningGateway } from '../gateway.js';
import { startBridgeChild } from './bridge-child.js';
import { ensureFirstAdmin, firstAdminMessage } from '../admin/first-admin.js';
import { startupFacts, startupNotice } from './startup-notice.js';
import { VdiguardError } from '../../lib/errors.js';
import { checkCanListen } from '../../lib/listen.js';

export interface System {
  readonly gateway: RunningGateway;
  readonly scorer?: RunningScorer;
  close(): Promise<void>;
}

/** Gateway (and embedded scorer) on one store; used by the command and the end-to-end tests. */
export async function startSystem(gs: GatewaySettings, ss: ScorerSettings, log: Logger, db?: Db): Promise<System> {
  if (!gs.scorer && gs.mirrorBatchEvents > ss.maxBatchEvents) {
    throw new VdiguardError(
      'invalid-argument',
      `VDIGUARD_MIRROR_BATCH_EVENTS (${gs.mirrorBatchEvents}) is above VDIGUARD_MAX_BATCH_EVENTS (${ss.maxBatchEvents}) of the scorer inside this gateway, which would refuse full batches: lower the first or raise the second`,
    );
  }
  let claim: StoreClaim | undefined;
  if (!db && !ss.databaseUrl) {
    ensurePrivateDir(ss.dataDir);
    claim = claimStore(ss.dataDir, 'vdiguard gateway', (stale) => log.warn({ stale }, 'replaced the claim of a vdiguard process that is gone on the embedded store'));
  }
  let store: Db;
  try {
    store = db ?? (await openDb({ databaseUrl: ss.databaseUrl, dataDir: join(ss.dataDir, 'store') }));
  } catch (err) {
    claim?.release();
    throw err;
  }
  let scorer: RunningScorer | undefined;
  try {
    const adminToken = resolveAdminToken(ss);
    if (!gs.scorer) scorer = await startScorer(ss, { log: log.child({ component: 'scorer' }), db: store });
    // The scorer inside this process hands its gateway token over in memory.
    const gatewayToken = scorer ? scorer.gatewayToken : remoteGatewayToken(gs, ss);
    const link = scorerLink(
      { address: gs.scorer ?? scorer?.address ?? formatHostPort(ss.listen), tlsCa: gs.scorerTlsCa, tlsCert: gs.scorerTlsCert, tlsKey: gs.scorerTlsKey },
      { gatewayToken, adminToken },
    );
    const gateway = await startGateway(gs, {
      log: log.child({ component: 'gateway' }),
      db: store,
      secretKey: resolveSecretKey({ ...gs, dataDir: ss.dataDir }),
      scorer: link,
      adminToken,
      challengeBelow: ss.trustChallengeBelow,
      spillDir: spillDirOf(ss),
      shutdownGraceMs: ss.shutdownGraceSeconds * 1000,
    });
    // From now on CLI commands on this data directory go through this gateway's admin API.
    claim?.announce(loopbackUrl(gateway.url));
    return {
      gateway,
      scorer,
      async close() {
        await gateway.close();
        link.close();
        await scorer?.close();
        if (!db) await store.close();
        claim?.release();
      },
    };
  } catch (err) {
    await scorer?.close();
    if (!db) await store.close();
    claim?.release();
    throw err;
  }
}

/** The gateway's URL as a process on this machine reaches it: a wildcard listen address becomes loopback. */
export function loopbackUrl(url: string): string {
  const u = new URL(url);
  if (u.hostname === '0.0.0.0') u.hostname = '127.0.0.1';
  else if (u.hostname === '[::]') u.hostname = '[::1]';
  return u.origin;
}

/**
 * The token a gateway presents to a separate scorer: the configured one, never a new one (the
 * scorer would not know it). None is needed when a client certificate identifies the gateway.
 */
function remoteGatewayToken(gs: GatewaySettings, ss: ScorerSettings): string | undefined {
  try {
    return resolveGatewayToken(ss, false);
  } catch (err) {
    if (gs.scorerTlsCert || !(err instanceof VdiguardError) || err.code !== 'unauthenticated') throw err;
    throw new VdiguardError(
      'unauthenticated',
      `the scorer at ${gs.scorer} takes scoring streams only from a gateway: ${err.message}; or give this gateway a client certificate (VDIGUARD_GATEWAY_SCORER_TLS_CERT and _KEY) for a scorer with mTLS`,
    );
  }
}

export async function runGateway(overrides: Partial<Record<keyof typeof GATEWAY_SETTINGS, string>>, dataDir?: string): Promise<void> {
  const gs = loadGatewaySettings(process.env, overrides);
  const ss = loadScorerSettings(process.env, dataDir ? { dataDir } : {});
  const log = createLogger(ss.logLevel, 'vdiguard');
  if (gs.bridge === 'builtin' && !isLoopback(gs.guacd.host)) {
    throw new VdiguardError('invalid-argument', `the built-in bridge listens on this machine only; VDIGUARD_GUACD is ${formatHostPort(gs.guacd)}: set VDIGUARD_GATEWAY_BRIDGE=off to use guacd there`);
  }
  if (gs.bridge === 'builtin') {
    // The bridge is a child process: a taken port is reported here, naming the gateway's settings, not the bridge's.
    await checkCanListen(gs.guacd, `${GATEWAY_SETTINGS.guacd.env} or --guacd to a free port for the built-in bridge, or ${GATEWAY_SETTINGS.bridge.env}=off to use the guacd listening there`);
  }
  const bridge = gs.bridge === 'builtin' ? startBridgeChild(gs.guacd, log.child({ component: 'bridge-supervisor' })) : undefined;
  // Before the services: their instruments bind to whatever provider exists when they are created.
  const telemetry = startTelemetry('vdiguard-gateway');
  let system: System | undefined;
  // Listening for the signals before starting: a SIGTERM while the gateway starts (writing a
  // spill, say) stops it through its drain once it has started, rather than killing it mid-write.
  const signalled = untilSignalled(log);
  try {
    system = await startSystem(gs, ss, log);
    const first = await ensureFirstAdmin(system.gateway.admins, system.gateway.actions, gs);
    // The first admin's credentials once, on stderr for the person starting the gateway: never in
    // the structured log, which is kept and shipped.
    if (first) process.stderr.write(firstAdminMessage(first, system.gateway.url));
    process.stderr.write(startupNotice(await startupFacts(gs, ss, system)));
    await signalled;
  } finally {
    await system?.close();
    await bridge?.stop();
    await telemetry.shutdown();
  }
}
