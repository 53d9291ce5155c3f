/** The gateway's subcommands of `vdiguard`. */
import type { Command } from 'commander';
import { registerBridgeCommand } from './bridge/cli.js';

export function registerGatewayCommands(program: Command): void {
  registerBridgeCommand(program);
}
