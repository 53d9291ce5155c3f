/**
 * `vdiguard admin ...`: named admin accounts from the command line, through the same code as the
 * admin API (gateway/admin/accounts.ts), recorded as `cli:<os user>`. Like `vdiguard agent ...`
 * they work on PostgreSQL at any time; an embedded store they open only while no gateway holds it,
 * and otherwise point to the running gateway's admin page and API, which manage admins too.
 */
import type { Command } from 'commander';
import { VdiguardError } from '../../lib/errors.js';
import { AdminAccounts } from '../admin/accounts.js';
import { AdminActions } from '../admin/actions.js';
import type { Actor, AdminRole } from '../admin/actor.js';
import { AdminStore } from '../store/admin-store.js';
import { loadGatewaySettings } from '../config.js';
import { cliActor, provisioning, withLocalStore } from './admin.js';


async function withAccounts<T>(fn: (accounts: AdminAccounts, actor: Actor) => Promise<T>): Promise<T> {
  return withLocalStore(
    'vdiguard admin',
    (db, box) => fn(new AdminAccounts({ admins: new AdminStore(db, box), actions: new AdminActions(db), issuer: loadGatewaySettings().totpIssuer }), cliActor()),
    (adminUrl) => `manage admins on the running gateway's admin page (${adminUrl}/admin) or its admin API (/api/admin/admins)`,
  );
}

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('administer the named admins and analysts who sign in at /admin');
  admin
    .command('add')
    .description('add an admin (or analyst); prints the TOTP provisioning URI and a QR code for their authenticator app')
    .argument('<name>', 'admin name')
    .option('--role <role>', 'admin (manages) or analyst (reads sessions, decisions and profiles)', 'admin')
    .option('--password-env <variable>', 'read the password from this environment variable', 'VDIGUARD_ADMIN_PASSWORD')
    .action(async (name: string, o: { role: string; passwordEnv: string }) => {
      const password = process.env[o.passwordEnv];
      if (!password) throw new VdiguardError('invalid-argument', `set the admin's initial password in ${o.passwordEnv} (kept out of the shell history and process list)`);
      const { admin: added, totp } = await withAccounts((accounts, actor) => accounts.add(actor, { name, role: o.role as AdminRole, password }));
      process.stdout.write(`${added.role} ${added.name} added; they sign in at <gateway>/admin\n${provisioning(totp)}`);
    });
  admin
    .command('list')
    .description('list admins and analysts')
    .action(async () => {
      const list = await withAccounts((accounts, actor) => accounts.list(actor));
      process.stdout.write(list.length ? list.map((a) => `${a.name}\t${a.role}\t${a.status}\tsince ${a.createdAt.toISOString()}`).join('\n') + '\n' : 'no admins (the gateway creates one when it starts)\n');
    });
  admin
    .command('remove')
    .description('remove an admin (never the last active one)')
    .argument('<name>', 'admin name')
    .action(async (name: string) => {
      await withAccounts((accounts, actor) => accounts.remove(actor, name));
      process.stdout.write(`admin ${name} removed\n`);
    });
  admin
    .command('reset-mfa')
    .description('give an admin a new TOTP secret (the old authenticator entry stops working); prints the new URI and QR code')
    .argument('<name>', 'admin name')
    .action(async (name: string) => {
      const totp = await withAccounts((accounts, actor) => accounts.resetMfa(actor, name));
      process.stdout.write(`new MFA secret for admin ${name}\n${provisioning(totp)}`);
    });
  admin
    .command('set-role')
    .description('make an admin an analyst (read-only) or an analyst an admin (never demotes the last active admin)')
    .argument('<name>', 'admin name')
    .argument('<role>', 'admin or analyst')
    .action(async (name: string, role: string) => {
      const changed = await withAccounts((accounts, actor) => accounts.update(actor, name, { role: role as AdminRole }));
      process.stdout.write(`${changed.name} is now ${changed.role}\n`);
    });
  for (const [verb, status, what] of [['disable', 'disabled', 'stop an admin from signing in; their sessions end at their next request (never the last active admin)'], ['enable', 'active', 'let a disabled admin sign in again']] as const) {
    admin
      .command(verb)
      .description(what)
      .argument('<name>', 'admin name')
      .action(async (name: string) => {
        await withAccounts((accounts, actor) => accounts.update(actor, name, { status }));
        process.stdout.write(`admin ${name} ${status === 'active' ? 'enabled' : 'disabled'}\n`);
      });
  }
}
