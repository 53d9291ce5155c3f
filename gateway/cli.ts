/** The gateway's subcommands of `vdiguard`. */
import type { Command } from 'commander';
import { VdiguardError } from '../lib/errors.js';
import { formatHostPort, type HostPort } from '../lib/config.js';
import { runGateway } from './commands/gateway.js';
import { agentListing, provisioning, withManagement } from './commands/admin.js';
import { registerBridgeCommand } from './bridge/cli.js';
import type { Desktop } from './store/gateway-store.js';
import { registerAdminCommands } from './commands/admins.js';
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
  registerAdminCommands(program);
  registerBridgeCommand(program);
}

function out(text: string): void {
  process.stdout.write(text);
}

/** A secret from the environment variable the command names: kept out of the shell history and the process list. */
function secretFrom(variable: string, what: string): string {
  const value = process.env[variable];
  if (!value) throw new VdiguardError('invalid-argument', `set ${what} in ${variable} (kept out of the shell history and process list)`);
  return value;
}

function registerAgentCommands(program: Command): void {
  const agent = program
    .command('agent')
    .description('administer the agents who log in at the gateway (through the running gateway when it owns the embedded store)');
  agent
    .command('add')
    .description('add an agent; prints the TOTP provisioning URI and a QR code for their authenticator app')
    .argument('<id>', 'agent id')
    .option('--name <display name>', 'display name (default: the id)')
    .option('--password-env <variable>', 'read the password from this environment variable', 'VDIGUARD_AGENT_PASSWORD')
    .action(async (id: string, o: { name?: string; passwordEnv: string }) => {
      const password = secretFrom(o.passwordEnv, "the agent's initial password");
      const { totp } = await withManagement('vdiguard agent add', (m) => m.addAgent({ id, name: o.name, password }));
      out(`agent ${id} added\n${provisioning(totp)}`);
    });
  agent
    .command('list')
    .description('list agents, their locks and desktops')
    .action(async () => out(agentListing(await withManagement('vdiguard agent list', (m) => m.listAgents()))));
  agent
    .command('rename')
    .description("change an agent's display name")
    .argument('<id>', 'agent id')
    .argument('<name>', 'new display name')
    .action(async (id: string, name: string) => {
      await withManagement('vdiguard agent rename', (m) => m.updateAgent(id, { name }));
      out(`agent ${id} is now called ${name}\n`);
    });
  agent
    .command('set-password')
    .description("give an agent a new password (their authenticator stays)")
    .argument('<id>', 'agent id')
    .option('--password-env <variable>', 'read the password from this environment variable', 'VDIGUARD_AGENT_PASSWORD')
    .action(async (id: string, o: { passwordEnv: string }) => {
      const password = secretFrom(o.passwordEnv, "the agent's new password");
      await withManagement('vdiguard agent set-password', (m) => m.updateAgent(id, { password }));
      out(`agent ${id} has a new password\n`);
    });
  for (const [verb, status, what] of [
    ['disable', 'disabled', 'stop an agent from logging in; their live sessions end'],
    ['enable', 'active', 'let a disabled agent log in again'],
  ] as const) {
    agent
      .command(verb)
      .description(what)
      .argument('<id>', 'agent id')
      .action(async (id: string) => {
        await withManagement(`vdiguard agent ${verb}`, (m) => m.updateAgent(id, { status }));
        out(`agent ${id} ${verb}d\n`);
      });
  }
  agent
    .command('unlock')
    .description('let an agent locked (or on probation) after a security decision, or held by the login throttle, log in again; recorded in the audit trail')
    .argument('<id>', 'agent id')
    .action(async (id: string) => {
      const r = await withManagement('vdiguard agent unlock', (m) => m.unlockAgent(id));
      out(`agent ${id} unlocked (lifted: ${r.lifted.join(', ')})\n`);
    });
  agent
    .command('reset-mfa')
    .description('give an agent a new TOTP secret (the old authenticator entry stops working); prints the new URI and QR code')
    .argument('<id>', 'agent id')
    .action(async (id: string) => {
      const { totp } = await withManagement('vdiguard agent reset-mfa', (m) => m.resetMfa(id));
      out(`new MFA secret for ${id}\n${provisioning(totp)}`);
    });
  agent
    .command('remove')
    .description('remove an agent and their desktop assignments; their live sessions end; their sessions and decisions stay as history (VDIGUARD_HISTORY_RETENTION_DAYS)')
    .argument('<id>', 'agent id')
    .action(async (id: string) => {
      await withManagement('vdiguard agent remove', (m) => m.removeAgent(id));
      out(`agent ${id} removed\n`);
    });
}

interface DesktopOptions {
  host?: string;
  port?: string;
  name?: string;
  security?: string;
  domain?: string;
  username?: string;
  passwordEnv?: string;
  ignoreCert?: boolean;
  certFingerprints?: string;
}

