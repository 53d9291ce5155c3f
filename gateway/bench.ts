/**
 * `npm run bench:gateway`: the gateway's figures (not part of npm test).
 *
 * - tap overhead per instruction: InputTap.push on one-instruction messages, as
 *   guacamole-common-js sends them, against a pass-through that only forwards; and per input
 *   instruction with the page's client time before it (docs/client-times.md: one more message,
 *   consumed by the tap), the cost the extension adds; and per timing-only sample, with a 1000 Hz
 *   mouse's 16 samples before each move of a 60 Hz frame (in one message, as the page sends them).
 * - gateway added latency p50 / p99: browser-side send to guacd-side receive, through the
 *   gateway (WebSocket in, tap, guacamole-lite, TCP out), on loopback.
 * - sessions per core with mirroring on: the gateway's own CPU time per session at a busy
 *   agent's input rate (10 keystrokes and 30 mouse moves a second, each after its client time as
 *   the page sends it), every event mirrored.
 * - terminate verdict to closed WebSocket.
 *
 * The load (WebSocket clients), the guacd stand-in and the scorer stand-in run in a child process,
 * so the parent's CPU time is the gateway's alone and latencies are measured on one clock.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { openDb } from '../lib/db/db.js';
import { silentLogger } from '../lib/log.js';
import { Action } from '../proto/gen/vdiguard/scorer/v1/scorer.js';
import { loadGatewaySettings } from './config.js';
import { startGateway } from './gateway.js';
import { scorerLink } from './mirror/scorer-link.js';
import { InputTap } from './tap/tap.js';
import { startFakeGuacd } from './testing/fake-guacd.js';
import { startFakeScorer } from './testing/fake-scorer.js';
import { encodeInstruction, GuacParser } from './guac/index.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);

type ToChild = { cmd: 'run'; url: string; tickets: string[]; seconds: number } | { cmd: 'terminate'; url: string; tickets: string[] };
type FromChild =
  | { ready: { guacd: number; scorer: string } }
  | { latency: number[]; events: number; opened: number }
  | { terminateMs: number[] };

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** Samples before each move in the bench: a 1000 Hz mouse coalesced into a 60 Hz frame. */
const BENCH_SAMPLES = 16;

function tapOverhead(): { tapNs: number; passNs: number; timedNs: number; sampleNs: number } {
  const messages: string[] = [];
  const timed: string[] = [];
  const sampled: string[] = [];
  const ms = (t: number) => String(Math.round(t * 1000) / 1000);
  for (let i = 0; i < 2_000; i++) {
    const frame = 123_456.789 + i * 16.7;
    const y = 100 + (i % 600);
    const points = Array.from({ length: BENCH_SAMPLES }, (_, k) => [ms(frame + k), String(100 + 10 * k), String(y)]).flat();
    sampled.push(encodeInstruction('vdiguard', 'samples', ...points), encodeInstruction('vdiguard', 'time', ms(frame + BENCH_SAMPLES)), encodeInstruction('mouse', 100 + 10 * BENCH_SAMPLES, y, 0));
  }
  for (let i = 0; i < 10_000; i++) {
    const input = i % 4 === 0 ? encodeInstruction('key', 97 + (i % 26), i % 2) : encodeInstruction('mouse', 100 + (i % 800), 100 + (i % 600), 0);
    messages.push(input);
    // As the page writes them: event.timeStamp to 3 decimals, a few ms apart, in its own message.
    timed.push(encodeInstruction('vdiguard', 'time', String(Math.round((123_456.789 + i * 7.3) * 1000) / 1000)), input);
  }
  /** Nanoseconds per input instruction over `list` (`perInput` messages each). */
  const run = (list: string[], perInput: number, fn: (m: string) => unknown): number => {
    const rounds = 30;
    const start = process.hrtime.bigint();
    for (let r = 0; r < rounds; r++) for (const m of list) fn(m);
    return (Number(process.hrtime.bigint() - start) / (rounds * list.length)) * perInput;
  };
  let sink = 0;
  const queue: unknown[] = [];
  const tap = new InputTap({ clock: () => performance.now(), onInput: (e) => (queue.push(e), queue.length > 1000 && (queue.length = 0), true) });
  const push = (m: string): void => {
    if (tap.push(m).error) throw new Error('benchmark input is malformed');
  };
  const pass = (m: string): void => {
    sink += m.length;
  };
  run(messages, 1, push); // warm up
  run(timed, 2, push);
  run(sampled, 1, push);
  run(messages, 1, pass);
  const tapNs = run(messages, 1, push);
  const timedNs = run(timed, 2, push);
  // Per move (its samples, time and mouse), less the move with its time: what each sample adds.
  const sampleNs = (run(sampled, 3, push) - timedNs) / BENCH_SAMPLES;
  const passNs = run(messages, 1, pass);
  if (sink < 0) console.log(sink);
  return { tapNs, passNs, timedNs, sampleNs };
}

