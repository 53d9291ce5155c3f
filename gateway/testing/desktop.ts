/**
 * The xrdp dev desktop (deploy/dev-desktop.sh) as tests see it: its accounts, its certificate, and
 * the RDP connections an engine holds to it, read from the kernel's socket table so a test checks
 * the desktop side and not what the gateway believes.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { NewDesktop } from '../store/gateway-store.js';

export const DESKTOP_HOST = '127.0.0.1';
export const DESKTOP_PORT = 3389;
export const DESKTOP_PASSWORD = process.env.VDIGUARD_DESKTOP_PASSWORD ?? 'vdiguard-test';
/** xrdp's certificate (xrdp.ini leaves `certificate=` empty, so it serves this one). */
export const XRDP_CERT = '/etc/xrdp/cert.pem';
/** The test CA that signed it (deploy/dev-desktop.sh), for CA-verified desktops. */
export const XRDP_TEST_CA = '/etc/xrdp/vdiguard-test-ca.pem';

/**
 * The dev desktop as one agent's desktop `desk-<agentId>`, signed in as `username` (xrdp resumes a
 * user's session, so each test keeps accounts of its own), its certificate not checked.
 */
export function devDesktopFor(agentId: string, username: string): NewDesktop {
  return {
    desktopId: `desk-${agentId}`,
    displayName: 'Dev desktop',
    host: DESKTOP_HOST,
    port: DESKTOP_PORT,
    security: 'tls',
    domain: '',
    ignoreCert: true,
    certFingerprints: '',
    credentials: { username, password: DESKTOP_PASSWORD },
  };
}

/** The dev desktop's SHA-256 fingerprint as the CLI takes it and Node prints it: `0F:51:...`. */
export function desktopFingerprint(): string {
  return new X509Certificate(readFileSync(XRDP_CERT)).fingerprint256;
}

function childrenOf(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // The command name may hold spaces and parentheses: the parent pid follows the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  return children;
}

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/**
 * Local ports of the established TCP connections to the dev desktop held by `pid` or any of its
 * descendants (guacd serves each connection from a child process).
 */
export function desktopConnections(pid: number): number[] {
  const tree = childrenOf();
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) pids.push(...(tree.get(pids[i]!) ?? []));
  const inodes = new Set(pids.flatMap((p) => [...socketInodes(p)]));
  const remote = `0100007F:${DESKTOP_PORT.toString(16).toUpperCase().padStart(4, '0')}`;
  const ports: number[] = [];
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // local, remote, state (01 = ESTABLISHED), ..., inode at field 9
    if (f.length > 9 && f[2] === remote && f[3] === '01' && inodes.has(f[9]!)) ports.push(parseInt(f[1]!.split(':')[1]!, 16));
  }
  return ports;
}

/** Milliseconds until the engine holds no connection to the desktop, polled every 20 ms; rejects after `ms`. */
/**
 * How soon after a terminate the engine must have dropped the desktop connection. guacd's own RDP
 * teardown after a `disconnect` takes about 1 s (980-1004 ms measured here), so a bound at 1 s
 * fails by chance; without the `disconnect` guacd keeps the connection ~15 s ("User is not
 * responding"), which this bound still catches.
 */
export const DISCONNECT_LIMIT_MS = 5000;

export async function desktopConnectionGone(pid: number, ms: number): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (desktopConnections(pid).length === 0) return performance.now() - start;
    if (performance.now() - start > ms) throw new Error(`the engine still holds a connection to the desktop after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
