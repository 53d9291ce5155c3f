/**
 * A live bridge session under fuzz: a valid handshake to the xrdp dev desktop (deploy/dev-desktop.sh),
 * then batches of key, mouse, size, sync and other instructions with arbitrary arguments, or (half
 * of them) of key and mouse input as the page sends it, which reaches the desktop (one batch in
 * fifteen broken at the byte level or over guacd's limits), each followed by a ping the bridge
 * echoes. Checked after every batch: the bridge echoes the ping, answers with a Guacamole `error`, or
 * at least keeps serving frames (a broken batch may leave an instruction unfinished that swallows the
 * ping). Silence until the deadline is a hang; closing without an `error` is a violation (the fuzz
 * never sends `disconnect`); anything logged at error level is a crash. After an `error`, a close or a
 * broken batch the fuzz logs in again (xrdp resumes the user's session).
 *
 * The desktop's shell receives whatever the fuzz types: Return is never sent, so it runs nothing.
 */
import { GuacStatus, guacStatusName } from '../guac/status.js';
import { encodeInstruction, type Instruction } from '../guac/encoder.js';
import { TestClient } from '../bridge/test-client.js';
import { heapGrowth, type HeapSummary } from '../../lib/testing/heap-snapshot.js';
import { accepts, type BridgeProcess } from './bridge-process.js';
import { FindingLog, type TargetReport } from './findings.js';
import { arg, caseRng, chunks, inputInstruction, instruction, join, mutate, toBytes, type Rng, type Wire } from './generate.js';

export interface LiveOptions {
  readonly seed: number;
  readonly instructions: number;
  readonly deadline: number;
  readonly hangMs: number;
  readonly findingsDir: string;
  readonly desktopUser: string;
  readonly desktopPassword: string;
  /** Take heap snapshots of the bridge after the first fifth of the run and at its end (needs a bridge started with a snapshot directory). */
  readonly heapSnapshots?: boolean;
}

const BATCH = 200;
const W = 1024;
const H = 768;

export interface LiveBatch {
  readonly index: number;
  readonly instructions: number;
  /** True when one instruction may be broken at the byte level or over guacd's limits. */
  readonly broken: boolean;
  readonly chunks: readonly Wire[];
}

/** `canonical`: only input as the page sends it, which reaches the desktop through RDP. */
function sessionInstruction(rng: Rng, canonical: boolean): string {
  if (canonical) return inputInstruction(rng, { avoidEnter: true, canonical: true });
  const r = rng.next();
  if (r < 0.7) return inputInstruction(rng, { avoidEnter: true });
  const short = () => arg(rng).slice(0, 1000);
  if (r < 0.75) return encodeInstruction('size', rng.chance(0.8) ? 64 + rng.int(4000) : short(), rng.chance(0.8) ? 64 + rng.int(4000) : short());
  if (r < 0.8) return encodeInstruction('sync', rng.chance(0.5) ? String(Math.round(performance.now())) : short());
  return other(() => instruction(rng, true));
}

/** `disconnect` ends the session on purpose, and a key spelled out by instruction() could be Return. */
function other(make: () => string): string {
  for (;;) {
    const wire = make();
    if (!/^\d+\.(disconnect|key)[,;]/.test(wire)) return wire;
  }
}

export function liveBatch(seed: number, index: number): LiveBatch {
  const rng = caseRng(seed ^ 0x5a5a5a5a, index);
  // Half the batches are input the input rules let through, so the RDP input path is fuzzed too;
  // the other half, anything, mostly refused at its first odd instruction.
  const canonical = rng.chance(0.5);
  const pieces: Wire[] = Array.from({ length: BATCH }, () => sessionInstruction(rng, canonical));
  const broken = rng.chance(0.07);
  if (broken) {
    const at = rng.int(BATCH);
    pieces[at] = rng.chance(0.7) ? mutate(rng, pieces[at] as string) : other(() => instruction(rng));
  }
  return { index, instructions: BATCH, broken, chunks: chunks(rng, toBytes(join(pieces))) };
}

type BatchOutcome = 'echo' | 'error' | 'closed' | 'serving' | 'hang';

/** Waits for the ping's echo, an error, a close, or (when `serving` counts) frames still arriving. */
async function outcome(client: TestClient, stamp: string, waitMs: number, hangMs: number): Promise<BatchOutcome> {
  const framesBefore = client.frames;
  const echoed = (i: Instruction) => (i.opcode === '' && i.args[1] === stamp) || i.opcode === 'error';
  const result = await Promise.race([
    client.waitFor(echoed, Math.max(waitMs, hangMs)).then((i) => (i.opcode === 'error' ? 'error' as const : 'echo' as const), () => 'timeout' as const),
    client.closed.then(() => 'closed' as const),
    new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), waitMs)),
  ]);
  if (result !== 'timeout') return client.error && result === 'closed' ? 'error' : result;
  return client.frames > framesBefore ? 'serving' : 'hang';
}

