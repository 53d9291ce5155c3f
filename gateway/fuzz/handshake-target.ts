/**
 * The bridge's handshake under fuzz, over real TCP connections: each case is one connection with
 * `select`, the pre-connect instructions (size, audio, video, image, timezone, name) in any number
 * and order, and `connect`, with arbitrary arguments, out of order, oversized, truncated or broken
 * at the byte level. The desktop is a closed port (so a valid `connect` fails fast with
 * UPSTREAM_NOT_FOUND) unless a mutation reaches another. Most cases then close their sending side,
 * the rest wait for the bridge's answer. Checked: the bridge closes the connection or answers
 * (`ready`, `error`) within the deadline, its output is well-formed, and it logs no crash.
 */
import net from 'node:net';
import { GuacParser } from '../guac/parser.js';
import { encodeInstruction } from '../guac/encoder.js';
import { RDP_ARGS } from '../bridge/handshake.js';
import type { BridgeProcess } from './bridge-process.js';
import { FindingLog, type TargetReport } from './findings.js';
import { arg, caseRng, chunks, join, mutate, randomText, toBytes, type Rng, type Wire } from './generate.js';

export interface HandshakeCase {
  readonly index: number;
  readonly instructions: number;
  /** Close the sending side after the last chunk (otherwise wait for the bridge's answer). */
  readonly halfClose: boolean;
  readonly chunks: readonly Wire[];
}

const MIMETYPES = ['image/png', 'image/jpeg', 'image/webp', 'audio/L16', 'audio/L8;rate=44100', 'video/webm', ''];
const HOSTS = ['', 'localhost', '::1', '127.0.0.1', '0', 'not a host', 'x'.repeat(300), '-bad-', '256.256.256.256', '127.0.0.1\0'];

function infoInstruction(rng: Rng): string {
  switch (rng.int(6)) {
    case 0: {
      const dim = () => (rng.chance(0.8) ? 64 + rng.int(8200) : arg(rng));
      return encodeInstruction('size', dim(), dim(), ...(rng.chance(0.7) ? [rng.chance(0.8) ? 96 : arg(rng)] : []));
    }
    case 1:
    case 2:
    case 3: {
      const list = Array.from({ length: rng.int(rng.chance(0.95) ? 5 : 130) }, () => (rng.chance(0.7) ? rng.pick(MIMETYPES) : arg(rng)));
      return encodeInstruction(rng.pick(['audio', 'video', 'image']), ...list);
    }
    case 4: return encodeInstruction('timezone', rng.chance(0.7) ? 'Europe/Paris' : arg(rng));
    default: return encodeInstruction('name', rng.chance(0.5) ? randomText(rng, rng.int(40)) : arg(rng));
  }
}

function connectInstruction(rng: Rng, closedPort: number): string {
  const values: Record<string, string> = {
    hostname: rng.chance(0.98) ? '127.0.0.1' : rng.pick(HOSTS),
    port: rng.chance(0.98) ? String(closedPort) : arg(rng),
    username: arg(rng), password: arg(rng), 'ignore-cert': rng.pick(['true', 'false', '1', '']),
    // Mostly screen sizes: each `ready` allocates a framebuffer of width x height (8192 x 8192 is 256 MB).
    width: String(rng.chance(0.98) ? 64 + rng.int(2000) : 64 + rng.int(8200)), height: String(rng.chance(0.98) ? 64 + rng.int(1500) : 64 + rng.int(8200)),
    'color-depth': rng.pick(['', '15', '16', '24', '32', '8', 'x']),
    security: rng.pick(['', 'any', 'tls', 'nla', 'rdp', 'vmconnect', 'bogus']),
    'server-layout': rng.pick(['', 'en-us-qwerty', 'fr-fr-azerty', 'de-de-qwertz', 'xx']),
    'cert-fingerprints': rng.chance(0.8) ? '' : rng.chance(0.5) ? 'ab'.repeat(32) : arg(rng),
  };
  const args: string[] = RDP_ARGS.map((name) => (name in values && rng.chance(0.95) ? values[name] as string : rng.chance(0.2) ? arg(rng) : ''));
  if (rng.chance(0.1)) args.splice(rng.int(args.length + 1), rng.int(2), ...(rng.chance(0.5) ? [arg(rng)] : []));
  const version = rng.pick(['VERSION_1_5_0', 'VERSION_1_5_0', 'VERSION_1_1_0', 'VERSION_x', 'VERSION_99_0_0', '']);
  return encodeInstruction('connect', ...(version ? [version] : []), ...args);
}

