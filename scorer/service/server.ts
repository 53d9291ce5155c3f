/**
 * Starts the scorer: store, engine, and the gRPC server with the scoring, admin and standard
 * health services. Plaintext is only for loopback unless explicitly allowed; with a certificate it
 * serves TLS, and with a client CA it requires client certificates (mTLS).
 */
import { readFileSync } from 'node:fs';
import { ensurePrivateDir } from '../../lib/private-dir.js';
import { join } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { ProfileAdminServiceService, ScorerServiceService } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { formatHostPort, isLoopback } from '../../lib/config.js';
import { openDb, type Db } from '../../lib/db/db.js';
import { claimStore } from '../../lib/db/owner.js';
import { VdiguardError } from '../../lib/errors.js';
import { listenError } from '../../lib/listen.js';
import type { Logger } from '../../lib/log.js';
import { clientTimePolicyOf, remoteControlPolicyOf, SCORER_SETTINGS, spillDirOf, trustPolicyOf, type ScorerSettings } from '../config.js';
import { defaultPipelines, type ModalityPipeline } from '../models/pipelines.js';
import { ScorerEngine, type EngineOptions } from './engine.js';
import { initTf } from '../models/tf/runtime.js';
import { loadNetworks, networkArtifacts, type Networks } from './population-networks.js';
import { scorerService } from './scorer-service.js';
import { adminService } from './admin-service.js';
import { resolveAdminToken, resolveGatewayToken } from './credentials.js';

export interface RunningScorer {
  /** host:port actually bound (the port is chosen by the system when 0 was asked). */
  readonly address: string;
  readonly engine: ScorerEngine;
  readonly adminToken: string;
  /** What a gateway presents on Session and ConfirmIdentity (a gateway inside this process shares it). */
  readonly gatewayToken: string;
  close(): Promise<void>;
}

export interface ScorerDeps {
  readonly log: Logger;
  /** An open store; by default one is opened from the settings and closed with the scorer. */
  readonly db?: Db;
  readonly pipelines?: readonly ModalityPipeline[];
}

/** How long open streams get to finish when the scorer stops, at most (a fifth of the shutdown grace otherwise). */
const STREAMS_GRACE_MS = 5000;

/** How often a scorer looks for profile contributions no scorer is applying (one that stopped first). */
const CONTRIBUTION_SWEEP_MS = 60_000;

export const SCORER_SERVICE_NAME = 'vdiguard.scorer.v1.ScorerService';

/** The engine's options from the scorer settings (the service and `vdiguard train` share them). */
export function engineOptions(settings: ScorerSettings, db: Db, log: Logger, pipelines?: readonly ModalityPipeline[], networks: Networks = {}): EngineOptions {
  return {
    db,
    log,
    pipelines: pipelines ?? defaultPipelines({ keyEmbedding: networks.keyEmbedding?.network, actionNetwork: networks.actionNetwork?.network }),
    networks: networkArtifacts(networks),
    policy: {
      trust: trustPolicyOf(settings),
      maturity: { keystrokes: settings.matureKeystrokes, mouseActions: settings.matureMouseActions, maxWindows: settings.maxProfileWindows },
      adaptMaxScore: settings.adaptMaxScore,
      clientTimes: clientTimePolicyOf(settings),
      remoteControl: remoteControlPolicyOf(settings),
      timingEvidence: settings.timingEvidence,
    },
    maxBatchEvents: settings.maxBatchEvents,
    resumeGraceMs: settings.resumeGraceSeconds * 1000,
    fitWorkers: settings.fitWorkers,
    fitWorkerHeapMb: settings.fitWorkerHeapMb,
    profileVersions: settings.profileVersions,
    spillDir: spillDirOf(settings),
    contributionSweepMs: CONTRIBUTION_SWEEP_MS,
  };
}

