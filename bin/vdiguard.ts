#!/usr/bin/env node
/**
 * The `vdiguard` command. Each component registers its own subcommands; this file only assembles
 * them and turns errors into a message and an exit code.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../lib/config.js';
import { VdiguardError } from '../lib/errors.js';
import { registerScorerCommands } from '../scorer/cli.js';
import { registerGatewayCommands } from '../gateway/cli.js';
import { registerHealthCommand } from '../lib/health.js';

/** The installed package's version, read at run time so the image and a checkout cannot disagree with it. */
function packageVersion(): string {
  // dist/bin/vdiguard.js -> the package root, in a checkout and in the image alike.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const program = new Command('vdiguard')
  .description('Continuous behavioural authentication gateway for remote desktops')
  .version(packageVersion(), '-V, --version', 'print the version of vdiguard')
  .showHelpAfterError()
  .exitOverride();

registerScorerCommands(program);
// The relay rig (`vdiguard eval relay`) and the soak (`vdiguard soak`) are development tools on the
// dev dependencies; the image leaves them out (deploy/Dockerfile).
const rig = new URL('../rig/cli.js', import.meta.url);
if (existsSync(fileURLToPath(rig))) ((await import(rig.href)) as typeof import('../rig/cli.js')).registerRelayEval(program);
const soak = new URL('../soak/cli.js', import.meta.url);
if (existsSync(fileURLToPath(soak))) ((await import(soak.href)) as typeof import('../soak/cli.js')).registerSoak(program);
registerGatewayCommands(program);
registerHealthCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof ConfigError || err instanceof VdiguardError) {
    process.stderr.write(`vdiguard: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
