/**
 * Every setting of the scorer, declared once. `vdiguard scorer` flags override the environment.
 */
import { join } from 'node:path';
import { formatHostPort, loadSettings, parse, parseHostPort, type Setting, type Settings } from '../lib/config.js';
import { VdiguardError } from '../lib/errors.js';
import { LOG_LEVELS, type LogLevel } from '../lib/log.js';
import { DEFAULT_TIMING_EVIDENCE, DEFAULT_TRUST_POLICY, maxWindowEvidence, type TrustPolicy } from './trust/trust.js';
import { DEFAULT_CLIENT_TIME_POLICY, type ClientTimePolicy } from './timing/client-times.js';
import type { RemoteControlPolicy } from './remote-control/detector.js';
import { DEFAULT_PATH_TIMING_POLICY } from './remote-control/pointer-timing.js';
import { DEFAULT_REPORT_RHYTHM_POLICY } from './remote-control/report-rhythm.js';
import { TF_BACKENDS, type TfBackendChoice } from './models/tf/runtime.js';
import { DEFAULT_FIT_HEAP_MB } from './models/fit-pool.js';
import { terminateAtForPolicy } from './trust/operating-point.js';
import { DEFAULT_VERSIONS_KEPT } from './store/profiles.js';

const optional = <T>(s: Setting<T>): Setting<T> => s;