export async function startScorer(settings: ScorerSettings, deps: ScorerDeps): Promise<RunningScorer> {
  const credentials = serverCredentials(settings);
  if (!deps.db && !settings.databaseUrl) ensurePrivateDir(settings.dataDir);
  const adminToken = resolveAdminToken(settings);
  const gatewayToken = resolveGatewayToken(settings);
  const { log } = deps;
  // A scorer alone on the embedded store owns it (lib/db/owner.ts); inside a gateway, the gateway does.
  const claim = !deps.db && !settings.databaseUrl
    ? claimStore(settings.dataDir, 'vdiguard scorer', (stale) => log.warn({ stale }, 'replaced the claim of a vdiguard process that is gone on the embedded store'))
    : undefined;
  const db = deps.db ?? (await openDb({ databaseUrl: settings.databaseUrl, dataDir: join(settings.dataDir, 'store') }).catch((err: unknown) => {
    claim?.release();
    throw err;
  }));
  const ownsDb = deps.db === undefined;
  const backend = await initTf(settings.tfBackend);
  log.info({ backend }, 'TensorFlow.js ready');
  // Pipelines a caller passes are used as they are; otherwise the deployment's trained networks.
  const networks = deps.pipelines ? {} : await loadNetworks(db, log).catch((err: Error) => {
    log.error({ err: err.message }, 'the population networks cannot be loaded: scoring with the fallback models until the scorer restarts');
    return {};
  });
  const engine = new ScorerEngine(engineOptions(settings, db, log, deps.pipelines, networks));
  try {
    const agents = await engine.loadPopulation();
    log.info({ agents }, 'population sample loaded');
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'population sample not loaded: population models fall back until profiles change');
  }
  engine.startFitWorkers();
  const recovered = await engine.recover();
  if (recovered.records + recovered.contributions > 0) log.info(recovered, 'recovered what the last stop left unwritten');

  const server = new Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  const mtls = settings.tlsClientCa ? { names: settings.tlsGatewayNames } : undefined;
  const scoring = scorerService(engine, log, { gatewayToken, adminToken, mtls });
  server.addService(ScorerServiceService, scoring.service);
  server.addService(ProfileAdminServiceService, adminService(engine, adminToken, log, settings.maxBatchEvents));
  const health = new HealthImplementation({ '': 'SERVING', [SCORER_SERVICE_NAME]: 'SERVING' });
  health.addToServer(server);

  const wanted = formatHostPort(settings.listen);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(wanted, credentials, (err, p) =>
      err ? reject(listenError(settings.listen, err, `${SCORER_SETTINGS.listen.env} (or --listen of \`vdiguard scorer\`)`)) : resolve(p),
    ),
  ).catch(async (err) => {
    if (ownsDb) await db.close();
    claim?.release();
    throw err;
  });
  const address = formatHostPort({ host: settings.listen.host, port });
  log.info({ address, store: settings.databaseUrl ? 'postgres' : 'pglite', tls: Boolean(settings.tlsCert) }, 'scorer listening');

  return {
    address,
    engine,
    adminToken,
    gatewayToken,
    async close() {
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(SCORER_SERVICE_NAME, 'NOT_SERVING');
      const graceMs = settings.shutdownGraceSeconds * 1000;
      const streamsMs = Math.min(STREAMS_GRACE_MS, graceMs / 5);
      // No new calls from here; the open streams go back to their gateways to resume elsewhere,
      // then the sessions left (streams that broke earlier) end and every record is written.
      const stopped = new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), streamsMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      const handedOver = scoring.handOver();
      if (handedOver > 0) log.info({ streams: handedOver }, 'session streams handed back to their gateways to resume elsewhere');
      await stopped;
      await engine.shutdown(graceMs - streamsMs);
      if (ownsDb) await db.close();
      claim?.release();
    },
  };
}

function serverCredentials(s: ScorerSettings): ServerCredentials {
  if (s.tlsGatewayNames && !s.tlsClientCa) {
    throw new VdiguardError('invalid-argument', 'VDIGUARD_SCORER_TLS_GATEWAY_NAMES names client certificates: it needs VDIGUARD_SCORER_TLS_CLIENT_CA (mTLS) with the server certificate and key');
  }
  if (s.tlsCert || s.tlsKey) {
    if (!s.tlsCert || !s.tlsKey) {
      throw new VdiguardError('invalid-argument', 'TLS needs both VDIGUARD_SCORER_TLS_CERT and VDIGUARD_SCORER_TLS_KEY');
    }
    const clientCa = s.tlsClientCa ? readPem(s.tlsClientCa, 'VDIGUARD_SCORER_TLS_CLIENT_CA') : null;
    return ServerCredentials.createSsl(
      clientCa,
      [{ cert_chain: readPem(s.tlsCert, 'VDIGUARD_SCORER_TLS_CERT'), private_key: readPem(s.tlsKey, 'VDIGUARD_SCORER_TLS_KEY') }],
      clientCa !== null,
    );
  }
  if (s.tlsClientCa) throw new VdiguardError('invalid-argument', 'VDIGUARD_SCORER_TLS_CLIENT_CA needs a server certificate and key too');
  if (!isLoopback(s.listen.host) && !s.allowPlaintext) {
    throw new VdiguardError(
      'failed-precondition',
      `refusing to serve plaintext on ${s.listen.host}, which other machines can reach: configure VDIGUARD_SCORER_TLS_CERT and VDIGUARD_SCORER_TLS_KEY (and a client CA for mTLS), or set VDIGUARD_SCORER_ALLOW_PLAINTEXT=true behind an encrypting mesh`,
    );
  }
  return ServerCredentials.createInsecure();
}

function readPem(file: string, variable: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new VdiguardError('invalid-argument', `${variable}: cannot read ${file} (${(err as Error).message})`);
  }
}
