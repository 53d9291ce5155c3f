/**
 * `vdiguard soak`: many sessions for a long time through the real services, with the faults of a
 * working day, and whether anything was lost or leaked (issue 21).
 *
 * The real scorers and gateways (`vdiguard scorer`, `vdiguard gateway`, child processes; two
 * scorers behind one address, as a Service) on a PostgreSQL database of their own, reached through
 * a TCP proxy the soak can cut; the agents in soak/load.ts (Guacamole clients over WebSockets),
 * the desktops played by a guacd stand-in (gateway/testing/fake-guacd.ts) here. The services
 * export their metrics over OTLP to a receiver here: memory and the event loop's delay
 * (lib/telemetry/runtime.ts), verdict latency (the gateway's histogram). During the run a scorer
 * is restarted (SIGTERM), the database cut, and one gateway restarted; afterwards every record the
 * services' logs say they made (decisions, session starts and ends, profile contributions) is
 * counted in the database.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDb, type Db } from '../lib/db/db.js';
import { countRows, createTestDatabase } from '../lib/testing/databases.js';
import { startTcpProxy } from '../lib/testing/tcp-proxy.js';
import { startTcpBalancer, type TcpBalancer } from '../lib/testing/tcp-balancer.js';
import { startOtlpReceiver, type OtlpReceiver } from '../lib/testing/otlp-receiver.js';
import { heapGrowth, heapSnapshotArgs, takeHeapSnapshot, type HeapChange, type HeapSummary } from '../lib/testing/heap-snapshot.js';
import { startServiceProcess, type LogLine, type ServiceProcess } from '../lib/testing/service-process.js';
import { freePort } from '../gateway/testing/guacd.js';
import { startFakeGuacd } from '../gateway/testing/fake-guacd.js';
import type { GcType } from '../lib/telemetry/runtime.js';
import { GatewayStore } from '../gateway/store/gateway-store.js';
import { SecretBox } from '../gateway/auth/secret-box.js';
import { hashPassword } from '../gateway/auth/password.js';
import { newTotpSecret } from '../gateway/auth/totp.js';
import { enroll } from '../scorer/commands/admin.js';
import { ProfileStore } from '../scorer/store/profiles.js';
import { writeRecording } from '../scorer/recording/writer.js';
import { ALICE } from '../scorer/testing/typist.js';
import { addBuckets, growthAfterWarmup, heldAt, isSteady, quantileBound, steadyBuckets, timeline, type Buckets, type Growth, type Phases, type Span, type TimelinePoint } from './report.js';
import type { AgentPlan, FromLoad, LoadStats, ToLoad } from './load.js';
import { enrolmentRecording, loadMouseTracks, TRACK_USERS } from './workday.js';

export interface SoakOptions {
  readonly sessions: number;
  readonly seconds: number;
  /** A PostgreSQL server whose user may create databases: the soak makes one and drops it. */
  readonly serverUrl: string;
  /** Agents with a mature profile (half of their sessions typed by someone else). */
  readonly enrolled: number;
  /**
   * Profiles of agents who do not work during the soak, copied from the enrolled ones: enough
   * (POPULATION_MAX_AGENTS) fill the scorers' population sample from the start (addAbsentAgents).
   */
  readonly absent: number;
  readonly gateways: number;
  /** Restart the scorer, cut the database and restart a gateway during the run. */
  readonly faults: boolean;
  readonly progress: (line: string) => void;
  /** A directory to write each service process's log to (JSON lines), to see what happened. */
  readonly logsDir?: string;
  /** A directory for a V8 CPU profile of each service process (node --cpu-prof), written when it stops. */
  readonly profileDir?: string;
  /** A directory for heap snapshots of each service at the start of steady time and at its end (the faults wait for the first). */
  readonly heapSnapshotDir?: string;
}

/** A service's live heap after a full collection, at the start of steady time and at its end. */
export interface HeapFigures {
  readonly service: string;
  readonly startBytes: number;
  readonly endBytes: number;
  readonly startSessions: number;
  readonly endSessions: number;
  /** What grew most between the two, by constructor. */
  readonly grew: readonly HeapChange[];
}

export interface ProcessFigures {
  /** service.instance.id: the service and which start of it. */
  readonly instance: string;
  readonly rss: Growth | null;
  /** Of the live heap (lib/telemetry/runtime.ts): what survives full collections, where a leak shows. */
  readonly liveHeap: Growth | null;
  /** The process over the run, a point per TIMELINE_STEP_MS (report.ts timeline). */
  readonly timeline: readonly TimelinePoint[];
  /** The most sessions it held at once. */
  readonly sessionsHeld: number | null;
  /** The scorer's longest queue of writes waiting for the database. */
  readonly writesPendingMax: number | null;
  /** The worst 5-second window's 99th percentile of event loop delay, ms. */
  readonly loopDelayP99Ms: number | null;
  /** The same over the steady part of the run only (report.ts, Phases). */
  readonly loopDelaySteadyP99Ms: number | null;
  /** Its garbage collections by kind (lib/telemetry/runtime.ts), over the run and in steady time; null: none reported. */
  readonly gc: Readonly<Record<'run' | 'steady', Readonly<Record<'major' | 'minor', GcPauses | null>>>>;
}

