/** The scorer's subcommands of `vdiguard`. */
import { Option, type Command } from 'commander';
import { importDataset } from './datasets/import.js';
import { DATASET_KINDS, type DatasetKind } from './datasets/types.js';
import { measureAalto, measureSapimouse } from './models/measure-datasets.js';

export function registerScorerCommands(program: Command): void {
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
