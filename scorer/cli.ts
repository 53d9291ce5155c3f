/** The scorer's subcommands of `vdiguard`. */
import type { Command } from 'commander';

export function registerScorerCommands(program: Command): void {
  void program;
}