async function parent(): Promise<void> {
  const tap = tapOverhead();
  console.log(`tap: ${tap.tapNs.toFixed(0)} ns per instruction (parse, stamp, queue); a pass-through costs ${tap.passNs.toFixed(0)} ns`);
  console.log(`tap with the page's client times: ${tap.timedNs.toFixed(0)} ns per input instruction and its time (${(tap.timedNs - tap.tapNs).toFixed(0)} ns added)`);
  console.log(`tap with timing-only samples (${BENCH_SAMPLES} before each move): ${tap.sampleNs.toFixed(0)} ns per sample (read, bounded, mirrored)`);

  const child = fork(fileURLToPath(import.meta.url), ['child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = (): Promise<FromChild> => new Promise((resolve) => child.once('message', (m) => resolve(m as FromChild)));
  const ready = (await next()) as { ready: { guacd: number; scorer: string } };
  const db = await openDb({});
  const link = scorerLink({ address: ready.ready.scorer }, {});
  const settings = loadGatewaySettings({
    VDIGUARD_GATEWAY_LISTEN: '127.0.0.1:0',
    VDIGUARD_GUACD: `127.0.0.1:${ready.ready.guacd}`,
    VDIGUARD_GATEWAY_BRIDGE: 'off',
    VDIGUARD_TUNNEL_IDLE_SECONDS: '3600',
  });
  const gw = await startGateway(settings, { log: silentLogger(), db, secretKey: randomBytes(32), scorer: link, adminToken: randomBytes(24).toString('hex') });
  await gw.store.addDesktop({ desktopId: 'd', displayName: 'D', host: 'h', port: 3389, security: 'tls', domain: '', ignoreCert: true, certFingerprints: '', credentials: { username: 'u', password: 'p' } });
  // An agent per session: an agent's second connection would continue their first session.
  let agents = 0;
  const tickets = async (n: number): Promise<string[]> => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const agentId = `bench-${agents++}`;
      await gw.store.addAgent({ agentId, displayName: agentId, passwordHash: 'x', totpSecret: 'JBSWY3DPEHPK3PXP' });
      await gw.store.assign('d', agentId);
      out.push(gw.login.tickets.issue(agentId, 'd', `l-${randomBytes(4).toString('hex')}`).ticket);
    }
    return out;
  };

  // One quiet session first: the latency the gateway adds when it is not busy.
  child.send({ cmd: 'run', url: gw.url, tickets: await tickets(1), seconds: 5 } satisfies ToChild);
  const quiet = (await next()) as { latency: number[] };
  const q = quiet.latency.sort((a, b) => a - b);
  console.log(`added latency, one session: p50 ${quantile(q, 0.5).toFixed(2)} ms, p99 ${quantile(q, 0.99).toFixed(2)} ms (browser send -> guacd receive through the gateway, loopback, ${q.length} instructions)`);

  child.send({ cmd: 'run', url: gw.url, tickets: await tickets(SESSIONS), seconds: SECONDS } satisfies ToChild);
  // Measure the steady part: from 3 s in to 2 s before the end.
  await new Promise((r) => setTimeout(r, 3000));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, (SECONDS - 5) * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  const busy = (await next()) as { latency: number[]; events: number; opened: number };
  const cores = (cpu.user + cpu.system) / 1000 / wall;
  const perSession = cores / busy.opened;
  const b = busy.latency.sort((x, y) => x - y);
  console.log(`${busy.opened} sessions at 40 events/s each (${busy.events} events mirrored): gateway CPU ${(cores * 100).toFixed(1)}% of one core; latency p50 ${quantile(b, 0.5).toFixed(2)} ms, p99 ${quantile(b, 0.99).toFixed(2)} ms`);
  console.log(`sessions per core with mirroring on: about ${Math.floor(1 / perSession)} (CPU-bound estimate at this input rate; the test load reached ${busy.opened})`);

  child.send({ cmd: 'terminate', url: gw.url, tickets: await tickets(30) } satisfies ToChild);
  const term = (await next()) as { terminateMs: number[] };
  const t = term.terminateMs.sort((x, y) => x - y);
  console.log(`terminate verdict -> WebSocket closed: p50 ${quantile(t, 0.5).toFixed(1)} ms, max ${t[t.length - 1]?.toFixed(1)} ms over ${t.length} sessions (limit 200 ms)`);

  child.kill();
  await gw.close();
  link.close();
  await db.close();
}

