/**
 * The built-in bridge as a child process of `vdiguard gateway` (node-rdpjs-2 is GPL/AGPL: it stays
 * in a process of its own). Restarted with backoff when it dies; stopped with the gateway.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatHostPort, type HostPort } from '../../lib/config.js';
import type { Logger } from '../../lib/log.js';

export interface BridgeChild {
  stop(): Promise<void>;
}

export function startBridgeChild(listen: HostPort, log: Logger): BridgeChild {
  const bin = fileURLToPath(new URL('../../bin/vdiguard.js', import.meta.url));
  let child: ChildProcess | undefined;
  let stopping = false;
  let delay = 500;
  let timer: NodeJS.Timeout | undefined;
  const start = (): void => {
    const startedAt = Date.now();
    child = spawn(process.execPath, [bin, 'bridge', '--listen', formatHostPort(listen)], { stdio: ['ignore', 'inherit', 'inherit'] });
    log.info({ pid: child.pid, listen: formatHostPort(listen) }, 'built-in bridge started');
    child.on('exit', (code, signal) => {
      child = undefined;
      if (stopping) return;
      if (Date.now() - startedAt > 30_000) delay = 500;
      log.error({ code, signal, restartInMs: delay }, 'built-in bridge exited; restarting');
      timer = setTimeout(start, delay);
      delay = Math.min(delay * 2, 30_000);
    });
  };
  start();
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        stopping = true;
        clearTimeout(timer);
        if (!child) return resolve();
        const c = child;
        const kill = setTimeout(() => c.kill('SIGKILL'), 5000);
        c.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        c.kill('SIGTERM');
      }),
  };
}
