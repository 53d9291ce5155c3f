/**
 * A guacd stand-in for tests and the benchmark: answers the handshake (select -> args, connect ->
 * ready), draws nothing, sends a sync every `syncMs`, and records what reached it after the
 * handshake, so tests can check exactly which bytes the gateway forwarded.
 */
import net from 'node:net';
import { GuacParser, encodeInstruction, type Instruction } from '../guac/index.js';

export const FAKE_ARGS = ['VERSION_1_5_0', 'hostname', 'port', 'security', 'domain', 'username', 'password', 'ignore-cert', 'width', 'height', 'disable-copy', 'disable-paste'];

export interface FakeConnection {
  /** Handshake values by argument name (connect's values matched to args). */
  readonly connectArgs: Record<string, string>;
  /** Instructions received after the handshake. */
  readonly received: Instruction[];
  /** Raw text received after the handshake. */
  raw: string;
  closed: boolean;
  readonly socket: net.Socket;
  /** Called per instruction received after the handshake, with the time it arrived (performance.now()). */
  onInstruction?: (ins: Instruction, at: number) => void;
}

export interface FakeGuacd {
  readonly port: number;
  readonly connections: FakeConnection[];
  close(): Promise<void>;
}

/**
 * `record: false` keeps nothing of what arrives (a long soak would hold it all in memory).
 * `readyDelayMs` answers `connect` that much later, as a desktop slow to log in: what arrives
 * meanwhile is not recorded (guacd would read it as a broken handshake).
 */
export async function startFakeGuacd(o: { syncMs?: number; echo?: boolean; record?: boolean; readyDelayMs?: number } = {}): Promise<FakeGuacd> {
  const record = o.record ?? true;
  const connections: FakeConnection[] = [];
  const server = net.createServer((socket) => {
    const parser = new GuacParser();
    const conn: FakeConnection = { connectArgs: {}, received: [], raw: '', closed: false, socket };
    let ready = false;
    let timer: NodeJS.Timeout | undefined;
    connections.push(conn);
    socket.setNoDelay(true);
    socket.on('data', (data) => {
      const at = performance.now();
      if (ready && record) conn.raw += data.toString('utf8');
      for (const r of parser.push(data)) {
        if (r.error) {
          socket.destroy();
          return;
        }
        const ins = r.instruction;
        if (!ready) {
          if (ins.opcode === 'select') socket.write(encodeInstruction('args', ...FAKE_ARGS));
          if (ins.opcode === 'connect') {
            FAKE_ARGS.forEach((name, i) => (conn.connectArgs[name] = ins.args[i] ?? ''));
            const answer = (): void => {
              if (socket.destroyed) return;
              ready = true;
              socket.write(encodeInstruction('ready', `$fake-${connections.length}`) + encodeInstruction('size', 0, 1024, 768));
              timer = setInterval(() => socket.write(encodeInstruction('sync', Date.now())), o.syncMs ?? 200);
            };
            if (o.readyDelayMs) setTimeout(answer, o.readyDelayMs);
            else answer();
          }
          continue;
        }
        if (record) conn.received.push(ins);
        conn.onInstruction?.(ins, at);
        if (o.echo && ins.opcode === 'key') socket.write(encodeInstruction('sync', Date.now()));
      }
    });
    socket.on('close', () => {
      conn.closed = true;
      clearInterval(timer);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () =>
      new Promise((resolve) => {
        for (const c of connections) c.socket.destroy();
        server.close(() => resolve());
      }),
  };
}