/** Collections of one kind, and the longest, as far as the histogram's buckets tell. */
export interface GcPauses {
  readonly collections: number;
  /** The bound of the bucket the longest pause fell in, ms (Infinity: beyond the last bound). */
  readonly longestMs: number;
  readonly p99Ms: number;
}

export interface SoakReport {
  readonly sessions: number;
  readonly seconds: number;
  readonly load: LoadStats;
  readonly processes: ProcessFigures[];
  /** With heap snapshots: the services alive at both ends of steady time. */
  readonly heaps: readonly HeapFigures[];
  /** Over the whole run, and over its steady part (what the target is judged on). */
  readonly verdictLatencyMs: LatencyFigures & { readonly steady: LatencyFigures };
  /** How late the clients sent their input (load.ts): the worst 5-second window's 99th percentile, ms, over the run and in steady time. */
  readonly sentLateP99Ms: { readonly run: number | null; readonly steady: number | null };
  /** What the services' logs say they made, and what the database holds. */
  readonly records: {
    readonly decisions: { readonly expected: number; readonly written: number };
    readonly sessionsStarted: { readonly expected: number; readonly written: number };
    readonly sessionsEnded: { readonly expected: number; readonly written: number };
    readonly contributions: { readonly expected: number; readonly written: number; readonly applied: number };
  };
  readonly faults: string[];
  /** When the last agent first signed in, s from the start of the load; null when some never did. */
  readonly signedInByS: number | null;
  /** When steady time began, s from the start of the load. */
  readonly steadyFromS: number;
  /** Every target, with whether it held. */
  readonly checks: { readonly name: string; readonly passed: boolean; readonly detail: string }[];
  readonly passed: boolean;
}

const GATEWAY_TOKEN = randomBytes(24).toString('hex');
const PASSWORD = 'soak password 1';
const DESKTOP = 'soak-desktop';
/** How often the services export their metrics, ms. */
const EXPORT_MS = 5000;
/** The step of each process's timeline in the report. */
const TIMELINE_STEP_MS = 30_000;
/**
 * The heap a process holds on to, read after each full collection. The heap in use at any moment
 * also counts garbage not collected yet, which swings by 100 MiB in a scorer with no leak at all
 * (lib/telemetry/runtime.ts).
 */
const LIVE_HEAP = 'vdiguard.runtime.heap.live';
const GC_DURATION = 'v8js.gc.duration';
/** Memory may grow this much after warm-up (a fraction of its mean). */
export const MAX_GROWTH = 0.05;
export interface LatencyFigures {
  readonly p50: number;
  readonly p99: number;
  readonly verdicts: number;
}

export const MAX_VERDICT_P99_MS = 250;
export const MAX_LOOP_DELAY_P99_MS = 50;
/**
 * The load's own budget: the clients send what is due every 2 ms, and a load that fell further
 * behind would measure the services under less input than the workday it replays, and in bursts.
 */
export const MAX_SENT_LATE_P99_MS = 50;
/** The load process's nice value: below the services', which run at the default 0. */
const LOAD_NICE = 10;
/**
 * After the ramp, what is left of warm-up before the figures count: a minute, in which the last
 * sessions to open write their first profile contribution part (engine.ts, CONTRIBUTION_PART_MS),
 * from when on what each holds no longer grows.
 */
const WARMUP_AFTER_RAMP_MS = 60_000;
/** After a fault, how long the services get to recover before the figures count again. */
const RECOVERY_MS = 60_000;

/**
 * The heap the services get, as in the chart's pods: Node sizes its heap from the container's
 * memory limit, and in a 1 GiB cgroup (the gateway's and the scorer's limit) it takes 524 MiB
 * (v8.getHeapStatistics().heap_size_limit, measured), which this old-space size gives outside one.
 * On the soak's machine it would otherwise take 4 GiB, and collect garbage so lazily that resident
 * memory said nothing about what the services hold.
 */
const POD_HEAP_ARGS = ['--max-old-space-size=476'];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How long the agents take to arrive: two minutes at most (a shift starts over longer), as each sign-in costs a scrypt. */
function rampMsOf(seconds: number): number {
  return Math.min(120_000, (seconds * 1000) / 5);
}

