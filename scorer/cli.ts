/** The scorer's subcommands of `vdiguard`. */
import { Option, type Command } from 'commander';
import { VdiguardError } from '../lib/errors.js';
import { importDataset } from './datasets/import.js';
import { DATASET_KINDS, type DatasetKind } from './datasets/types.js';
import { measureAalto, measureSapimouse } from './models/measure-datasets.js';
import { runScorer } from './commands/scorer.js';
import { formatMigrate, runMigrate } from './commands/migrate.js';
import { loadScorerSettings } from './config.js';
import { runTrain, type TrainedNetwork } from './commands/train.js';
import { readRecordingEvents } from './recording/reader.js';
import { writeRecording } from './recording/writer.js';
import { splitIndex } from './recording/split.js';
import { formatVerdict, replay, verdictJson } from './commands/replay.js';
import { adminCall, enroll, formatStatus, type AdminOptions } from './commands/admin.js';
import { registerEvalCommands } from './eval/command.js';

interface ClientFlags {
  scorer: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  adminTokenFile?: string;
}

/** The options every command that talks to a running scorer takes; each presents the admin token. */
function clientCommand(program: Command, name: string): Command {
  return program
    .command(name)
    .option('--scorer <host:port>', 'address of the running scorer', '127.0.0.1:50051')
    .option('--tls-ca <file>', "PEM CA of the scorer's certificate (enables TLS)")
    .option('--tls-cert <file>', 'PEM client certificate, for mTLS')
    .option('--tls-key <file>', 'PEM client key, for mTLS')
    .option('--admin-token-file <file>', 'file with the admin token (default: VDIGUARD_ADMIN_TOKEN, or <data dir>/admin-token)');
}

function clientOptions(f: ClientFlags): AdminOptions {
  return { address: f.scorer, tlsCa: f.tlsCa, tlsCert: f.tlsCert, tlsKey: f.tlsKey, adminTokenFile: f.adminTokenFile };
}

