/** `vdiguard bridge`: runs the built-in RDP bridge as its own process. */
import { untilSignalled } from '../../lib/signals.js';
import type { Command } from 'commander';
import { loadSettings } from '../../lib/config.js';
import { createLogger } from '../../lib/log.js';
import { BRIDGE_SETTINGS } from './config.js';

export function registerBridgeCommand(program: Command): void {
  program
    .command('bridge')
    .description('Run the built-in RDP bridge: a guacd-compatible daemon (rdp only, TLS security, no NLA)')
    .option('--listen <host:port>', 'address to accept Guacamole connections on (VDIGUARD_BRIDGE_LISTEN, default 127.0.0.1:4822)')
    .action(async (opts: { listen?: string }) => {
      const settings = loadSettings(BRIDGE_SETTINGS, process.env, { listen: opts.listen });
      const log = createLogger(settings.logLevel, 'vdiguard-bridge');
      // Loaded here, not at the top: node-rdpjs-2 (GPL/AGPL) enters only the bridge's own process.
      const { BridgeServer } = await import('./server.js');
      const server = new BridgeServer(settings, log);
      const signalled = untilSignalled(log);
      await server.listen();
      // Last line of defence: one connection's unforeseen library error must not end the others.
      process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception contained'));
      await signalled;
      await server.close(settings.shutdownGraceSeconds * 1000);
      process.exit(0);
    });
}