/** The load side: guacd and scorer stand-ins, and the browsers. */
async function childMain(): Promise<void> {
  const guacd = await startFakeGuacd({ syncMs: 1000 });
  const scorer = await startFakeScorer();
  const send = (m: FromChild): void => void process.send?.(m);
  send({ ready: { guacd: guacd.port, scorer: scorer.address } });

  const open = async (url: string, ticket: string): Promise<{ ws: WebSocket; sessionId: Promise<string>; conn: Promise<(typeof guacd.connections)[number]> }> => {
    const before = guacd.connections.length;
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/tunnel?ticket=${encodeURIComponent(ticket)}`, 'guacamole');
    const parser = new GuacParser({ maxElementLength: 1 << 20, maxInstructionLength: 1 << 21 });
    let resolveId: (id: string) => void = () => undefined;
    const sessionId = new Promise<string>((r) => (resolveId = r));
    ws.on('message', (d) => {
      for (const r of parser.push(d as Buffer)) if (r.instruction?.opcode === 'vdiguard' && r.instruction.args[0] === 'session') resolveId(r.instruction.args[1] as string);
    });
    await new Promise((r) => ws.once('open', r));
    void before;
    const conn = (async () => {
      const id = await sessionId;
      void id;
      for (;;) {
        const c = guacd.connections.find((x, i) => i >= before && !(x as { taken?: boolean }).taken && Object.keys(x.connectArgs).length > 0);
        if (c) {
          (c as { taken?: boolean }).taken = true;
          return c;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    return { ws, sessionId, conn };
  };

  process.on('message', async (m: ToChild) => {
    if (m.cmd === 'run') {
      const latency: number[] = [];
      let events = 0;
      const sessions: Awaited<ReturnType<typeof open>>[] = [];
      for (const t of m.tickets) sessions.push(await open(m.url, t));
      const conns = await Promise.all(sessions.map((s) => s.conn));
      const pending = new Map<string, number>();
      let seq = 0;
      for (const c of conns) {
        c.onInstruction = (ins, at) => {
          const key = ins.args.join(',');
          const sent = pending.get(key);
          if (sent !== undefined) {
            latency.push(at - sent);
            pending.delete(key);
          }
        };
      }
      const end = performance.now() + m.seconds * 1000;
      let tick = 0;
      // Every 25 ms each session sends a mouse move, and every 100 ms a key: 40 events/s, each after its client time.
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          tick++;
          for (const s of sessions) {
            const n = ++seq;
            const text = tick % 4 === 0 ? `3.key,${String(n).length}.${n},1.1;` : `5.mouse,${String(n).length}.${n},2.10,1.0;`;
            const now = performance.now();
            pending.set(tick % 4 === 0 ? `${n},1` : `${n},10,0`, now);
            s.ws.send(encodeInstruction('vdiguard', 'time', String(Math.round(now * 1000) / 1000))); // as the page does
            s.ws.send(text);
            events++;
          }
          if (performance.now() > end) {
            clearInterval(timer);
            resolve();
          }
        }, 25);
      });
      await new Promise((r) => setTimeout(r, 300));
      for (const s of sessions) s.ws.close();
      send({ latency, events, opened: sessions.length });
    } else {
      const terminateMs: number[] = [];
      for (const t of m.tickets) {
        const s = await open(m.url, t);
        const id = await s.sessionId;
        await s.conn;
        let stream;
        while (!(stream = scorer.streams.find((x) => x.open?.sessionId === id))) await new Promise((r) => setTimeout(r, 5));
        await new Promise((r) => setTimeout(r, 20));
        const closed = new Promise<number>((r) => s.ws.once('close', () => r(performance.now())));
        const at = performance.now();
        stream.verdict({ action: Action.ACTION_TERMINATE, trust: 0, reason: 'bench' });
        terminateMs.push((await closed) - at);
      }
      send({ terminateMs });
    }
  });
}

if (process.argv[2] === 'child') await childMain();
else await parent();
