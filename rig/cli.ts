/** `vdiguard eval relay`, added to the scorer's `eval` command: the relay rig's measurements. */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { DEFAULT_PATH_TIMING_POLICY } from '../scorer/remote-control/pointer-timing.js';
import { relayPlotSvg } from './plot.js';
import { VdiguardError } from '../lib/errors.js';
import { numberFlag, requireDatasetFolder } from '../scorer/eval/command.js';
import { evalRelay, VNC_SETTINGS } from './relay-eval.js';
import { LINKS, type LinkProfile } from './rig.js';
import { RIG_SKIP, type VncSettings } from './x-display.js';

/** A numeric flag with a default, so always given. */
const flag = (name: string, value: string, min: number): number => numberFlag(name, value, min) as number;

/** The entries of `from` a comma-separated flag names. */
function choose<T>(flag: string, list: string, from: Readonly<Record<string, T>>): T[] {
  return list.split(',').map((name) => {
    const found = from[name.trim()];
    if (!found) throw new VdiguardError('invalid-argument', `--${flag} takes ${Object.keys(from).join(', ')} (got ${name})`);
    return found;
  });
}

/** What every rig eval that relays takes: the colluder's mouse, the links and their seed, JSON. */
function relayOptions(c: Command): Command {
  return c
    .option('--viewer-hz <hz>', "rate of the colluder's mouse, which the viewer sends on", '125')
    .option('--links <list>', `link profiles: ${LINKS.map((l) => l.name).join(', ')}`, LINKS.map((l) => l.name).join(','))
    .option('--seed <n>', "seed of the links' delays", '1')
    .option('--json', 'also print the figures as one JSON line');
}

const linksOf = (list: string): LinkProfile[] => choose('links', list, Object.fromEntries(LINKS.map((l) => [l.name, l])));

