/**
 * A vdiguard service as a child process (`node dist/bin/vdiguard.js <args>`), as Kubernetes runs
 * it: its JSON log (stderr) kept and searchable, the address it announces, and its exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/vdiguard.js', import.meta.url));

export interface LogLine {
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** What it was started with (after `vdiguard`). */
  readonly args: readonly string[];
  /** What the service announced it listens on (the first group of `announces`). */
  readonly address: string;
  readonly log: LogLine[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log line `matches` accepts, now or later. */
  logged(matches: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM, and its exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ServiceProcessOptions {
  /** Sees each line of stderr as it comes, the first ones before the announcement included (to signal a process while it starts). */
  readonly onLine?: (line: string, child: ChildProcess) => void;
  /** Options for node itself, before the script (--cpu-prof, say, which NODE_OPTIONS does not take). */
  readonly nodeArgs?: readonly string[];
}

/**
 * Starts `vdiguard <args>` with exactly `env` (plus PATH and HOME) and resolves once a line of its
 * stderr matches `announces` (for example /vdiguard scorer listening on (\S+)/).
 */
export async function startServiceProcess(
  args: readonly string[],
  env: Record<string, string>,
  announces: RegExp,
  options: ServiceProcessOptions = {},
): Promise<ServiceProcess> {
  const { onLine, nodeArgs = [] } = options;
  const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: LogLine[] = [];
  const waiters: { matches: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let stderr = '';
  let partial = '';
  const address = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      if (stderr.length < 100_000) stderr += text;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        onLine?.(line, child);
        const announced = announces.exec(line);
        if (announced) resolve(announced[1] as string);
        if (!line.startsWith('{')) continue;
        const parsed = JSON.parse(line) as LogLine;
        log.push(parsed);
        for (const w of waiters.filter((w) => w.matches(parsed))) w.resolve(parsed);
      }
    });
    void exited.then(({ code, signal }) => reject(new Error(`vdiguard ${args.join(' ')} exited (${code ?? signal}) before it listened: ${stderr.slice(-2000)}`)));
  });
  return {
    child,
    args,
    address,
    log,
    exited,
    logged(matches, timeoutMs = 60_000) {
      const seen = log.find(matches);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such log line within ${timeoutMs} ms; the log: ${log.map((l) => l.msg).join(' | ').slice(-2000)}`)), timeoutMs);
        waiters.push({ matches, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      });
    },
    stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
