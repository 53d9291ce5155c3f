/**
 * `npm run bench:scorer`: what scoring costs, on real behaviour (Aalto keystrokes merged with
 * SapiMouse pointer movement, one participant of each per synthetic agent).
 *
 * 1. Engine: events per second per core of the scoring path in process (features, model, trust),
 *    and the model's latency per window.
 * 2. gRPC: a scorer in its own process, `--sessions` concurrent streams each sending `--rate`
 *    events per second in 100 ms batches for `--seconds`: the scorer's CPU, and the decision
 *    latency from sending the batch that completes a window to receiving its verdict.
 *
 * 3. Fit: milliseconds to fit a 400-window keystroke profile and a SapiMouse user's mouse template
 *    against the other agents (what enrolment and `vdiguard train` cost per agent).
 *
 * All three run the production models with their population networks, as a deployment has after
 * `vdiguard train`: a keystroke embedding network, and a mouse action network with an output for
 * each of DEPLOYMENT_AGENTS agents (the bench's own, and stand-ins with one window each). Both are
 * trained briefly: their cost per window depends on their shape, not on how well they were trained.
 *
 * Options: --sessions N (1000) --rate EV_PER_S (20) --seconds S (30) --agents A (8)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { InputEvent, SessionResponse } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { openDb } from '../../lib/db/db.js';
import { silentLogger } from '../../lib/log.js';
import { extractMembers, listMembers, projectRoot } from '../datasets/archive.js';
import { importAaltoFile } from '../datasets/aalto.js';
import { importSapimouseFile } from '../datasets/mouse-datasets.js';
import { defaultPipelines, RoutedExtractor, type ModalityPipeline } from '../models/pipelines.js';
import { trainKeyEmbedding, type KeyEmbeddingNetwork } from '../models/keystroke-embedding.js';
import { trainActionNetwork, type ActionNetwork } from '../models/action-network.js';
import { modelToJson } from '../models/tf/artifacts.js';
import type { NetworkArtifacts } from '../models/fit-pool.js';
import { storeActionNetwork, storeKeyEmbedding } from '../service/population-networks.js';
import { pipelineOf, vectorsOf, wholeWindow } from '../eval/windows.js';
import { initTf } from '../models/tf/runtime.js';
import { splitIndex } from '../recording/split.js';
import { writeRecording } from '../recording/writer.js';
import { ScorerEngine } from '../service/engine.js';
import { DEFAULT_TRUST_POLICY } from '../trust/trust.js';
import { enroll } from '../commands/admin.js';
import { bearerMetadata, scorerClient } from '../client.js';

const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '30' },
    agents: { type: 'string', default: '8' },
  },
});
const SESSIONS = Number(args.sessions);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const AGENTS = Number(args.agents);
const BATCH_MS = 100;
const MATURITY = { keystrokes: 300, mouseActions: 40, maxWindows: 400 };

interface Agent {
  readonly id: string;
  readonly enrol: InputEvent[];
  readonly test: InputEvent[];
}

/** Keystrokes of one Aalto participant and pointer events of one SapiMouse user, merged by time. */
async function agents(): Promise<Agent[]> {
  const keyFiles = (await listMembers('aalto')).filter((m) => m.endsWith('_keystrokes.txt')).slice(0, AGENTS);
  const mouseFiles = (await listMembers('sapimouse')).filter((m) => m.endsWith('_3min.csv')).slice(0, AGENTS);
  const keyRoot = await extractMembers('aalto', keyFiles);
  const mouseRoot = await extractMembers('sapimouse', mouseFiles);
  const out: Agent[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const keys = (await importAaltoFile(join(keyRoot, keyFiles[i] as string))).events;
    const mouse = (await importSapimouseFile(join(mouseRoot, mouseFiles[i] as string))).events;
    const merged = [...keys, ...mouse].sort((a, b) => a.timeMs - b.timeMs);
    const at = splitIndex(merged, 0.5);
    out.push({ id: `agent-${i}`, enrol: merged.slice(0, at), test: merged.slice(at) });
  }
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number);
}