/** The command's options as the fields of management.ts (the same names as the admin API's). */
function desktopFields(o: DesktopOptions, password: string | undefined): Record<string, unknown> {
  return { host: o.host, port: o.port, name: o.name, security: o.security, domain: o.domain, username: o.username, password, ignoreCert: o.ignoreCert, certFingerprints: o.certFingerprints };
}

function desktopLine(d: Desktop): string {
  const trust = d.ignoreCert ? 'certificate not checked' : d.certFingerprints ? `pinned ${d.certFingerprints}` : 'CA-checked certificate';
  return `${d.desktopId}\t${d.host}:${d.port}\t${d.security}\t${trust}\t${d.displayName}\tagents: ${d.agents.join(', ') || '-'}\n`;
}

function registerDesktopCommands(program: Command): void {
  const desktop = program
    .command('desktop')
    .description('administer the desktops agents reach through the gateway (through the running gateway when it owns the embedded store)');
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
    .option('--cert-fingerprints <list>', 'pinned SHA-256 certificate fingerprints, comma separated (sha256:0f:51:... or 0F:51:...; `desktop check` shows it)')
    .action(async (id: string, o: DesktopOptions) => {
      const password = process.env[o.passwordEnv ?? ''] ?? '';
      await withManagement('vdiguard desktop add', (m) => m.addDesktop({ id, ...desktopFields(o, password) }));
      out(`desktop ${id} added\n`);
    });
  desktop
    .command('update')
    .description("change a desktop's settings; what is not given stays (the password too); live sessions continue as they are, new ones use the new settings")
    .argument('<id>', 'desktop id')
    .option('--host <host>', 'RDP host name or address')
    .option('--port <port>', 'RDP port')
    .option('--name <display name>', 'name shown to agents')
    .option('--security <mode>', 'any, nla, tls, rdp or vmconnect')
    .option('--domain <domain>', 'Windows domain')
    .option('--username <user>', 'account the gateway logs in with')
    .option('--password-env <variable>', "set the account's password from this environment variable")
    .option('--ignore-cert', "accept the desktop's certificate without checking it (development only)")
    .option('--no-ignore-cert', "check the desktop's certificate again")
    .option('--cert-fingerprints <list>', 'pinned SHA-256 certificate fingerprints, comma separated ("" removes the pins)')
    .action(async (id: string, o: DesktopOptions) => {
      const password = o.passwordEnv === undefined ? undefined : secretFrom(o.passwordEnv, "the desktop account's password");
      const { desktop: d } = await withManagement('vdiguard desktop update', (m) => m.updateDesktop(id, desktopFields(o, password)));
      out(`desktop updated\n${desktopLine(d)}`);
    });
  desktop
    .command('list')
    .description('list desktops and who may use them')
    .action(async () => {
      const list = await withManagement('vdiguard desktop list', (m) => m.listDesktops());
      out(list.length ? list.map(desktopLine).join('') : 'no desktops\n');
    });
  desktop
    .command('remove')
    .description('remove a desktop and its assignments; its live sessions end')
    .argument('<id>', 'desktop id')
    .action(async (id: string) => {
      await withManagement('vdiguard desktop remove', (m) => m.removeDesktop(id));
      out(`desktop ${id} removed\n`);
    });
  desktop
    .command('assign')
    .description('let an agent use a desktop')
    .argument('<desktop>', 'desktop id')
    .argument('<agent>', 'agent id')
    .action(async (desktopId: string, agentId: string) => {
      await withManagement('vdiguard desktop assign', (m) => m.assign(desktopId, agentId));
      out(`agent ${agentId} may use desktop ${desktopId}\n`);
    });
  desktop
    .command('unassign')
    .description("stop an agent using a desktop; their live session on it ends")
    .argument('<desktop>', 'desktop id')
    .argument('<agent>', 'agent id')
    .action(async (desktopId: string, agentId: string) => {
      await withManagement('vdiguard desktop unassign', (m) => m.unassign(desktopId, agentId));
      out(`agent ${agentId} may no longer use desktop ${desktopId}\n`);
    });
  desktop
    .command('check')
    .description("connect to a desktop up to its TLS handshake (no credentials sent) and show its certificate, to pin with --cert-fingerprints")
    .argument('<desktop>', 'a stored desktop id, or host[:port] of one not added yet (port 3389 unless given)')
    .action(async (target: string) => {
      const stored = await withManagement('vdiguard desktop check', (m) => m.checkDesktop(target)).catch((err: unknown) => {
        if (err instanceof VdiguardError && err.code === 'not-found') return undefined;
        throw err;
      });
      const address = stored ? undefined : parseDesktopAddress(target);
      const check = stored ?? (await checkDesktop(address as HostPort));
      out(checkReport(address ? formatHostPort(address) : target, check));
      if (stored?.fingerprint && !stored.pinned) out(`not pinned yet: vdiguard desktop update ${target} --cert-fingerprints ${stored.fingerprint}\n`);
      if (!check.fingerprint) process.exitCode = 1;
    });
}
