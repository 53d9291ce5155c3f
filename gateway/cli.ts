/** The gateway's subcommands of `vdiguard`. */
import type { Command } from 'commander';
import { VdiguardError } from '../lib/errors.js';
import { runGateway } from './commands/gateway.js';
import { addAgent, agentListing, parseSecurity, provisioning, resetMfa, unlock, withStore } from './commands/admin.js';
import { registerBridgeCommand } from './bridge/cli.js';
import { parseCertFingerprints } from './guac/fingerprints.js';
import { checkDesktop } from './desktops/check.js';
import { checkReport, parseDesktopAddress } from './desktops/check-report.js';

export function registerGatewayCommands(program: Command): void {
  program
    .command('gateway')
    .description('run the gateway (agent page, login, admin API, WebSocket tunnel); the scorer runs inside it unless VDIGUARD_GATEWAY_SCORER is set')
    .option('--listen <host:port>', 'address to serve on (VDIGUARD_GATEWAY_LISTEN; default 127.0.0.1:8080)')
    .option('--guacd <host:port>', 'guacd or the built-in bridge (VDIGUARD_GUACD; default 127.0.0.1:4822)')
    .option('--scorer <host:port>', 'a running scorer (VDIGUARD_GATEWAY_SCORER; default: run one inside)')
    .option('--data <dir>', 'data directory of the embedded store (VDIGUARD_DATA_DIR; default ./.vdiguard)')
    .action((o: { listen?: string; guacd?: string; scorer?: string; data?: string }) => runGateway({ listen: o.listen, guacd: o.guacd, scorer: o.scorer }, o.data));

  registerAgentCommands(program);
  registerDesktopCommands(program);
  registerBridgeCommand(program);
}

function registerAgentCommands(program: Command): void {
  const agent = program.command('agent').description('administer the agents who log in at the gateway');
  agent
    .command('add')
    .description('add an agent; prints the TOTP provisioning URI and a QR code for their authenticator app')
    .argument('<id>', 'agent id')
    .option('--name <display name>', 'display name (default: the id)')
    .option('--password-env <variable>', 'read the password from this environment variable', 'VDIGUARD_AGENT_PASSWORD')
    .action(async (id: string, o: { name?: string; passwordEnv: string }) => {
      const password = process.env[o.passwordEnv];
      if (!password) throw new VdiguardError('invalid-argument', `set the agent's initial password in ${o.passwordEnv} (kept out of the shell history and process list)`);
      const { uri } = await withStore((store, issuer) => addAgent(store, issuer, { agentId: id, displayName: o.name ?? id, password }));
      process.stdout.write(`agent ${id} added\n${provisioning(uri)}`);
    });
  agent
    .command('list')
    .description('list agents')
    .action(async () => {
      process.stdout.write(await withStore((store) => agentListing(store)));
    });
  agent
    .command('disable')
    .description('stop an agent from logging in (sessions already open continue until they end)')
    .argument('<id>', 'agent id')
    .action(async (id: string) => {
      await withStore((store) => store.setAgentStatus(id, 'disabled'));
      process.stdout.write(`agent ${id} disabled\n`);
    });
  agent
    .command('enable')
    .description('let a disabled agent log in again')
    .argument('<id>', 'agent id')
    .action(async (id: string) => {
      await withStore((store) => store.setAgentStatus(id, 'active'));
      process.stdout.write(`agent ${id} enabled\n`);
    });
  agent
    .command('unlock')
    .description('let an agent locked (or on probation) after a security decision log in again; recorded in the audit trail')
    .argument('<id>', 'agent id')
    .action(async (id: string) => {
      const lifted = await withStore((store) => unlock(store, id));
      process.stdout.write(`agent ${id} unlocked (was ${lifted.kind} after ${lifted.action} in session ${lifted.sessionId})\n`);
    });
  agent
    .command('reset-mfa')
    .description("give an agent a new TOTP secret (the old authenticator entry stops working); prints the new URI and QR code")
    .argument('<id>', 'agent id')
    .action(async (id: string) => {
      const { uri } = await withStore((store, issuer) => resetMfa(store, issuer, id));
      process.stdout.write(`new MFA secret for ${id}\n${provisioning(uri)}`);
    });
}

function registerDesktopCommands(program: Command): void {
  const desktop = program.command('desktop').description('administer the desktops agents reach through the gateway');
  desktop
    .command('add')
    .description('add an RDP desktop; its credentials are sealed in the store and never reach the browser')
    .argument('<id>', 'desktop id')
    .requiredOption('--host <host>', 'RDP host name or address')
    .option('--port <port>', 'RDP port', '3389')
    .option('--name <display name>', 'name shown to agents (default: the id)')
    .option('--security <mode>', 'any, nla, tls, rdp or vmconnect', 'any')
    .option('--domain <domain>', 'Windows domain', '')
    .option('--username <user>', 'account the gateway logs in with', '')
    .option('--password-env <variable>', "read the account's password from this environment variable", 'VDIGUARD_DESKTOP_PASSWORD')
    .option('--ignore-cert', "accept the desktop's certificate without checking it (development only)")
    .option('--cert-fingerprints <list>', 'pinned SHA-256 certificate fingerprints, comma separated (sha256:0f:51:... or 0F:51:...)', '')
    .action(async (id: string, o: { host: string; port: string; name?: string; security: string; domain: string; username: string; passwordEnv: string; ignoreCert?: boolean; certFingerprints: string }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new VdiguardError('invalid-argument', `--port must be 1 to 65535 (got ${o.port})`);
      const pins = parseCertFingerprints(o.certFingerprints);
      if (pins.problems.length > 0) throw new VdiguardError('invalid-argument', `--cert-fingerprints: ${pins.problems.join('; ')}`);
      await withStore((store) =>
        store.addDesktop({
          desktopId: id,
          displayName: o.name ?? id,
          host: o.host,
          port,
          security: parseSecurity(o.security),
          domain: o.domain,
          ignoreCert: Boolean(o.ignoreCert),
          certFingerprints: o.certFingerprints,
          credentials: { username: o.username, password: process.env[o.passwordEnv] ?? '' },
        }),
      );
      process.stdout.write(`desktop ${id} added\n`);
    });
  desktop
    .command('list')
    .description('list desktops and who may use them')
    .action(async () => {
      const list = await withStore((store) => store.listDesktops());
      process.stdout.write(list.map((d) => `${d.desktopId}\t${d.host}:${d.port}\t${d.security}\t${d.displayName}\tagents: ${d.agents.join(', ') || '-'}`).join('\n') + (list.length ? '\n' : 'no desktops\n'));
    });
  desktop
    .command('check')
    .description("connect to a desktop up to its TLS handshake and show its certificate, to pin with --cert-fingerprints (sends no credentials)")
    .argument('<host[:port]>', 'RDP host name or address, port 3389 unless given')
    .action(async (target: string) => {
      const address = parseDesktopAddress(target);
      const check = await checkDesktop(address);
      process.stdout.write(checkReport(address, check));
      if (!check.fingerprint) process.exitCode = 1;
    });
  desktop
    .command('assign')
    .description('let an agent use a desktop')
    .argument('<desktop>', 'desktop id')
    .argument('<agent>', 'agent id')
    .action(async (desktopId: string, agentId: string) => {
      await withStore((store) => store.assign(desktopId, agentId));
      process.stdout.write(`agent ${agentId} may use desktop ${desktopId}\n`);
    });
}
