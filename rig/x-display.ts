/**
 * The agent's PC of the relay rig: an X display of its own (Xvfb) with a small window manager
 * (openbox), on which chromium runs headful as on an agent's desktop, and the remote-access tool
 * (x11vnc) that a colluder would reach it through. Debian's packages only (deploy/relay-rig.sh
 * installs them).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { waitForPort } from '../gateway/testing/guacd.js';

/** Why the rig cannot run here, or false when Xvfb, openbox and x11vnc are installed. */
export const RIG_SKIP: string | false = ['Xvfb', 'openbox', 'x11vnc'].every((p) => spawnSync('which', [p]).status === 0)
  ? false
  : 'the relay rig needs Xvfb, openbox and x11vnc: run deploy/relay-rig.sh (apt-get install xvfb openbox x11vnc)';

export interface XDisplay {
  /** `:N`, for DISPLAY. */
  readonly name: string;
  readonly width: number;
  readonly height: number;
  close(): Promise<void>;
}

/** Screen size of the agent's PC: a common laptop panel. */
export const SCREEN = { width: 1280, height: 800 } as const;

/** SIGTERM, then SIGKILL after 2 s: x11vnc can sit in a blocking write to a viewer that is gone. */
function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A display number with no X server's lock or socket: from 90 upwards, clear of a desktop's own. */
function freeDisplay(): number {
  for (let n = 90; n < 200; n++) if (!existsSync(`/tmp/.X${n}-lock`) && !existsSync(`/tmp/.X11-unix/X${n}`)) return n;
  throw new Error('no free X display between :90 and :199: stop stale Xvfb servers (/tmp/.X*-lock)');
}

async function waitForSocket(path: string, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!existsSync(path)) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${what} did not create ${path} within 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts Xvfb on a free display with openbox managing it. */
export async function startDisplay(): Promise<XDisplay> {
  const n = freeDisplay();
  const name = `:${n}`;
  const xvfb = spawn('Xvfb', [name, '-screen', '0', `${SCREEN.width}x${SCREEN.height}x24`, '-nolisten', 'tcp'], { stdio: 'ignore' });
  await waitForSocket(`/tmp/.X11-unix/X${n}`, xvfb, 'Xvfb');
  const wm = spawn('openbox', [], { stdio: 'ignore', env: { ...process.env, DISPLAY: name } });
  return {
    name,
    ...SCREEN,
    async close() {
      await stop(wm);
      await stop(xvfb);
    },
  };
}

/**
 * x11vnc's settings that shape relayed input: how long it waits between polls of the screen
 * (-wait, ms) and how long it defers sending an update (-defer, ms). Its defaults are 20 and 20.
 */
export interface VncSettings {
  readonly name: string;
  readonly waitMs?: number;
  readonly deferMs?: number;
}

export const VNC_DEFAULTS: VncSettings = { name: 'x11vnc defaults' };

export interface Vnc {
  readonly port: number;
  close(): Promise<void>;
}

/** x11vnc on `display`, listening on loopback `port` without a password (the rig's own link). */
export async function startVnc(display: XDisplay, port: number, s: VncSettings): Promise<Vnc> {
  const args = ['-display', display.name, '-rfbport', String(port), '-localhost', '-nopw', '-forever', '-shared', '-quiet', '-noxdamage'];
  if (s.waitMs !== undefined) args.push('-wait', String(s.waitMs));
  if (s.deferMs !== undefined) args.push('-defer', String(s.deferMs));
  const vnc = spawn('x11vnc', args, { stdio: 'ignore' });
  await waitForPort(port, 15_000, vnc);
  return { port, close: () => stop(vnc) };
}
