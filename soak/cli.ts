/** `vdiguard soak`: many sessions through the real services, with restarts and a database cut (soak/soak.ts). */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { VdiguardError } from '../lib/errors.js';
import { numberFlag } from '../scorer/eval/command.js';
import { POPULATION_MAX_AGENTS } from '../scorer/models/population.js';
import { runSoak, type GcPauses, type ProcessFigures, type SoakReport } from './soak.js';
import type { TimelinePoint } from './report.js';

export function registerSoak(program: Command): void {
  program
    .command('soak')
    .description('many sessions through the real gateway and scorer on PostgreSQL for a while, with the scorer and a gateway restarted and the database cut; prints memory, event loop delay, verdict latency and whether every record reached the store')
    .option('--sessions <n>', 'concurrent sessions (one agent each)', '1000')
    .option('--minutes <m>', 'how long', '10')
    .option('--enrolled <n>', 'agents with a mature profile (every other one typed by someone else)', '20')
    .option('--absent <n>', "agents in the store who do not work during the soak: the default fills the scorers' population sample from the start, as in a deployment that has run for a while", String(POPULATION_MAX_AGENTS))
    .option('--gateways <n>', 'gateway processes', '2')
    .option('--no-faults', 'no restarts and no database cut')
    .option('--database-url <url>', 'a PostgreSQL server whose user may create databases (default DATABASE_URL)')
    .option('--json', 'also print the report as one JSON line')
    .option('--logs <dir>', "write each service process's log there")
    .option('--profile <dir>', 'write a V8 CPU profile of each service process there (open it in Chrome DevTools)')
    .option('--heap-snapshots <dir>', 'snapshot each service\'s heap at the start of steady time (the faults wait for it) and at its end, and print what grew')
    .action(async (f: { sessions: string; minutes: string; enrolled: string; absent: string; gateways: string; faults: boolean; databaseUrl?: string; json?: boolean; logs?: string; profile?: string; heapSnapshots?: string }) => {
      const serverUrl = f.databaseUrl ?? process.env.DATABASE_URL;
      if (!serverUrl) throw new VdiguardError('invalid-argument', 'the soak needs a PostgreSQL server: give --database-url or DATABASE_URL (a user that may create databases; the soak makes one and drops it)');
      const report = await runSoak({
        sessions: numberFlag('sessions', f.sessions, 1) as number,
        seconds: Math.round((numberFlag('minutes', f.minutes, 0.5) as number) * 60),
        enrolled: numberFlag('enrolled', f.enrolled, 0) as number,
        absent: numberFlag('absent', f.absent, 0) as number,
        gateways: numberFlag('gateways', f.gateways, 1) as number,
        faults: f.faults,
        serverUrl,
        progress: (line) => process.stderr.write(`${line}\n`),
        ...(f.logs ? { logsDir: f.logs } : {}),
        ...(f.profile ? { profileDir: path.resolve(f.profile) } : {}),
        ...(f.heapSnapshots ? { heapSnapshotDir: mkdirAll(path.resolve(f.heapSnapshots)) } : {}),
      });
      process.stdout.write(soakText(report));
      if (f.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      if (!report.passed) process.exitCode = 1;
    });
}

/** The report for people: every check with its figure, then the verdict. */
export function soakText(r: SoakReport): string {
  const lines = [
    `soak: ${r.sessions} sessions for ${r.seconds} s; ${r.load.tunnels} tunnels (${r.load.reconnects} reconnects), ${r.load.events} events, ${r.load.ended} logins ended by a terminate`,
    `  steady time (where the targets are judged) from ${r.steadyFromS} s: a minute after the sign-in ramp`,
    ...r.faults.map((f) => `  fault at ${f}`),
    ...Object.entries(r.load.endings).map(([why, n]) => `  ${n} logins ended (${why})`),
    `  ${r.load.challenges.asked} identity checks: ${r.load.challenges.answered} answered by the agent, ${r.load.challenges.passed} passed and resumed the session (impostors have no codes)`,
    ...Object.entries(r.load.failures).map(([what, n]) => `  ${n} client failures: ${what}`),
    ...r.processes.map((p) => `  ${p.instance}: ${processLine(p)}`),
    ...timelineLines(r),
    ...r.heaps.map((h) => `  ${h.service}: live heap after a full collection ${mib(h.startBytes)} at the start of steady time (${h.startSessions} sessions), ${mib(h.endBytes)} at its end (${h.endSessions}); grew most: ${h.grew.map((g) => `${g.name} +${mib(g.bytes)} (${g.count >= 0 ? '+' : ''}${g.count})`).join(', ') || 'nothing'}`),
    ...r.checks.map((c) => `  ${c.passed ? 'pass' : 'FAIL'}  ${c.name}: ${c.detail}`),
    r.passed ? 'soak passed' : 'soak FAILED',
  ];
  return `${lines.join('\n')}\n`;
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? '?' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function mkdirAll(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Each process over the run: resident, committed and live heap MiB, sessions held and worst loop delay, per step. */
function timelineLines(r: SoakReport): string[] {
  const lines = ['  over the run (s: resident MiB / heap committed MiB (+ fit workers\' for a scorer) / live heap MiB / sessions / worst event loop delay p99 ms):'];
  const num = (v: number | null, f: (x: number) => string) => (v === null ? '-' : f(v));
  for (const p of r.processes) {
    const mebi = (b: number) => (b / 1048576).toFixed(0);
    const fit = (t: TimelinePoint) => (t.fitHeapCommittedBytes === null ? '' : `+${mebi(t.fitHeapCommittedBytes)}`);
    const points = p.timeline.map((t) => `${t.atS}: ${num(t.rssBytes, mebi)}/${num(t.heapCommittedBytes, mebi)}${fit(t)}/${num(t.liveHeapBytes, mebi)}/${num(t.sessions, String)}/${num(t.loopDelayP99Ms, (ms) => ms.toFixed(0))}`);
    lines.push(`    ${p.instance}: ${points.join('  ')}`);
  }
  return lines;
}

function processLine(p: ProcessFigures): string {
  const kib = (bytes: number | null | undefined) => (bytes === null || bytes === undefined ? '?' : `${(bytes / 1024).toFixed(0)} KiB`);
  return `up to ${p.sessionsHeld ?? '?'} sessions; resident ${mib(p.rss?.meanBytes)} on average, ${kib(p.rss?.perSessionBytes)} and live heap ${kib(p.liveHeap?.perSessionBytes)} per session held`
    + (p.writesPendingMax === null ? '' : `; at most ${p.writesPendingMax} writes waiting`)
    + `; in steady time ${gcLine('major', p.gc.steady.major)}, ${gcLine('minor', p.gc.steady.minor)}`
    + ` (the whole run: longest major <= ${p.gc.run.major?.longestMs ?? '?'} ms, minor <= ${p.gc.run.minor?.longestMs ?? '?'} ms)`;
}

function gcLine(kind: string, g: GcPauses | null): string {
  return g === null ? `no ${kind} collection` : `${g.collections} ${kind} collections, p99 <= ${g.p99Ms} ms, longest <= ${g.longestMs} ms`;
}