/** Steps of the bench's keystroke network: enough to run, far too few to be a good model. */
const NETWORK_STEPS = 100;
/** Agents the bench's mouse action network has outputs for: the size of deployment the scorer is sized for. */
const DEPLOYMENT_AGENTS = 1000;

interface BenchNetworks {
  readonly keyEmbedding: KeyEmbeddingNetwork;
  readonly actionNetwork: ActionNetwork;
}

function benchNetworks(all: Agent[]): BenchNetworks {
  const windows = all.map((a) => wholeWindow(defaultPipelines, 'keystroke', a.enrol, 50)).filter((w) => w !== undefined);
  const mouse = pipelineOf(defaultPipelines, 'mouse');
  const agents = all.map((a) => ({ agentId: a.id, windows: vectorsOf(mouse, a.enrol) }));
  const spare = agents.flatMap((a) => a.windows);
  const standIns = Array.from({ length: Math.max(0, DEPLOYMENT_AGENTS - agents.length) }, (_, i) => ({ agentId: `stand-in-${i}`, windows: [spare[i % spare.length] as number[]] }));
  return {
    keyEmbedding: trainKeyEmbedding(windows.map((w) => [w]), { steps: NETWORK_STEPS }),
    actionNetwork: trainActionNetwork([...agents, ...standIns], { epochs: 1 }),
  };
}