function spillFiles(dir: string): number {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.jsonl')).length;
  } catch {
    return 0;
  }
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const dir = mkdtempSync(join(tmpdir(), 'vdiguard-soak-'));
  const { url, dropDatabase } = await createTestDatabase(o.serverUrl, 'vdiguard_soak');
  const db = await openDb({ databaseUrl: url });
  const target = new URL(url);
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
  const viaProxy = new URL(url);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  const otlp = await startOtlpReceiver();
  // The desktops' stand-in runs here, at the services' priority: guacamole-lite closes a tunnel
  // whose guacd sends nothing for 10 s, and a starved stand-in would end sessions no real guacd
  // would (it did, during the sign-in ramp, while it ran with the clients below).
  const guacd = await startFakeGuacd({ syncMs: 1000, record: false });
  // The agents' browsers are other machines in a deployment; here they share the services' two
  // cores, at a lower priority (every thread of theirs: nice is per thread), so that the services
  // are measured with the CPU they would have. A load starved by it sends late, and the report's
  // check on that says so.
  const load = fork(fileURLToPath(new URL('./load.js', import.meta.url)), ['load'], {
    execPath: 'nice',
    execArgv: ['-n', String(LOAD_NICE), process.execPath],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const services: ServiceProcess[] = [];
  let scorerService: TcpBalancer | undefined;
  try {
    const loadExited = new Promise<never>((_, reject) =>
      load.once('exit', (code, signal) => reject(new Error(`the load process exited (${code ?? signal}) before the soak ended: its error is above`))),
    );
    loadExited.catch(() => undefined);
    const fromLoad = (pick: (m: FromLoad) => boolean): Promise<FromLoad> =>
      Promise.race([
        loadExited,
        new Promise<FromLoad>((resolve) => {
          const on = (m: FromLoad): void => {
            if (!pick(m)) return;
            load.off('message', on);
            resolve(m);
          };
          load.on('message', on);
        }),
      ]);
    await fromLoad((m) => 'ready' in m);

    const secretKey = randomBytes(32);
    const adminTokenFile = join(dir, 'admin-token');
    writeFileSync(adminTokenFile, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
    const agents = await addAgents(db, secretKey, o);
    o.progress(`${agents.length} agents and their desktop added`);

    let starts = 0;
    /** The service.instance.id each process exports its metrics under. */
    const instanceOf = new Map<number | undefined, string>();
    const common = (instance: string): Record<string, string> => ({
      DATABASE_URL: viaProxy.toString(),
      VDIGUARD_GATEWAY_TOKEN: GATEWAY_TOKEN,
      VDIGUARD_ADMIN_TOKEN_FILE: adminTokenFile,
      VDIGUARD_MATURE_KEYSTROKES: '300',
      VDIGUARD_SHUTDOWN_GRACE_SECONDS: '10',
      VDIGUARD_LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_METRIC_EXPORT_INTERVAL: String(EXPORT_MS),
      OTEL_RESOURCE_ATTRIBUTES: `service.instance.id=${instance}`,
    });
    /** Starts a service as a new instance (`<name>-<start number>`) with its environment, and remembers the instance it exports metrics as. */
    const named = async (name: string, start: (env: Record<string, string>, instance: string) => Promise<ServiceProcess>): Promise<ServiceProcess> => {
      const instance = `${name}-${++starts}`;
      const svc = await start(common(instance), instance);
      instanceOf.set(svc.child.pid, instance);
      return svc;
    };
    // Two scorers behind one address, as a Deployment behind its Service: a stopping one's
    // sessions resume on the other.
    const scorerPorts = [await freePort(), await freePort()];
    // Node's options for each service: the pod's heap, and the profiler and snapshots when asked for.
    // Node takes --cpu-prof-name as it is (no ${pid} in it is expanded): each profile is named after
    // its instance, so that a restarted service does not write over the profile of the one it replaced.
    const nodeArgsOf = (instance: string) => ({
      nodeArgs: [
        ...POD_HEAP_ARGS,
        ...(o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`, `--cpu-prof-name=${instance}.cpuprofile`] : []),
        ...(o.heapSnapshotDir ? heapSnapshotArgs(o.heapSnapshotDir) : []),
      ],
    });
    const startScorer = (i: number): Promise<ServiceProcess> =>
      named(`scorer${i}`, (env, instance) => startServiceProcess(['scorer', '--listen', `127.0.0.1:${scorerPorts[i]}`, '--data', join(dir, `scorer-${i}`)], env, /^vdiguard scorer listening on (\S+)/, nodeArgsOf(instance)));
    scorerService = await startTcpBalancer(scorerPorts.map((port) => ({ host: '127.0.0.1', port })));
    const scorerAddress = `127.0.0.1:${scorerService.port}`;
    const gatewayPorts = await Promise.all(Array.from({ length: o.gateways }, freePort));
    const startGateway = (i: number): Promise<ServiceProcess> =>
      named(`gateway${i}`, (env, instance) => startServiceProcess(
        ['gateway', '--data', join(dir, `gateway-${i}`)],
        {
          ...env,
          VDIGUARD_GATEWAY_LISTEN: `127.0.0.1:${gatewayPorts[i]}`,
          VDIGUARD_GATEWAY_SCORER: scorerAddress,
          VDIGUARD_GATEWAY_BRIDGE: 'off',
          VDIGUARD_GUACD: `127.0.0.1:${guacd.port}`,
          VDIGUARD_GATEWAY_SECRET_KEY: secretKey.toString('base64'),
          VDIGUARD_TUNNEL_IDLE_SECONDS: '3600',
        },
        /vdiguard gateway on (\S+) is running/,
        nodeArgsOf(instance),
      ));
    // Enrolment on a scorer of its own, before the soak's scorers start, so that they load the
    // population sample the store then holds; it exports no metrics, so it is not in the report.
    const setupEnv: Record<string, string> = { ...common('setup') };
    delete setupEnv.OTEL_EXPORTER_OTLP_ENDPOINT;
    const setup = await startServiceProcess(['scorer', '--listen', `127.0.0.1:${await freePort()}`, '--data', join(dir, 'scorer-setup')], setupEnv, /^vdiguard scorer listening on (\S+)/);
    try {
      await enrolAgents(agents, setup.address, adminTokenFile, dir);
    } finally {
      await setup.stop();
    }
    await addAbsentAgents(db, agents, o.absent);
    o.progress(`${agents.filter((a) => a.hands !== 'newcomer').length} agents enrolled; ${o.absent} more in the store, who do not work today`);
    const scorers = [await startScorer(0), await startScorer(1)];
    services.push(...scorers);
    const gateways: ServiceProcess[] = [];
    for (let i = 0; i < o.gateways; i++) gateways.push(await startGateway(i));
    services.push(...gateways);
    o.progress(`scorers on ${scorers.map((s) => s.address).join(', ')} behind ${scorerAddress}, gateways on ${gateways.map((g) => g.address).join(', ')}`);

    const rampMs = rampMsOf(o.seconds);
    const started = Date.now();
    let stats: LoadStats | undefined;
    let signedInAt: number | undefined;
    const sentLate: { timeMs: number; ms: number }[] = [];
    load.on('message', (m: FromLoad) => {
      if (!('stats' in m)) return;
      stats = m.stats;
      if (m.stats.sentLateP99Ms !== null) sentLate.push({ timeMs: Date.now(), ms: m.stats.sentLateP99Ms });
      if (signedInAt === undefined && m.stats.signedIn >= agents.length) signedInAt = Date.now();
    });
    load.send({ start: { gateways: gateways.map((g) => g.address), desktopId: DESKTOP, agents, rampMs } } satisfies ToLoad);
    const at = async (fraction: number): Promise<void> => sleep(Math.max(0, started + fraction * o.seconds * 1000 - Date.now()));
    // Heap snapshots of every service at the start of steady time and at its end (before the load
    // stops), each named by its process: who was alive at both can be compared.
    const snapshotAll = async (): Promise<Map<ServiceProcess, { bytes: number; summary: HeapSummary; atMs: number }>> => {
      const out = new Map<ServiceProcess, { bytes: number; summary: HeapSummary; atMs: number }>();
      if (!o.heapSnapshotDir) return out;
      for (const svc of [...scorers, ...gateways]) {
        // A service a fault stops while it is being snapshotted writes none: it is left out of the
        // comparison, and the soak goes on.
        const taken = await takeHeapSnapshot(svc.child, o.heapSnapshotDir).catch((err: Error) => {
          o.progress(`no heap snapshot of ${instanceOf.get(svc.child.pid) ?? 'a service'}: ${err.message}`);
          return undefined;
        });
        if (taken) out.set(svc, { bytes: taken.summary.bytes, summary: taken.summary, atMs: Date.now() });
      }
      return out;
    };
    // Steady time starts after the sign-in ramp: the planned one, or the real one when sign-ins
    // took longer (a gateway busy hashing passwords tells some agents to try again). The ramp is
    // a shift start, not the steady load the targets are about; its figures are printed beside.
    const steadyFrom = (async (): Promise<number> => {
      const rampEnd = started + rampMs;
      const runEnd = started + o.seconds * 1000;
      while (signedInAt === undefined && Date.now() < runEnd) await sleep(1000);
      return Math.max(rampEnd, signedInAt ?? rampEnd) + WARMUP_AFTER_RAMP_MS;
    })();
    const steadyStart = steadyFrom.then((from) => sleep(Math.max(0, from - Date.now()))).then(snapshotAll);
    const faults: string[] = [];
    const disturbed: Span[] = [];
    const disturbance = async (fault: () => Promise<void>): Promise<void> => {
      const fromMs = Date.now();
      await fault();
      disturbed.push({ fromMs, toMs: Date.now() + RECOVERY_MS });
    };
    const note = (what: string): void => {
      faults.push(`${((Date.now() - started) / 1000).toFixed(0)} s: ${what}`);
      o.progress(faults.at(-1) as string);
    };
    const ticker = setInterval(() => {
      if (stats) o.progress(`${((Date.now() - started) / 1000).toFixed(0)} s: ${stats.active} clients, ${stats.tunnels} tunnels, ${stats.events} events, ${stats.reconnects} reconnects, ${stats.ended} ended`);
    }, 30_000);
    try {
      if (o.faults) {
        await at(0.3);
        // A heap snapshot stops its process for seconds: a scorer stopped meanwhile left its
        // sessions nowhere to go (the other scorer was writing one), and 490 of them ended
        // fail-closed. The faults wait for the snapshots.
        if (o.heapSnapshotDir) await steadyStart;
        await disturbance(async () => {
          const stopped = await (scorers[0] as ServiceProcess).stop();
          note(`scorer 0 stopped with SIGTERM (exit ${stopped.code ?? stopped.signal}) and started again`);
          scorers[0] = await startScorer(0);
          services.push(scorers[0]);
        });
        await at(0.5);
        await disturbance(async () => {
          const cutMs = Math.min(30_000, (o.seconds * 1000) / 6);
          proxy.cut();
          note(`database cut for ${(cutMs / 1000).toFixed(0)} s`);
          await sleep(cutMs);
          proxy.restore();
        });
        await at(0.7);
        await disturbance(async () => {
          const last = o.gateways - 1;
          const gone = await (gateways[last] as ServiceProcess).stop();
          note(`gateway ${last} stopped with SIGTERM (exit ${gone.code ?? gone.signal}) and started again`);
          gateways[last] = await startGateway(last);
          services.push(gateways[last] as ServiceProcess);
        });
      }
      await at(1);
    } finally {
      clearInterval(ticker);
    }
    const snapshotsAtStart = await steadyStart;
    const snapshotsAtEnd = await snapshotAll();
    const phases: Phases = { steady: { fromMs: await steadyFrom, toMs: Date.now() }, disturbed };
    const heaps = [...snapshotsAtEnd].flatMap(([svc, end]) => {
      const start = snapshotsAtStart.get(svc);
      return start ? [{ instance: instanceOf.get(svc.child.pid) ?? `pid ${svc.child.pid}`, start, end }] : [];
    });
    load.send({ stop: true } satisfies ToLoad);
    const final = ((await fromLoad((m) => 'stopped' in m)) as { stopped: LoadStats }).stopped;
    // The tunnels' ends reach the gateways and their mirrors' closes the scorer; then everyone stops.
    await sleep(3000);
    const exits = [];
    for (const g of gateways) exits.push(await g.stop());
    for (const s of scorers) exits.push(await s.stop());
    if (exits.some((e) => e.code !== 0)) throw new Error(`a service did not stop cleanly: ${JSON.stringify(exits)}`);
    // What a stop had to spill (the database was still catching up) the next start writes, as
    // after a real restart: each such service starts once more, and stops.
    const again = [...scorers.map((_, i) => ({ spill: join(dir, `scorer-${i}`, 'spill'), start: () => startScorer(i) })), ...gateways.map((_, i) => ({ spill: join(dir, `gateway-${i}`, 'spill'), start: () => startGateway(i) }))];
    for (const a of again.filter((x) => spillFiles(x.spill) > 0)) {
      const next = await a.start();
      services.push(next);
      // The file goes once every record in it is written.
      for (const deadline = Date.now() + 120_000; spillFiles(a.spill) > 0 && Date.now() < deadline; ) await sleep(500);
      const stopped = await next.stop();
      note(`${next.args[0]} on ${a.spill} started once more to write what it spilled (exit ${stopped.code ?? stopped.signal})`);
    }
    await sleep(EXPORT_MS);
    const ramp = { signedInByS: signedInAt === undefined ? null : Math.round((signedInAt - started) / 1000), steadyFromS: Math.round((phases.steady.fromMs - started) / 1000) };
    return await report(o, db, otlp, services, final, sentLate, faults, phases, heaps, ramp);
  } finally {
    if (o.logsDir) {
      mkdirSync(o.logsDir, { recursive: true });
      services.forEach((s, i) => writeFileSync(join(o.logsDir as string, `${i}-${s.args[0]}.jsonl`), s.log.map((l) => JSON.stringify(l)).join('\n')));
    }
    for (const s of services) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    if (load.exitCode === null) load.kill();
    await guacd.close();
    await otlp.close();
    await scorerService?.close();
    await proxy.close();
    await db.close();
    await dropDatabase();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The agents (one session each), a desktop they share, and whose hands each session has. */
async function addAgents(db: Db, secretKey: Buffer, o: SoakOptions): Promise<AgentPlan[]> {
  const store = new GatewayStore(db, new SecretBox(secretKey));
  await store.addDesktop({ desktopId: DESKTOP, displayName: 'Soak desktop', host: '127.0.0.1', port: 3389, security: 'tls', domain: '', ignoreCert: true, certFingerprints: '', credentials: { username: 'soak', password: 'soak' } });
  // One hash for all: scrypt costs a tenth of a second each.
  const passwordHash = await hashPassword(PASSWORD);
  const agents: AgentPlan[] = [];
  for (let i = 0; i < o.sessions; i++) {
    const agentId = `soak-${String(i).padStart(4, '0')}`;
    const totpSecret = newTotpSecret();
    await store.addAgent({ agentId, displayName: agentId, passwordHash, totpSecret });
    await store.assign(DESKTOP, agentId);
    const hands = i < o.enrolled ? (i % 2 === 0 ? 'agent' : 'impostor') : 'newcomer';
    agents.push({ agentId, password: PASSWORD, totpSecret, hands, track: (i + (hands === 'impostor' ? 1 : 0)) % TRACK_USERS });
  }
  return agents;
}

/** Gives the first agents a mature profile, enrolled from their own typing and their own pointer track's start. */
async function enrolAgents(agents: readonly AgentPlan[], address: string, adminTokenFile: string, dir: string): Promise<void> {
  const tracks = await loadMouseTracks(TRACK_USERS);
  for (const [i, a] of agents.filter((x) => x.hands !== 'newcomer').entries()) {
    const file = join(dir, `enrol-${a.agentId}.jsonl`);
    // Agent i's own track is track i mod TRACK_USERS; an impostor replays the next user's on it.
    const own = tracks[agents.indexOf(a) % tracks.length]!;
    await writeRecording(file, { format: 'vdiguard.recording.v1', agent: a.agentId, source: 'soak' }, enrolmentRecording(own, ALICE, 9000 + i * 1000, 400));
    await enroll({ address, adminTokenFile, agent: a.agentId, file });
  }
}

/**
 * Profiles of `count` agents who do not work during the soak. POPULATION_MAX_AGENTS of them fill a
 * scorer's population sample (the background its fits learn against; scorer/models/population.ts)
 * from the start, as in a deployment that has run for a while. Without them the sample filled up during the run as
 * newcomers enrolled, and the scorers' memory grew with it (by some 17 MiB per 100 agents in each
 * fit worker), which the soak could not tell from a leak. Each is a copy of an enrolled agent's
 * windows; only windows go into the sample, so no templates are fitted for them.
 */
async function addAbsentAgents(db: Db, agents: readonly AgentPlan[], count: number): Promise<void> {
  if (count === 0) return;
  const profiles = new ProfileStore(db);
  const enrolled = await Promise.all(agents.filter((a) => a.hands !== 'newcomer').map((a) => profiles.get(a.agentId)));
  const bodies = enrolled.flatMap((r) => (r ? [r.body] : []));
  if (bodies.length === 0) throw new Error('no enrolled profile to copy into the population: enrolment failed (see the scorer log above)');
  for (let i = 0; i < count; i++) {
    const { keystroke, mouse } = bodies[i % bodies.length]!;
    const body = { keystroke: { ...keystroke, model: '', template: null }, mouse: { ...mouse, model: '', template: null } };
    await profiles.update(`absent-${String(i).padStart(4, '0')}`, 'soak: an agent who does not work today', async () => ({ body, state: 'enrolling' }));
  }
}

/**
 * The contribution parts the scorers wrote, by their 'session closed' lines: each names the parts
 * it wrote for the session. A session ended for suspected remote control withdraws every part of
 * it, including those another scorer wrote before a hand-over.
 */
function expectedContributionParts(logs: readonly LogLine[]): number {
  const closed = logs.filter((l) => l.msg === 'session closed');
  const withdrawn = new Set(closed.filter((l) => l.withdrawn === true).map((l) => l.sessionId));
  return closed.filter((l) => !withdrawn.has(l.sessionId)).reduce((n, l) => n + (typeof l.contributionParts === 'number' ? l.contributionParts : 0), 0);
}

async function report(
  o: SoakOptions,
  db: Db,
  otlp: OtlpReceiver,
  services: readonly ServiceProcess[],
  load: LoadStats,
  sentLate: readonly { timeMs: number; ms: number }[],
  faults: string[],
  phases: Phases,
  heaps: readonly { instance: string; start: { summary: HeapSummary; atMs: number }; end: { summary: HeapSummary; atMs: number } }[],
  ramp: { readonly signedInByS: number | null; readonly steadyFromS: number },
): Promise<SoakReport> {
  const logs: LogLine[] = services.flatMap((s) => s.log);
  const count = (sql: string): Promise<number> => countRows(db, sql);
  const distinct = (msg: string, pick: (l: LogLine) => boolean = () => true): number => new Set(logs.filter((l) => l.msg === msg && pick(l)).map((l) => l.sessionId)).size;
  const records = {
    decisions: { expected: logs.filter((l) => l.msg === 'decision').length, written: await count('SELECT 1 FROM decisions') },
    sessionsStarted: { expected: distinct('session opened'), written: await count('SELECT 1 FROM sessions') },
    sessionsEnded: { expected: distinct('session closed'), written: await count('SELECT 1 FROM sessions WHERE ended_at IS NOT NULL') },
    contributions: {
      expected: expectedContributionParts(logs),
      written: await count('SELECT 1 FROM profile_contributions'),
      applied: await count('SELECT 1 FROM profile_contributions WHERE applied_version IS NOT NULL'),
    },
  };

  const memory = otlp.gaugeValues('process.memory.usage');
  const instances = [...new Set(memory.map((g) => g.instance))].sort();
  const start = Math.min(...memory.map((g) => g.timeMs));
  const steady = (t: number) => isSteady(t, phases);
  const worst = (xs: readonly number[]) => (xs.length > 0 ? Math.max(...xs) : null);
  const mine = (points: { instance: string; timeMs: number; value: number }[], instance: string) => points.filter((g) => g.instance === instance).map((g) => ({ timeMs: g.timeMs, value: g.value }));
  /** The sessions a process held over time: a gateway's or a scorer's own count, in time order. */
  const heldBy = (instance: string) =>
    [...mine(otlp.sumValues('vdiguard.gateway.sessions.active'), instance), ...mine(otlp.sumValues('vdiguard.scorer.sessions.active'), instance)].sort((a, b) => a.timeMs - b.timeMs);
  const processes: ProcessFigures[] = instances.map((instance) => {
    const of = (name: string) => mine(otlp.gaugeValues(name), instance);
    const held = heldBy(instance);
    const delays = of('nodejs.eventloop.delay.p99').map((d) => ({ timeMs: d.timeMs, ms: d.value * 1000 }));
    const pending = of('vdiguard.scorer.writes.pending').map((d) => d.value);
    const steadySamples = (name: string) => of(name).filter((x) => steady(x.timeMs));
    const pauses = (b: Buckets | null | undefined): GcPauses | null => {
      const collections = b ? b.bucketCounts.reduce((a, c) => a + c, 0) : 0;
      return b && collections > 0 ? { collections, longestMs: quantileBound(b, 1) * 1000, p99Ms: quantileBound(b, 0.99) * 1000 } : null;
    };
    const gcPoints = (type: GcType) => otlp.histogramPoints(GC_DURATION, { 'v8js.gc.type': type }).filter((x) => x.instance === instance);
    return {
      instance,
      rss: growthAfterWarmup(steadySamples('process.memory.usage'), 0, held),
      liveHeap: growthAfterWarmup(steadySamples(LIVE_HEAP), 0, held),
      timeline: timeline(start, TIMELINE_STEP_MS, {
        rssBytes: of('process.memory.usage'),
        heapCommittedBytes: of('vdiguard.runtime.heap.committed'),
        fitHeapCommittedBytes: of('vdiguard.scorer.fit.heap.committed'),
        liveHeapBytes: of(LIVE_HEAP),
        loopMs: delays.map((d) => ({ timeMs: d.timeMs, value: d.ms })),
        sessions: held,
      }),
      sessionsHeld: worst(held.map((h) => h.value)),
      loopDelayP99Ms: worst(delays.map((d) => d.ms)),
      loopDelaySteadyP99Ms: worst(delays.filter((d) => steady(d.timeMs)).map((d) => d.ms)),
      writesPendingMax: worst(pending),
      gc: {
        // Cumulative: the last point holds the whole run.
        run: { major: pauses(gcPoints('major').at(-1)), minor: pauses(gcPoints('minor').at(-1)) },
        steady: { major: pauses(steadyBuckets(gcPoints('major'), phases)), minor: pauses(steadyBuckets(gcPoints('minor'), phases)) },
      },
    };
  });
  const points = otlp.histogramPoints('vdiguard.gateway.verdict.latency');
  const latest = new Map<string, { bounds: number[]; bucketCounts: number[] }>();
  for (const p of points) latest.set(p.instance, p);
  const figures = (b: Buckets | null) => {
    const h = b ?? { bounds: [], bucketCounts: [] };
    return { p50: quantileBound(h, 0.5), p99: quantileBound(h, 0.99), verdicts: h.bucketCounts.reduce((a, c) => a + c, 0) };
  };
  const verdictLatencyMs = { ...figures(addBuckets([...latest.values()])), steady: figures(steadyBuckets(points, phases)) };

  const sentLateP99Ms = { run: worst(sentLate.map((x) => x.ms)), steady: worst(sentLate.filter((x) => steady(x.timeMs)).map((x) => x.ms)) };

  const same = (r: { expected: number; written: number }): boolean => r.expected === r.written;
  const checks = [
    { name: 'every agent signed in', passed: load.signedIn === o.sessions, detail: `${load.signedIn} of ${o.sessions}${ramp.signedInByS === null ? '' : `, the last ${ramp.signedInByS} s into the run`} (${load.busy} sign-ins answered busy and asked again, ${load.retries} refused or unanswered requests tried again)` },
    {
      name: `the load kept to its schedule: input sent at most ${MAX_SENT_LATE_P99_MS} ms late (p99), steady`,
      passed: (sentLateP99Ms.steady ?? 0) <= MAX_SENT_LATE_P99_MS,
      detail: `worst steady window ${sentLateP99Ms.steady ?? 'none'} ms (the whole run: ${sentLateP99Ms.run ?? 'none'} ms)`,
    },
    { name: 'every decision in the store', passed: same(records.decisions), detail: `${records.decisions.written} of ${records.decisions.expected}` },
    { name: 'every session start in the store', passed: same(records.sessionsStarted), detail: `${records.sessionsStarted.written} of ${records.sessionsStarted.expected}` },
    { name: 'every session end in the store', passed: same(records.sessionsEnded), detail: `${records.sessionsEnded.written} of ${records.sessionsEnded.expected}` },
    { name: 'every profile contribution in the store', passed: same(records.contributions), detail: `${records.contributions.written} of ${records.contributions.expected} (${records.contributions.applied} applied)` },
    ...processes.flatMap((p) => [
      {
        name: `${p.instance}: memory growth in steady time, the sessions held aside, at most ${MAX_GROWTH * 100}%`,
        passed: p.rss === null || (p.rss.growth <= MAX_GROWTH && (p.liveHeap?.growth ?? 0) <= MAX_GROWTH),
        detail: p.rss === null ? 'too short-lived to say'
          : `resident ${(p.rss.growth * 100).toFixed(1)}%, live heap ${((p.liveHeap?.growth ?? 0) * 100).toFixed(1)}%${p.rss.perSessionBytes === null ? ' (the sessions held did not change enough to set apart)' : ''}`,
      },
      {
        name: `${p.instance}: event loop delay p99 at most ${MAX_LOOP_DELAY_P99_MS} ms, steady`,
        passed: (p.loopDelaySteadyP99Ms ?? 0) <= MAX_LOOP_DELAY_P99_MS,
        detail: `worst steady window ${p.loopDelaySteadyP99Ms?.toFixed(1) ?? 'none'} ms (worst of the run, faults and ramp included: ${p.loopDelayP99Ms?.toFixed(1) ?? '?'} ms)`,
      },
    ]),
    {
      name: `verdict latency p99 at most ${MAX_VERDICT_P99_MS} ms, steady`,
      passed: verdictLatencyMs.steady.p99 <= MAX_VERDICT_P99_MS,
      detail: `p50 <= ${verdictLatencyMs.steady.p50} ms, p99 <= ${verdictLatencyMs.steady.p99} ms over ${verdictLatencyMs.steady.verdicts} verdicts`
        + ` (the whole run: p50 <= ${verdictLatencyMs.p50} ms, p99 <= ${verdictLatencyMs.p99} ms over ${verdictLatencyMs.verdicts})`,
    },
  ];
  const heapFigures: HeapFigures[] = heaps.map(({ instance, start, end }) => ({
    service: instance,
    startBytes: start.summary.bytes,
    endBytes: end.summary.bytes,
    startSessions: heldAt(heldBy(instance), start.atMs),
    endSessions: heldAt(heldBy(instance), end.atMs),
    grew: heapGrowth(start.summary, end.summary, 5),
  }));
  return { sessions: o.sessions, seconds: o.seconds, load, processes, verdictLatencyMs, sentLateP99Ms, records, faults, ...ramp, heaps: heapFigures, checks, passed: checks.every((c) => c.passed) };
}