export async function runLiveTarget(bridge: BridgeProcess, o: LiveOptions): Promise<TargetReport> {
  const t0 = performance.now();
  const target = `bridge live session (${o.desktopUser} on xrdp 127.0.0.1:3389)`;
  const skip = (why: string): TargetReport => ({ target, instructions: 0, skipped: why, findings: [], seconds: (performance.now() - t0) / 1000, notes: [] });
  if (!(await accepts(3389))) return skip('no desktop answers on 127.0.0.1:3389 (set it up with: bash deploy/dev-desktop.sh)');

  const log = new FindingLog(o.findingsDir, 'bridge-live', o.seed);
  let batch: LiveBatch | undefined;
  const stopWatching = bridge.onCrash((crash) => log.add('crash', `${crash.message} (batch ${batch?.index})`, batch ?? { index: -1, chunks: [] }));
  const params = { hostname: '127.0.0.1', port: '3389', username: o.desktopUser, password: o.desktopPassword, 'ignore-cert': 'true', width: String(W), height: String(H) };
  const counts: Record<BatchOutcome, number> = { echo: 0, error: 0, closed: 0, serving: 0, hang: 0 };
  const errors = new Map<string, number>();
  const unprovoked: string[] = [];
  let instructions = 0;
  let logins = 0;
  let client: TestClient | undefined;
  const warmUpEnds = Date.now() + (o.deadline - Date.now()) / 5;
  let warm: MemoryPoint | undefined;
  let end: MemoryPoint | undefined;
  const memoryPoint = async (): Promise<MemoryPoint> => ({ heap: (await bridge.heapSnapshot()).summary, rss: bridge.rss() ?? Number.NaN, instructions, logins });
  try {
    for (let index = 0; instructions < o.instructions && Date.now() < o.deadline && !bridge.exited; index++) {
      if (o.heapSnapshots && !warm && Date.now() >= warmUpEnds) warm = await memoryPoint();
      if (!client) {
        client = new TestClient(bridge.port, { width: W, height: H, version: 'VERSION_1_5_0', paint: false, params });
        const { ready } = await client.handshake();
        if (ready.opcode !== 'ready') return skip(`the bridge refused the valid handshake: ${ready.args[0]} (${guacStatusName(Number(ready.args[1]))})`);
        await client.waitFor((i) => i.opcode === 'sync' || i.opcode === 'error', 30000).catch(() => undefined);
        if (client.error) return skip(`the desktop did not open a session for ${o.desktopUser}: ${client.error.message}`);
        logins++;
      }
      batch = liveBatch(o.seed, index);
      for (const chunk of batch.chunks) client.socket.write(chunk);
      const stamp = `fuzz-${index}`;
      client.socket.write(encodeInstruction('', 'ping', stamp));
      instructions += batch.instructions;
      const result = await outcome(client, stamp, batch.broken ? 6000 : o.hangMs, o.hangMs);
      counts[result]++;
      if (result === 'hang') log.add('hang', `no echo, error, close or frame within ${o.hangMs} ms after batch ${index}`, batch);
      if (result === 'error' && client.error) {
        const name = guacStatusName(client.error.status);
        errors.set(name, (errors.get(name) ?? 0) + 1);
        if (!batch.broken) unprovoked.push(`${name} after an intact batch (${index}): ${client.error.message.slice(0, 160)}`);
        if (client.error.status === GuacStatus.SERVER_ERROR) log.add('crash', `the bridge answered SERVER_ERROR: ${client.error.message} (batch ${index})`, batch);
      }
      if (result === 'closed') log.add('violation', `the bridge closed the session without a Guacamole error after batch ${index} (the fuzz sends no disconnect)`, batch);
      if (result !== 'echo') {
        client.close();
        client = undefined;
      }
    }
  } finally {
    client?.close();
    await new Promise((r) => setTimeout(r, 300));
    stopWatching();
  }
  if (o.heapSnapshots && warm && !bridge.exited) end = await memoryPoint();
  return {
    target,
    instructions,
    findings: log.findings,
    peakRss: bridge.peakRss(),
    seconds: (performance.now() - t0) / 1000,
    notes: [
      `${logins} logins; after a batch: ${counts.echo} echoed, ${counts.error} answered with an error`
      + ` (${[...errors].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}), ${counts.closed} closed, ${counts.serving} kept serving frames, ${counts.hang} silent`,
      ...unprovoked.slice(0, 5),
      ...(warm && end ? memoryNotes(warm, end) : []),
    ],
  };
}

interface MemoryPoint {
  readonly heap: HeapSummary;
  readonly rss: number;
  readonly instructions: number;
  readonly logins: number;
}

function memoryNotes(warm: MemoryPoint, end: MemoryPoint): string[] {
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  const at = (p: MemoryPoint) => `${p.instructions.toLocaleString('en-US')} instructions, ${p.logins} logins`;
  const grown = heapGrowth(warm.heap, end.heap, 6).map((g) => `${g.name} +${mb(g.bytes)} (${g.count >= 0 ? '+' : ''}${g.count})`);
  return [
    `heap after a full collection: ${mb(warm.heap.bytes)} at warm-up (${at(warm)}), ${mb(end.heap.bytes)} at the end (${at(end)});`
    + ` resident ${mb(warm.rss)} then ${mb(end.rss)}`,
    `grew most: ${grown.join(', ') || 'nothing'}`,
  ];
}