export const SCORER_SETTINGS = {
  listen: {
    env: 'VDIGUARD_SCORER_LISTEN',
    description: 'Address of the gRPC server (host:port).',
    default: parseHostPort('127.0.0.1:50051'),
    parse: parse.hostPort,
    format: formatHostPort,
  },
  allowPlaintext: {
    env: 'VDIGUARD_SCORER_ALLOW_PLAINTEXT',
    description: 'Serve without TLS on an address other machines can reach. Only behind a mesh that encrypts.',
    default: false,
    parse: parse.boolean,
  },
  tlsCert: optional({
    env: 'VDIGUARD_SCORER_TLS_CERT',
    description: "File with the server's PEM certificate chain; with a key, the scorer serves TLS.",
    parse: parse.string,
  }),
  tlsKey: optional({
    env: 'VDIGUARD_SCORER_TLS_KEY',
    description: "File with the server's PEM private key.",
    parse: parse.string,
  }),
  tlsClientCa: optional({
    env: 'VDIGUARD_SCORER_TLS_CLIENT_CA',
    description: 'File with the PEM CA that signs client certificates; set it to require them (mTLS).',
    parse: parse.string,
  }),
  tlsGatewayNames: optional({
    env: 'VDIGUARD_SCORER_TLS_GATEWAY_NAMES',
    description: "With a client CA: the client certificates that identify a gateway, by subject CN or DNS/URI subject alternative name (comma-separated). Unset: every certificate the client CA signed is a gateway's. Callers without such a certificate need the gateway or admin token.",
    parse: parse.list,
    format: (names: readonly string[]) => names.join(','),
  }),
  databaseUrl: optional({
    env: 'DATABASE_URL',
    description: 'PostgreSQL URL for profiles and the audit trail; unset uses the embedded store in the data directory.',
    parse: parse.postgresUrl,
    secret: true,
  }),
  dataDir: {
    env: 'VDIGUARD_DATA_DIR',
    description: 'Directory of the embedded store and the generated admin and gateway tokens.',
    default: './.vdiguard',
    parse: parse.string,
  },
  adminToken: optional({
    env: 'VDIGUARD_ADMIN_TOKEN',
    description: 'Credential for profile administration (at least 24 characters). Unset: read from VDIGUARD_ADMIN_TOKEN_FILE, or generated there.',
    parse: parse.minLength(24),
    secret: true,
  }),
  adminTokenFile: optional({
    env: 'VDIGUARD_ADMIN_TOKEN_FILE',
    description: 'File holding the admin credential; default <data dir>/admin-token, created (mode 0600) on first start.',
    parse: parse.string,
  }),
  gatewayToken: optional({
    env: 'VDIGUARD_GATEWAY_TOKEN',
    description: 'Credential the gateway presents on scoring streams and identity confirmations (at least 24 characters); the gateway and a separate scorer must share it. Unset: read from VDIGUARD_GATEWAY_TOKEN_FILE, or generated there.',
    parse: parse.minLength(24),
    secret: true,
  }),
  gatewayTokenFile: optional({
    env: 'VDIGUARD_GATEWAY_TOKEN_FILE',
    description: 'File holding the gateway credential; default <data dir>/gateway-token, created (mode 0600) when the scorer first starts. A gateway in front of a separate scorer reads it and never creates it.',
    parse: parse.string,
  }),
  logLevel: {
    env: 'VDIGUARD_LOG_LEVEL',
    description: `Log level: ${LOG_LEVELS.join(', ')}.`,
    default: 'info' as LogLevel,
    parse: parse.oneOf(...LOG_LEVELS),
  },
  tfBackend: {
    env: 'VDIGUARD_TF_BACKEND',
    description: `TensorFlow.js backend of the models: ${TF_BACKENDS.join(', ')}. auto: TensorFlow's native library when @tensorflow/tfjs-node is installed, else WebAssembly.`,
    default: 'auto' as TfBackendChoice,
    parse: parse.oneOf(...TF_BACKENDS),
  },
  matureKeystrokes: {
    env: 'VDIGUARD_MATURE_KEYSTROKES',
    description: 'Keystrokes enrolled before keyboard behaviour is enforced.',
    default: 2000,
    parse: parse.integer(100, 1_000_000),
  },
  matureMouseActions: {
    env: 'VDIGUARD_MATURE_MOUSE_ACTIONS',
    description: 'Mouse actions enrolled before mouse behaviour is enforced.',
    default: 400,
    parse: parse.integer(20, 1_000_000),
  },
  maxProfileWindows: {
    env: 'VDIGUARD_PROFILE_WINDOWS',
    description: 'Feature windows kept per modality in a profile; older ones give way to newer.',
    default: 400,
    parse: parse.integer(10, 100_000),
  },
  profileVersions: {
    env: 'VDIGUARD_PROFILE_VERSIONS',
    description: "Versions of each agent's profile kept (the latest included), for rollback and audit; a mature version is about 2.5 MB of JSON.",
    default: DEFAULT_VERSIONS_KEPT,
    parse: parse.integer(1, 1000),
  },
  fitWorkers: {
    env: 'VDIGUARD_FIT_WORKERS',
    description: 'Worker threads that fit profile templates (enrolment, adaptation, vdiguard train), so a fit never stalls live scoring. They start with the scorer; each holds its own copy of the population sample (some 85 MiB at its 500 agents) and uses about one core while it fits.',
    default: 1,
    parse: parse.integer(1, 64),
  },
  fitWorkerHeapMb: {
    env: 'VDIGUARD_FIT_WORKER_HEAP_MB',
    description: "Each fit worker's JavaScript heap, MiB, its copy of the population sample included (keystroke fits against a full sample ran in 96). A worker that needs more ends with an error that names this setting, and a fresh one takes the next fit.",
    default: DEFAULT_FIT_HEAP_MB,
    parse: parse.integer(64, 16_384),
  },
  trustKeystrokeShift: {
    env: 'VDIGUARD_TRUST_KEYSTROKE_SHIFT',
    description: "Shift of an impostor's keystroke window scores the trust test looks for, in the agent's standard deviations.",
    default: DEFAULT_TRUST_POLICY.evidence.keystroke.shift,
    parse: parse.number(0.1, 20),
  },
  trustKeystrokeMaxScore: {
    env: 'VDIGUARD_TRUST_KEYSTROKE_MAX_SCORE',
    description: 'Keystroke window scores count up to this many standard deviations, so one odd window cannot end a session.',
    default: DEFAULT_TRUST_POLICY.evidence.keystroke.maxScore,
    parse: parse.number(0.5, 50),
  },
  trustMouseShift: {
    env: 'VDIGUARD_TRUST_MOUSE_SHIFT',
    description: "Shift of an impostor's mouse window scores the trust test looks for, in the agent's standard deviations.",
    default: DEFAULT_TRUST_POLICY.evidence.mouse.shift,
    parse: parse.number(0.1, 20),
  },
  trustMouseMaxScore: {
    env: 'VDIGUARD_TRUST_MOUSE_MAX_SCORE',
    description: 'Mouse window scores count up to this many standard deviations, so one odd window cannot end a session.',
    default: DEFAULT_TRUST_POLICY.evidence.mouse.maxScore,
    parse: parse.number(0.5, 50),
  },
  trustTerminateAt: {
    env: 'VDIGUARD_TRUST_TERMINATE_AT',
    description: 'Evidence (log-likelihood ratio) that terminates a session; higher means fewer false terminates and slower drops.',
    default: DEFAULT_TRUST_POLICY.terminateAt,
    parse: parse.number(1, 1000),
  },
  trustFalseTerminatesPer100h: optional({
    env: 'VDIGUARD_TRUST_FALSE_TERMINATES_PER_100H',
    description: 'Operating point as a policy: the false terminates per 100 agent-hours to aim for; sets the terminate threshold (overriding VDIGUARD_TRUST_TERMINATE_AT) assuming calibrated scores and 600 active windows an hour, and never at or below what one window can add. Real rates are higher: see docs/evaluation.md.',
    parse: parse.number(0.0001, 10_000),
  }),
  trustChallengeBelow: {
    env: 'VDIGUARD_TRUST_CHALLENGE_BELOW',
    description: 'Trust at or below which the agent is challenged for MFA (0 disables challenges).',
    default: DEFAULT_TRUST_POLICY.challengeBelow,
    parse: parse.number(0, 1),
  },
  clientTimeEnvelopeMs: {
    env: 'VDIGUARD_CLIENT_TIME_ENVELOPE_MS',
    description:
      "The most a browser's own event time may sit before the event's arrival and still be used (docs/client-times.md): the widest home-network jitter the scorer measures past, and the most a forging client can move an event. 0 ignores client times (arrival only).",
    default: DEFAULT_CLIENT_TIME_POLICY.maxEnvelopeMs,
    parse: parse.number(0, 2000),
  },
  remoteControlScaleMs: {
    env: 'VDIGUARD_REMOTE_CONTROL_SCALE_MS',
    description:
      "How far (robust SD, ms) the pointer's times may disagree with its path before a window counts towards remote control suspected (scorer/remote-control/pointer-timing.ts): local mice and touchpads measure 0.5-2.5 ms, a remote-control tool over an internet link 6 ms and more (docs/evaluation.md). 0 turns the test off.",
    default: DEFAULT_PATH_TIMING_POLICY.scaleMs,
    parse: parse.number(0, 100),
  },
  remoteControlRhythmShare: {
    env: 'VDIGUARD_REMOTE_CONTROL_RHYTHM_SHARE',
    description:
      "The share of the pointer's intervals in steady movement that may stray from the device's rhythm before a window counts towards remote control suspected (scorer/remote-control/report-rhythm.ts): local devices at 60-1000 Hz measure 0.03-0.13 on the relay rig, x11vnc on the agent's LAN 0.53-0.63 (docs/evaluation.md). 0 turns the test off.",
    default: DEFAULT_REPORT_RHYTHM_POLICY.neutralShare,
    parse: parse.number(0, 1),
  },
  timingEvidence: {
    env: 'VDIGUARD_TIMING_EVIDENCE',
    description: 'Evidence (log-likelihood ratio, as VDIGUARD_TRUST_TERMINATE_AT counts it) each stretch of impossible client event times (earlier than the one before, or later than their arrival) adds against the session.',
    default: DEFAULT_TIMING_EVIDENCE,
    parse: parse.number(0, 100),
  },
  adaptMaxScore: {
    env: 'VDIGUARD_ADAPT_MAX_SCORE',
    description: 'After a confirmed identity, windows scoring at most this (agent standard deviations) adapt the profile.',
    default: 1.5,
    parse: parse.number(0, 10),
  },
  maxBatchEvents: {
    env: 'VDIGUARD_MAX_BATCH_EVENTS',
    description: 'Events accepted in one batch; larger batches are refused.',
    default: 5000,
    parse: parse.integer(1, 1_000_000),
  },
  shutdownGraceSeconds: {
    env: 'VDIGUARD_SHUTDOWN_GRACE_SECONDS',
    description:
      "Seconds a stopping gateway or scorer takes to end its sessions and write their records; what is still unwritten then goes to the spill directory and is written at the next start. Keep it a few seconds below the pod's terminationGracePeriodSeconds (the chart does).",
    default: 25,
    parse: parse.integer(1, 3600),
  },
  spillDir: optional({
    env: 'VDIGUARD_SPILL_DIR',
    description: 'Directory of the records a stopping process could not write (the database away at shutdown), written at the next start. Default <data dir>/spill. It must outlive the process: a volume, not the container.',
    parse: parse.string,
  }),
  resumeGraceSeconds: {
    env: 'VDIGUARD_RESUME_GRACE_SECONDS',
    description: "How long a session's state is kept after its stream breaks, so the gateway can resume it.",
    default: 120,
    parse: parse.integer(0, 86_400),
  },
} as const;

