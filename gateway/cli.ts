/** The gateway's subcommands of `vdiguard`. */
import type { Command } from 'commander';

export function registerGatewayCommands(program: Command): void {
  void program;
}