export function handshakeCase(seed: number, index: number, closedPort: number): HandshakeCase {
  const rng = caseRng(seed, index);
  const steps: string[] = [];
  if (rng.chance(0.92)) steps.push(encodeInstruction('select', rng.chance(0.9) ? 'rdp' : arg(rng)));
  const infos = rng.int(rng.chance(0.7) ? 20 : 100);
  for (let i = 0; i < infos; i++) {
    steps.push(rng.chance(0.97) ? infoInstruction(rng) : rng.chance(0.5) ? encodeInstruction('select', 'rdp') : encodeInstruction(rng.pick(['key', 'mouse', 'sync', 'nop', 'disconnect', '']), arg(rng)));
    if (rng.chance(0.01)) steps.push(connectInstruction(rng, closedPort));
  }
  if (rng.chance(0.85)) steps.push(connectInstruction(rng, closedPort));
  if (rng.chance(0.03)) steps.push(encodeInstruction('name', 'y'.repeat(9000)), encodeInstruction('image', ...Array.from({ length: 140 }, () => 'a')));
  const mutationRate = rng.pick([0, 0, 0.02, 0.1, 0.5]);
  const pieces: Wire[] = steps.map((s) => (rng.chance(mutationRate) ? mutate(rng, s) : s));
  // A socket carries bytes: cut those (inside UTF-8 sequences too), never the text before encoding it.
  let wire = toBytes(join(pieces));
  if (rng.chance(0.05)) wire = wire.subarray(0, rng.int(wire.length));
  return { index, instructions: steps.length, halfClose: rng.chance(0.9), chunks: chunks(rng, wire) };
}

export interface HandshakeOptions {
  readonly seed: number;
  readonly instructions: number;
  readonly deadline: number;
  /** Connections in flight at once. */
  readonly concurrency: number;
  /** A case with no answer or close within this many milliseconds is a hang. */
  readonly hangMs: number;
  /** Where the first reproducing input of each kind of finding is saved. */
  readonly findingsDir: string;
}

type Outcome = { readonly kind: 'ok' } | { readonly kind: 'hang' | 'violation'; readonly message: string };

/** Plays one case on a fresh connection and resolves when the bridge closed or answered it. */
function play(port: number, c: HandshakeCase, hangMs: number, localAddress: string, onSocket: (client: string) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    const parser = new GuacParser({ maxElementLength: 1 << 20, maxInstructionLength: 1 << 20 });
    let outcome: Outcome | undefined;
    const finish = (o: Outcome) => {
      outcome ??= o;
      clearTimeout(timer);
      socket.destroy();
    };
    const timer = setTimeout(() => finish({ kind: 'hang', message: `no answer and no close within ${hangMs} ms` }), hangMs);
    socket.on('connect', () => {
      onSocket(`${socket.localAddress}:${socket.localPort}`);
      for (const chunk of c.chunks) socket.write(chunk);
      if (c.halfClose) socket.end();
    });
    socket.on('data', (data) => {
      for (const r of parser.push(data)) {
        if (r.error) return finish({ kind: 'violation', message: `the bridge sent malformed output: ${r.error.message}` });
        if (!c.halfClose && (r.instruction.opcode === 'ready' || r.instruction.opcode === 'error')) return finish({ kind: 'ok' });
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(outcome ?? { kind: 'ok' });
    });
  });
}

/** A port nothing listens on: the desktop a valid `connect` names. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

export async function runHandshakeTarget(bridge: BridgeProcess, o: HandshakeOptions): Promise<TargetReport> {
  const t0 = performance.now();
  const log = new FindingLog(o.findingsDir, 'bridge-handshake', o.seed);
  const desktop = await closedPort();
  /** Cases by the client address the bridge logs, for attributing a crash it logs. */
  const byClient = new Map<string, number>();
  const inFlight = new Set<number>();
  const stopWatching = bridge.onCrash((crash) => {
    const index = crash.client !== undefined ? byClient.get(crash.client) : [...inFlight][0];
    const c = handshakeCase(o.seed, index ?? -1, desktop);
    log.add('crash', `${crash.message}${index === undefined ? '' : ` (case ${index}; in flight: ${[...inFlight].join(', ')})`}`, { ...c, desktopPort: desktop });
  });

  let instructions = 0;
  let cases = 0;
  let next = 0;
  const worker = async (slot: number): Promise<void> => {
    const localAddress = `127.0.0.${1 + (slot % 8)}`;
    while (instructions < o.instructions && Date.now() < o.deadline && !bridge.exited) {
      const index = next++;
      const c = handshakeCase(o.seed, index, desktop);
      instructions += c.instructions;
      inFlight.add(index);
      const outcome = await play(bridge.port, c, o.hangMs, localAddress, (client) => {
        byClient.set(client, index);
        if (byClient.size > 10000) byClient.delete(byClient.keys().next().value as string);
      });
      inFlight.delete(index);
      cases++;
      if (outcome.kind !== 'ok') log.add(outcome.kind, `${outcome.message} (case ${index})`, { ...c, desktopPort: desktop });
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, (_, slot) => worker(slot)));
  await new Promise((r) => setTimeout(r, 300)); // the log of the last connections
  stopWatching();
  return {
    target: 'bridge handshake (TCP)',
    instructions,
    findings: log.findings,
    peakRss: bridge.peakRss(),
    seconds: (performance.now() - t0) / 1000,
    notes: [`${cases} connections, ${o.concurrency} at a time`],
  };
}