export type ScorerSettings = Settings<typeof SCORER_SETTINGS>;

/** Where the spill goes (VDIGUARD_SPILL_DIR, or the data directory's spill/). */
export function spillDirOf(settings: Pick<ScorerSettings, 'spillDir' | 'dataDir'>): string {
  return settings.spillDir ?? join(settings.dataDir, 'spill');
}

export function loadScorerSettings(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Record<keyof typeof SCORER_SETTINGS, string>> = {},
): ScorerSettings {
  return loadSettings(SCORER_SETTINGS, env, overrides);
}

/**
 * The trust engine's policy from the settings (the service and the evaluation share it). Refuses a
 * policy under which a single window could end a session.
 */
export function trustPolicyOf(settings: ScorerSettings): TrustPolicy {
  const evidence = {
    keystroke: { shift: settings.trustKeystrokeShift, maxScore: settings.trustKeystrokeMaxScore },
    mouse: { shift: settings.trustMouseShift, maxScore: settings.trustMouseMaxScore },
  };
  const target = settings.trustFalseTerminatesPer100h;
  const terminateAt = target === undefined ? settings.trustTerminateAt : terminateAtForPolicy(target, evidence);
  for (const [modality, e] of Object.entries(evidence)) {
    if (maxWindowEvidence(e) >= terminateAt) {
      const name = modality.toUpperCase();
      throw new VdiguardError(
        'invalid-argument',
        `one ${modality} window can add ${maxWindowEvidence(e)} evidence (VDIGUARD_TRUST_${name}_SHIFT x VDIGUARD_TRUST_${name}_MAX_SCORE - shift^2/2), at or above the terminate threshold ${terminateAt}: a single odd window would end a session; lower the shift or the max score, or raise the threshold`,
      );
    }
  }
  return { evidence, terminateAt, challengeBelow: settings.trustChallengeBelow };
}

/** The client-time rule the settings give: a cap of 0 means arrival times only. */
export function clientTimePolicyOf(settings: ScorerSettings): ClientTimePolicy | null {
  if (settings.clientTimeEnvelopeMs === 0) return null;
  const maxEnvelopeMs = settings.clientTimeEnvelopeMs;
  return { ...DEFAULT_CLIENT_TIME_POLICY, maxEnvelopeMs, minEnvelopeMs: Math.min(DEFAULT_CLIENT_TIME_POLICY.minEnvelopeMs, maxEnvelopeMs) };
}

/** The remote-control tests the settings give: a scale or share of 0 turns that test off, both off turns detection off. */
export function remoteControlPolicyOf(settings: ScorerSettings): RemoteControlPolicy | null {
  const path = settings.remoteControlScaleMs === 0 ? null : { ...DEFAULT_PATH_TIMING_POLICY, scaleMs: settings.remoteControlScaleMs };
  const rhythm = settings.remoteControlRhythmShare === 0 ? null : { ...DEFAULT_REPORT_RHYTHM_POLICY, neutralShare: settings.remoteControlRhythmShare };
  return path || rhythm ? { path, rhythm } : null;
}