export function registerScorerCommands(program: Command): void {
  registerEvalCommands(program);
  program
    .command('scorer')
    .description('run the scoring service (gRPC) on the embedded store, or PostgreSQL when DATABASE_URL is set')
    .option('--listen <host:port>', 'address to serve on (VDIGUARD_SCORER_LISTEN; default 127.0.0.1:50051)')
    .option('--data <dir>', 'data directory of the embedded store (VDIGUARD_DATA_DIR; default ./.vdiguard)')
    .action((o: { listen?: string; data?: string }) => runScorer({ listen: o.listen, dataDir: o.data }));

  program
    .command('migrate')
    .description('bring the database schema up to date (DATABASE_URL, or the embedded store) and print what was applied')
    .option('--data <dir>', 'data directory of the embedded store (VDIGUARD_DATA_DIR; default ./.vdiguard)')
    .action(async (o: { data?: string }) => {
      const result = await runMigrate(loadScorerSettings(process.env, { dataDir: o.data }));
      process.stdout.write(formatMigrate(result) + '\n');
    });

  program
    .command('train')
    .description("train the population networks (keystroke embedding, mouse action network) on the enrolled agents, then refit every agent's templates with them and against the other agents (new versions)")
    .option('--data <dir>', 'data directory of the embedded store (VDIGUARD_DATA_DIR; default ./.vdiguard), or DATABASE_URL')
    .action(async (o: { data?: string }) => {
      const r = await runTrain({ dataDir: o.data });
      const describe = (name: string, n: TrainedNetwork | null): string =>
        !n ? `no ${name} yet (too few agents)` : n.trained ? `${name} v${n.version} trained (files in ${n.dir})` : `the stored ${name} v${n.version}`;
      process.stderr.write(`refitted ${r.agents} profiles against the population, with ${describe('keystroke network', r.keyEmbedding)} and ${describe('mouse action network', r.actionNetwork)}\n`);
    });

  clientCommand(program, 'replay')
    .description('stream a recorded session through a running scorer and print each verdict')
    .requiredOption('--events <file>', 'a vdiguard recording (see docs/recording-format.md)')
    .option('--agent <id>', "the agent the session claims to be (default: the recording's agent)")
    .option('--desktop <id>', 'desktop id to report', 'replay')
    .option('--speed <n>', 'playback speed: 1 is real time, 0 as fast as possible', '0')
    .option('--json', 'one JSON object per verdict, then a summary object')
    .action(async (o: ClientFlags & { events: string; agent?: string; desktop: string; speed: string; json?: boolean }) => {
      const speed = Number(o.speed);
      if (!Number.isFinite(speed) || speed < 0) throw new VdiguardError('invalid-argument', `--speed must be a number >= 0 (got ${o.speed})`);
      const print = (line: string): boolean => process.stdout.write(line + '\n');
      const summary = await replay({
        ...clientOptions(o),
        file: o.events,
        agent: o.agent,
        desktop: o.desktop,
        speed,
        batchMs: 100,
        onVerdict: (v, at) => print(o.json ? JSON.stringify(verdictJson(v, at)) : formatVerdict(v, at)),
      });
      if (o.json) print(JSON.stringify({ summary }));
      else {
        const end = summary.terminated ? `terminated after ${((summary.terminatedAtMs ?? 0) / 1000).toFixed(1)} s` : 'not terminated';
        print(`${summary.events} events, ${summary.verdicts} verdicts, minimum trust ${summary.minTrust.toFixed(2)}, ${end}`);
      }
    });

  clientCommand(program, 'enroll')
    .description("enrol an agent from a recording through the running scorer's admin API")
    .requiredOption('--agent <id>', 'the agent to enrol')
    .requiredOption('--events <file>', 'a vdiguard recording of the agent')
    .action(async (o: ClientFlags & { agent: string; events: string }) => {
      const res = await enroll({ ...clientOptions(o), agent: o.agent, file: o.events });
      process.stdout.write(`${res.eventsAccepted} events enrolled; ${res.profile ? formatStatus(res.profile) : ''}\n`);
    });

  const profile = program.command('profile').description("administer agents' behavioural profiles through the running scorer");
  const profileCommand = (name: string, description: string, withAgent: boolean, run: (o: AdminOptions, agent: string) => Promise<string>): void => {
    const c = clientCommand(profile, name).description(description);
    if (withAgent) c.argument('<agent>', 'agent id');
    c.action(async (...args: unknown[]) => {
      const agent = withAgent ? (args[0] as string) : '';
      const flags = (withAgent ? args[1] : args[0]) as ClientFlags;
      process.stdout.write((await run(clientOptions(flags), agent)) + '\n');
    });
  };
  profileCommand('get', "show an agent's profile status", true, async (o, agentId) => {
    const res = await adminCall(o, 'getProfile', { agentId });
    return res.profile ? formatStatus(res.profile) : '';
  });
  profileCommand('list', 'list all profiles', false, async (o) => {
    const res = await adminCall(o, 'listProfiles', {});
    return res.profiles.map(formatStatus).join('\n') || 'no profiles';
  });
  profileCommand('reset', "discard an agent's learned behaviour (enrols again)", true, async (o, agentId) => {
    const res = await adminCall(o, 'resetProfile', { agentId });
    return res.profile ? formatStatus(res.profile) : '';
  });
  profileCommand('delete', "delete an agent's profile and all its versions", true, async (o, agentId) => {
    const res = await adminCall(o, 'deleteProfile', { agentId });
    return `deleted ${res.versionsDeleted} profile versions of ${agentId}`;
  });

  program
    .command('import')
    .description('convert a dataset file or folder to vdiguard recordings (JSON lines)')
    .addArgument(program.createArgument('<kind>', 'dataset').choices(DATASET_KINDS as string[]))
    .argument('<input>', 'a dataset file, or a folder of them')
    .requiredOption('--out <path>', 'output file (file input) or directory (folder input)')
    .addOption(new Option('--timestamp <which>', 'balabit: client or record timestamp').choices(['client', 'record']).default('client'))
    .action(async (kind: DatasetKind, input: string, o: { out: string; timestamp: 'client' | 'record' }) => {
      const s = await importDataset(kind, input, o.out, { timestamp: o.timestamp });
      const skipped = Object.entries(s.skipped).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
      process.stderr.write(`imported ${s.files} file(s): ${s.rows} rows, ${s.events} events; skipped rows: ${skipped}\n`);
    });

  program
    .command('split')
    .description('split a recording in two at a fraction of its events (for enrol / hold-out experiments)')
    .argument('<file>', 'a vdiguard recording')
    .requiredOption('--first <file>', 'where the first part goes')
    .requiredOption('--second <file>', 'where the second part goes')
    .option('--fraction <f>', 'share of events in the first part', '0.5')
    .action(async (file: string, o: { first: string; second: string; fraction: string }) => {
      const { header, events } = await readRecordingEvents(file);
      const at = splitIndex(events, Number(o.fraction));
      await writeRecording(o.first, { ...header, session: `${header.session ?? 'recording'} part 1` }, events.slice(0, at));
      await writeRecording(o.second, { ...header, session: `${header.session ?? 'recording'} part 2` }, events.slice(at));
      process.stderr.write(`split ${events.length} events: ${at} to ${o.first}, ${events.length - at} to ${o.second}\n`);
    });

  program
    .command('measure-baseline')
    .description('per-window AUC/EER of the baseline model on a dataset folder (aalto-keystrokes or sapimouse)')
    .addArgument(program.createArgument('<kind>', 'dataset').choices(['aalto', 'sapimouse']))
    .requiredOption('--data <dir>', 'the extracted dataset folder')
    .option('--users <n>', 'participants to use', '100')
    .option('--window <n>', 'keystrokes (aalto) or actions (sapimouse) per window')
    .action(async (kind: string, o: { data: string; users: string; window?: string }) => {
      const users = Number(o.users);
      const m = kind === 'aalto' ? await measureAalto(o.data, users, Number(o.window ?? 50)) : await measureSapimouse(o.data, users, Number(o.window ?? 20));
      process.stdout.write(JSON.stringify({ kind, window: Number(o.window ?? (kind === 'aalto' ? 50 : 20)), ...m }) + '\n');
    });
}
