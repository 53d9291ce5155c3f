/**
 * The bridge under fuzz: `vdiguard bridge` as its own process, exactly as deployed (its last line of
 * defence against a library's uncaught exception included), on a free loopback port. Its log is
 * watched for crashes: an exception it contained, an instruction handler that failed, a frame that
 * could not be encoded, or the process exiting; anything logged at error level counts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { heapSnapshotArgs, takeHeapSnapshot, type HeapSummary } from '../../lib/testing/heap-snapshot.js';

export interface BridgeCrash {
  readonly message: string;
  /** The client address:port the bridge logged with it, when it did. */
  readonly client?: string;
}

/** Settings that make a fuzz run quick: short handshake and connect timeouts. */
export const FUZZ_BRIDGE_ENV = {
  VDIGUARD_BRIDGE_HANDSHAKE_TIMEOUT_MS: '1000',
  VDIGUARD_BRIDGE_CONNECT_TIMEOUT_MS: '3000',
  VDIGUARD_BRIDGE_LOG_LEVEL: 'warn',
} as const;

export class BridgeProcess {
  private crashListeners: ((c: BridgeCrash) => void)[] = [];
  exited: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly snapshotDir: string | undefined,
  ) {
    child.on('exit', (code, signal) => {
      this.exited = `the bridge process exited (${signal ?? `code ${code}`})`;
      this.report({ message: this.exited });
    });
    readline.createInterface({ input: child.stderr! }).on('line', (line) => this.logLine(line));
  }

  /** `snapshotDir`: where heapSnapshot() has the bridge write its heap snapshots. */
  static async start(snapshotDir?: string): Promise<BridgeProcess> {
    const port = await freePort();
    const bin = fileURLToPath(new URL('../../bin/vdiguard.js', import.meta.url));
    const node = snapshotDir ? heapSnapshotArgs(snapshotDir) : [];
    const child = spawn(process.execPath, [...node, bin, 'bridge', '--listen', `127.0.0.1:${port}`], {
      env: { ...process.env, ...FUZZ_BRIDGE_ENV },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const bridge = new BridgeProcess(child, port, snapshotDir);
    for (let waited = 0; !(await accepts(port)); waited += 100) {
      if (bridge.exited || waited > 20000) {
        bridge.stop();
        throw new Error(`the bridge did not start on 127.0.0.1:${port}: ${bridge.exited ?? 'not listening after 20 s'}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return bridge;
  }

  /** Calls `listener` with every crash from now on; returns what stops it. */
  onCrash(listener: (c: BridgeCrash) => void): () => void {
    this.crashListeners.push(listener);
    return () => {
      this.crashListeners = this.crashListeners.filter((l) => l !== listener);
    };
  }

  /** Peak resident set of the bridge process so far, in bytes (Linux /proc). */
  peakRss(): number | undefined {
    return this.memoryStatus('VmHWM');
  }

  /** Resident set of the bridge process now, in bytes (Linux /proc). */
  rss(): number | undefined {
    return this.memoryStatus('VmRSS');
  }

  private memoryStatus(field: 'VmHWM' | 'VmRSS'): number | undefined {
    try {
      const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  /** A heap snapshot of the bridge (lib/testing/heap-snapshot.ts); needs start(snapshotDir). */
  heapSnapshot(): Promise<{ file: string; summary: HeapSummary }> {
    if (!this.snapshotDir) throw new Error('the bridge was started without a heap snapshot directory');
    return takeHeapSnapshot(this.child, this.snapshotDir);
  }

  stop(): void {
    this.crashListeners = [];
    this.child.kill('SIGTERM');
  }

  private logLine(line: string): void {
    let entry: { level?: number; msg?: string; client?: string; err?: { message?: string } };
    try {
      entry = JSON.parse(line);
    } catch {
      this.report({ message: `the bridge wrote a line that is not a log entry: ${line.slice(0, 200)}` });
      return;
    }
    if ((entry.level ?? 0) >= 50) {
      this.report({ message: `${entry.msg}${entry.err?.message ? `: ${entry.err.message}` : ''}`, client: entry.client });
    }
  }

  private report(c: BridgeCrash): void {
    for (const l of this.crashListeners) l(c);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** True when something accepts a TCP connection on 127.0.0.1:port within a second. */
export function accepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host, timeout: 1000 });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.on('connect', () => done(true));
    s.on('error', () => done(false));
    s.on('timeout', () => done(false));
  });
}