async function benchEngine(all: Agent[], pipelines: ModalityPipeline[], networks: BenchNetworks): Promise<void> {
  const db = await openDb({});
  // The fit workers build their pipelines from these, as a scorer's do from the networks it loaded.
  const artifacts: NetworkArtifacts = { keyEmbedding: modelToJson(networks.keyEmbedding.model), actionNetwork: modelToJson(networks.actionNetwork.model) };
  const engine = new ScorerEngine({
    db,
    log: silentLogger(),
    pipelines,
    networks: artifacts,
    // Never terminate: a terminated session skips its remaining events, which would flatter the figure.
    policy: { trust: { ...DEFAULT_TRUST_POLICY, terminateAt: Number.POSITIVE_INFINITY }, maturity: MATURITY, adaptMaxScore: 1.5 },
    maxBatchEvents: 1_000_000,
    resumeGraceMs: 0,
  });
  for (const a of all) await engine.enroll(a.id, a.enrol);
  // Population models: every agent refitted against the others (what `vdiguard train` does), so
  // the figures are those of the classifiers, not of their fallback.
  await engine.refitProfiles();

  const sessions = 200;
  for (let s = 0; s < sessions; s++) {
    await engine.openSession({ sessionId: `s${s}`, agentId: (all[s % all.length] as Agent).id, desktopId: 'd', clientAddress: '' }, false);
  }
  let events = 0;
  let verdicts = 0;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const cursors = new Array<number>(sessions).fill(0);
  const seqs = new Array<number>(sessions).fill(0);
  for (let more = true; more; ) {
    more = false;
    for (let s = 0; s < sessions; s++) {
      const list = (all[s % all.length] as Agent).test;
      const from = cursors[s] as number;
      if (from >= list.length) continue;
      more = true;
      let to = from;
      const until = (list[from] as InputEvent).timeMs + BATCH_MS;
      while (to < list.length && (list[to] as InputEvent).timeMs < until) to++;
      cursors[s] = to;
      verdicts += engine.applyBatch(`s${s}`, (seqs[s] = (seqs[s] as number) + 1), list.slice(from, to)).length;
      events += to - from;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const wall = (performance.now() - wall0) / 1000;

  const x = new RoutedExtractor(pipelines);
  const windows = all.flatMap((a) => a.test.flatMap((e) => x.push(e)));
  const profiles = new Map(await Promise.all(all.map(async (a) => [a.id, (await engine.profiles.get(a.id))!.body] as const)));
  // Templates fitted with the networks, per modality: otherwise the figures would be the fallbacks'.
  const withNetwork = (m: 'keystroke' | 'mouse') => [...profiles.values()].filter((b) => typeof (b[m].template as { network?: unknown } | null)?.network === 'string').length;
  const t0 = performance.now();
  let scored = 0;
  for (let r = 0; r < 20; r++) {
    for (const [id, body] of profiles) {
      for (const w of windows) {
        const template = body[w.modality].template;
        const p = pipelines.find((q) => q.modality === w.modality)!;
        if (template !== null && id) {
          // A copy: the keyboard model caches a window's embedding by identity, and the scorer
          // scores each window once, so a repeat would not pay for the network.
          p.model.score(template, w.vector.slice());
          scored++;
        }
      }
    }
  }
  const perWindowUs = ((performance.now() - t0) * 1000) / scored;
  for (let s = 0; s < sessions; s++) engine.closeSession(`s${s}`, 'bench');
  await engine.shutdown(10_000);
  await db.close();
  console.log(
    JSON.stringify({
      bench: 'engine',
      sessions,
      events,
      verdicts,
      cpuSeconds: +cpuSeconds.toFixed(2),
      wallSeconds: +wall.toFixed(2),
      eventsPerSecondPerCore: Math.round(events / cpuSeconds),
      modelLatencyUsPerWindow: +perWindowUs.toFixed(1),
      templatesWithNetworks: { keystroke: withNetwork('keystroke'), mouse: withNetwork('mouse'), agents: profiles.size },
    }),
  );
}

async function benchFit(all: Agent[], pipelines: ModalityPipeline[]): Promise<void> {
  const ms: Record<string, number> = {};
  for (const p of pipelines) {
    const windowsOf = (a: Agent): number[][] => {
      const x = p.createExtractor();
      return a.enrol.flatMap((e) => x.push(e)).map((w) => w.vector);
    };
    const [own, ...others] = all.map(windowsOf);
    // A mature keystroke profile holds up to 400 windows; the datasets give a participant ~20, so
    // they repeat (a fit's cost depends on the counts, not on the values).
    const want = p.modality === 'keystroke' ? MATURITY.maxWindows : (own as number[][]).length;
    const windows = Array.from({ length: want }, (_, i) => (own as number[][])[i % (own as number[][]).length] as number[]);
    // The first agent's own id: the mouse model also scores its impostor cohort with the network.
    const context = { background: { agents: others.length, windows: others.flat() }, agentId: (all[0] as Agent).id };
    p.model.fit(windows, context); // warm-up
    const t0 = performance.now();
    const runs = 3;
    for (let r = 0; r < runs; r++) p.model.fit(windows, context);
    ms[`${p.modality}FitMs`] = Math.round((performance.now() - t0) / runs);
    ms[`${p.modality}Windows`] = windows.length;
  }
  console.log(JSON.stringify({ bench: 'fit', ...ms }));
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function benchGrpc(all: Agent[], networks: BenchNetworks): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vdiguard-bench-'));
  // Stored where the scorer reads its networks at start, as `vdiguard train` leaves them.
  const store = await openDb({ dataDir: join(dir, 'store') });
  await storeKeyEmbedding(store, networks.keyEmbedding, all.length);
  await storeActionNetwork(store, networks.actionNetwork, DEPLOYMENT_AGENTS);
  await store.close();
  const port = 50000 + Math.floor(Math.random() * 10000);
  const address = `127.0.0.1:${port}`;
  const child = spawn(process.execPath, [join(projectRoot(), 'dist/bin/vdiguard.js'), 'scorer', '--listen', address, '--data', dir], {
    env: { ...process.env, VDIGUARD_TRUST_TERMINATE_AT: '1000', VDIGUARD_MATURE_KEYSTROKES: String(MATURITY.keystrokes), VDIGUARD_MATURE_MOUSE_ACTIONS: String(MATURITY.mouseActions), VDIGUARD_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    const tokenFile = join(dir, 'admin-token');
    for (let i = 0; ; i++) {
      try {
        readFileSync(tokenFile);
        break;
      } catch {
        if (i > 300) throw new Error('the scorer did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    for (const a of all) {
      const file = join(dir, `${a.id}.jsonl`);
      await writeRecording(file, { format: 'vdiguard.recording.v1', agent: a.id, source: 'bench' }, a.enrol);
      for (let i = 0; ; i++) {
        try {
          await enroll({ address, adminTokenFile: tokenFile, agent: a.id, file });
          break;
        } catch (err) {
          if (i > 50) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }

    const perBatch = Math.max(1, Math.round((RATE * BATCH_MS) / 1000));
    const latencies: number[] = [];
    let sent = 0;
    let verdicts = 0;
    const errors = new Map<string, number>();
    const clients = Array.from({ length: 8 }, () => scorerClient({ address }));
    // The scorer wrote its gateway token next to the admin token before it listened.
    const asGateway = bearerMetadata(readFileSync(join(dir, 'gateway-token'), 'utf8').trim());
    const streams = Array.from({ length: SESSIONS }, (_, s) => {
      const agent = all[s % all.length] as Agent;
      const call = (clients[s % clients.length] as ReturnType<typeof scorerClient>).session(asGateway);
      const batches: { seq: number; sentAt: number }[] = [];
      call.on('data', (res: SessionResponse) => {
        if (res.kind?.$case !== 'verdict') return;
        verdicts++;
        const seq = res.kind.value.batchSeq;
        while (batches.length > 0 && (batches[0] as { seq: number }).seq < seq) batches.shift();
        if (batches[0]?.seq === seq) latencies.push(performance.now() - (batches[0] as { sentAt: number }).sentAt);
      });
      call.on('error', (err: Error & { details?: string }) => {
        errors.set(err.details ?? err.message, (errors.get(err.details ?? err.message) ?? 0) + 1);
      });
      call.write({ kind: { $case: 'open', value: { sessionId: `bench-${s}`, agentId: agent.id, desktopId: 'd', resume: false, client: undefined } } });
      return { call, agent, cursor: (s * 37) % Math.max(1, agent.test.length - 1000), seq: 0, batches, offsetMs: 0 };
    });
    await new Promise((r) => setTimeout(r, 1000));

    const ticks0 = cpuTicks(child.pid as number);
    const start = performance.now();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (performance.now() - start >= SECONDS * 1000) {
          clearInterval(timer);
          resolve();
          return;
        }
        for (const st of streams) {
          const list = st.agent.test;
          const events: InputEvent[] = [];
          for (let i = 0; i < perBatch; i++) {
            if (st.cursor >= list.length) {
              // Loop the recording with time moved on, so the stream stays monotonic.
              st.offsetMs += (list[list.length - 1] as InputEvent).timeMs + 1000;
              st.cursor = 0;
            }
            const e = list[st.cursor++] as InputEvent;
            events.push({ ...e, timeMs: e.timeMs + st.offsetMs });
          }
          st.batches.push({ seq: ++st.seq, sentAt: performance.now() });
          st.call.write({ kind: { $case: 'events', value: { seq: st.seq, events } } });
          sent += events.length;
        }
      }, BATCH_MS);
    });
    const elapsed = (performance.now() - start) / 1000;
    const cores = (cpuTicks(child.pid as number) - ticks0) / 100 / elapsed;
    for (const st of streams) st.call.end();
    for (const c of clients) c.close();
    latencies.sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        bench: 'grpc',
        sessions: SESSIONS,
        eventsPerSessionPerSecond: RATE,
        seconds: +elapsed.toFixed(1),
        eventsSent: sent,
        eventsPerSecond: Math.round(sent / elapsed),
        verdicts,
        scorerCores: +cores.toFixed(2),
        scorerEventsPerSecondPerCore: Math.round(sent / elapsed / Math.max(cores, 1e-6)),
        streamErrors: Object.fromEntries(errors),
        decisionLatencyMs: { p50: +percentile(latencies, 0.5).toFixed(1), p99: +percentile(latencies, 0.99).toFixed(1), samples: latencies.length },
      }),
    );
  } finally {
    child.kill('SIGTERM');
  }
}

process.stderr.write(`TensorFlow.js backend: ${await initTf()}\n`);
const all = await agents();
const networks = benchNetworks(all);
const pipelines = defaultPipelines(networks);
await benchFit(all, pipelines);
await benchEngine(all, pipelines, networks);
await benchGrpc(all, networks);