export function registerRelayEval(program: Command): void {
  const ev = program.commands.find((c) => c.name() === 'eval');
  if (!ev) throw new Error('the eval command must be registered before the relay rig');
  relayOptions(ev.command('relay'))
    .description("the relay rig (issue 20): one person's input played into chromium on an X display, locally through XTest and relayed through x11vnc over links with jitter; what the scorer received on each path")
    .requiredOption('--keys-file <file>', 'an Aalto <ID>_keystrokes.txt file')
    .requiredOption('--mouse-file <file>', 'a SapiMouse session .csv file')
    .option('--seconds <s>', 'length of each stretch', '30')
    .option('--device-hz <list>', 'report rates of the local devices, comma-separated', '60,125,1000')
    .option('--vnc <list>', `x11vnc settings: ${Object.keys(VNC_SETTINGS).join(', ')}`, Object.keys(VNC_SETTINGS).join(','))
    .option('--runs <n>', 'runs of every stretch, each on the next part of the recordings', '1')
    .option('--plot <file>', "write an SVG: each stretch's pointer times off its path, against the test's scale")
    .action(async (f: { keysFile: string; mouseFile: string; seconds: string; deviceHz: string; viewerHz: string; links: string; vnc: string; runs: string; seed: string; json?: boolean; plot?: string }) => {
      if (RIG_SKIP) throw new VdiguardError('failed-precondition', RIG_SKIP);
      const r = await evalRelay({
        keysFile: f.keysFile,
        mouseFile: f.mouseFile,
        seconds: flag('seconds', f.seconds, 1),
        deviceHz: f.deviceHz.split(',').map((x) => flag('device-hz', x, 1)),
        viewerHz: flag('viewer-hz', f.viewerHz, 1),
        links: linksOf(f.links),
        vnc: choose('vnc', f.vnc, VNC_SETTINGS),
        runs: flag('runs', f.runs, 1),
        seed: flag('seed', f.seed, 0),
        progress: (line) => process.stderr.write(line + '\n'),
      });
      if (f.plot) {
        await writeFile(f.plot, relayPlotSvg('relay rig: local and relayed input', r.cells, DEFAULT_PATH_TIMING_POLICY.scaleMs));
        process.stderr.write(`plot written to ${f.plot}\n`);
      }
      process.stdout.write(r.text + '\n');
      if (f.json) process.stdout.write(JSON.stringify(r.json) + '\n');
    });

  relayOptions(ev.command('relay-takeover'))
    .description('the relay rig with a trained deployment of enrolled agents: what the scorer decides when the agent, or another person, works locally or through a remote-control tool over each link')
    .requiredOption('--keys <dir>', 'the extracted aalto-keystrokes folder')
    .requiredOption('--mouse <dir>', 'the extracted sapimouse folder')
    .option('--agents <n>', 'agents enrolled in the deployment (20 or more trains both population networks)', '20')
    .option('--targets <n>', 'agents whose sessions are played, each with the next agent as the other person', '2')
    .option('--seconds <s>', 'length of each stretch', '60')
    .option('--device-hz <hz>', "report rate of the agent's own mouse", '125')
    .option('--vnc <name>', `x11vnc setting: ${Object.keys(VNC_SETTINGS).join(', ')}`, 'defaults')
    .action(async (f: { keys: string; mouse: string; agents: string; targets: string; seconds: string; deviceHz: string; viewerHz: string; links: string; vnc: string; seed: string; json?: boolean }) => {
      if (RIG_SKIP) throw new VdiguardError('failed-precondition', RIG_SKIP);
      requireDatasetFolder('--keys', f.keys, 'aalto', (n) => n.some((x) => x.endsWith('_keystrokes.txt')));
      requireDatasetFolder('--mouse', f.mouse, 'sapimouse', (n) => n.some((x) => /^user\d+$/.test(x)));
      const { evalRelayTakeover } = await import('./takeover-eval.js');
      const r = await evalRelayTakeover({
        keys: f.keys,
        mouse: f.mouse,
        agents: flag('agents', f.agents, 2),
        targets: flag('targets', f.targets, 1),
        seconds: flag('seconds', f.seconds, 1),
        deviceHz: flag('device-hz', f.deviceHz, 1),
        viewerHz: flag('viewer-hz', f.viewerHz, 1),
        links: linksOf(f.links),
        vnc: choose('vnc', f.vnc, VNC_SETTINGS)[0] as VncSettings,
        seed: flag('seed', f.seed, 0),
        progress: (line) => process.stderr.write(line + '\n'),
      });
      process.stdout.write(r.text + '\n');
      if (f.json) process.stdout.write(JSON.stringify(r.json) + '\n');
    });

  ev.command('relay-local')
    .description('how often the remote-control tests would suspect local input, simulated over every recorded pointer path played as local devices of the given rates (many more hours than the rig plays in real time)')
    .option('--mouse <dir>', 'the extracted sapimouse folder')
    .option('--balabit <dir>', 'the extracted balabit-mouse folder (its training files)')
    .option('--device-hz <list>', 'report rates of the simulated devices, comma-separated', '60,125,250,500,1000')
    .option('--stamp-noise-ms <ms>', 'each report stamped up to this late (the rig measures 0.5-1.6 ms off the path locally)', '1')
    .option('--seed <n>', 'seed of the stamping noise', '1')
    .option('--json', 'also print the figures as one JSON line')
    .action(async (f: { mouse?: string; balabit?: string; deviceHz: string; stampNoiseMs: string; seed: string; json?: boolean }) => {
      if (!f.mouse && !f.balabit) throw new VdiguardError('invalid-argument', 'give --mouse <sapimouse folder> and/or --balabit <balabit-mouse folder>');
      const { evalLocalHours } = await import('./local-hours.js');
      const r = await evalLocalHours({
        sapimouse: f.mouse,
        balabit: f.balabit,
        deviceHz: f.deviceHz.split(',').map((x) => flag('device-hz', x, 1)),
        stampNoiseMs: flag('stamp-noise-ms', f.stampNoiseMs, 0),
        seed: flag('seed', f.seed, 0),
      });
      process.stdout.write(r.text + '\n');
      if (f.json) process.stdout.write(JSON.stringify({ rows: r.rows }) + '\n');
    });
}
