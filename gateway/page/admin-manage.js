// The console's management views: agents, desktops and admin accounts. Analysts see them read-only:
// no button is drawn that the API would refuse.
import { badge, button, call, confirmed, dialog, enc, field, h, submitting, table, totpDialog, when } from './admin-lib.js';

/** A form in a dialog: `fields`, a submit button, the error line; `action(values)` returning true closes it. */
function formDialog(title, fields, verb, action) {
  const form = h('form.dialog-form', {}, ...fields, h('p.message'), h('div.actions', {}, h('button', { type: 'button', value: 'cancel', onclick: () => form.closest('dialog').close('cancel') }, 'Cancel'), h('button.primary', { type: 'submit' }, verb)));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    if (await submitting(form, () => action(values, form))) form.closest('dialog').close('done');
  });
  return dialog(title, form);
}

export async function agentsView(ctx, root) {
  const [{ agents }, { locks }] = await Promise.all([call('/api/admin/agents'), call('/api/admin/locks')]);
  const lockOf = new Map(locks.map((l) => [l.agentId, l]));
  const act = (label, fn, cls) => button(label, async () => (await fn()) !== false && ctx.refresh(), cls);
  const rows = agents.map((a) => {
    const lock = a.lock ?? lockOf.get(a.agentId);
    const manage = ctx.canManage
      ? h(
          'td.row-actions',
          {},
          act('Rename', () => formDialog(`Rename ${a.agentId}`, [field('Display name', 'name', { value: a.displayName, required: true })], 'Rename', (v) => call(`/api/admin/agents/${enc(a.agentId)}`, 'PATCH', { name: v.name }))),
          a.status === 'active'
            ? act('Disable', () => call(`/api/admin/agents/${enc(a.agentId)}`, 'PATCH', { status: 'disabled' }))
            : act('Enable', () => call(`/api/admin/agents/${enc(a.agentId)}`, 'PATCH', { status: 'active' })),
          act('Reset MFA', async () => {
            if (!(await confirmed('Reset MFA', `Give ${a.agentId} a new authenticator secret? Their current codes stop working.`, 'Reset MFA'))) return false;
            const { totp } = await call(`/api/admin/agents/${enc(a.agentId)}/reset-mfa`, 'POST', {});
            await totpDialog(`New authenticator for ${a.agentId}`, a.agentId, totp);
          }),
          lock || a.status === 'locked' ? act('Unlock', () => call(`/api/admin/agents/${enc(a.agentId)}/unlock`, 'POST', {}), 'unlock') : '',
          act('Remove', async () => {
            if (!(await confirmed('Remove agent', `Remove ${a.agentId}? They can no longer sign in; their decisions and sessions stay in the history.`, 'Remove'))) return false;
            await call(`/api/admin/agents/${enc(a.agentId)}`, 'DELETE');
          }, 'danger'),
        )
      : '';
    return h(
      'tr',
      { dataset: { agent: a.agentId } },
      h('td', {}, h('strong', {}, a.agentId), h('div.muted', {}, a.displayName)),
      h('td', {}, badge(a.status, a.status === 'active' ? 'ok' : 'danger'), lock ? [' ', badge(lock.kind, 'danger')] : ''),
      h('td', {}, lock ? h('span', { title: lock.reason }, `${lock.action}: ${lock.reason}`) : ''),
      h('td', {}, (a.desktops ?? []).join(', ')),
      h('td', {}, when(a.createdAt)),
      manage,
    );
  });
  const add = ctx.canManage
    ? button('Add agent', () =>
        formDialog(
          'Add agent',
          [field('Agent id', 'id', { required: true, autocomplete: 'off' }), field('Display name', 'name'), field('Initial password', 'password', { type: 'password', required: true, autocomplete: 'new-password' })],
          'Add',
          async (v) => {
            const { agent, totp } = await call('/api/admin/agents', 'POST', { id: v.id, name: v.name || undefined, password: v.password });
            ctx.refresh();
            setTimeout(() => totpDialog(`Authenticator for ${agent.agentId}`, agent.agentId, totp).then(ctx.refresh));
            return true;
          },
        ), 'primary')
    : '';
  root.replaceChildren(h('div.section-head', {}, h('h1', {}, 'Agents'), add), h('div.panel.wide', {}, table(['agent', 'status', 'lock', 'desktops', 'created', ctx.canManage ? '' : null].filter((x) => x !== null), rows, 'No agents yet.')));
}

const SECURITY = ['any', 'nla', 'tls', 'rdp', 'vmconnect'];

/** The desktop form: every field; "Check" connects and offers to pin the certificate it shows. */
function desktopForm(d) {
  const pins = field('Pinned certificate fingerprints (comma separated)', 'certFingerprints', { value: d?.certFingerprints ?? '', placeholder: 'sha256:0f:51:...' });
  const checked = h('div.check-result');
  const check = button('Check', async () => {
    const form = check.closest('form');
    const host = form.elements.host.value;
    const port = Number(form.elements.port.value || 3389);
    checked.replaceChildren(h('span.muted', {}, `connecting to ${host}:${port}...`));
    await submitting(form, async () => {
      const r = await call('/api/admin/desktops/check', 'POST', { host, port });
      if (!r.reachable) return checked.replaceChildren(badge('unreachable', 'danger'), ' ', r.error ?? '');
      const pin = button('Pin this', () => {
        const input = form.elements.certFingerprints;
        const list = input.value.split(',').map((x) => x.trim()).filter(Boolean);
        if (!list.includes(r.fingerprint)) input.value = [...list, r.fingerprint].join(',');
        pin.disabled = true;
        pin.textContent = 'Pinned';
      }, 'pin');
      checked.replaceChildren(
        h('div', {}, badge('reachable', 'ok'), r.trusted ? [' ', badge('CA-trusted', 'ok')] : '', r.pinned ? [' ', badge('pinned', 'ok')] : ''),
        h('div', {}, 'Fingerprint ', h('code.fingerprint', {}, r.fingerprint ?? '-')),
        r.subject ? h('div.muted', {}, `subject ${r.subject}, issuer ${r.issuer}, valid to ${r.validTo}`) : '',
        r.fingerprint ? pin : '',
      );
    });
  });
  return [
    field('Desktop id', 'id', { value: d?.desktopId ?? '', required: true, readonly: d ? true : undefined }),
    field('Display name', 'name', { value: d?.displayName ?? '' }),
    h('div.row', {}, field('Host', 'host', { value: d?.host ?? '', required: true }), field('Port', 'port', { type: 'number', min: 1, max: 65535, value: d?.port ?? 3389 })),
    h('div.row', {}, field('Security', 'security', { options: SECURITY, value: d?.security ?? 'any' }), field('Domain', 'domain', { value: d?.domain ?? '' })),
    h('div.row', {}, field('Username', 'username', { value: '', autocomplete: 'off', placeholder: d ? 'unchanged' : '' }), field('Password', 'password', { type: 'password', autocomplete: 'new-password', placeholder: d ? 'unchanged' : '' })),
    h('div.row.check-row', {}, check, checked),
    pins,
    h('label.checkbox', {}, h('input', { type: 'checkbox', name: 'ignoreCert', checked: d?.ignoreCert ? true : undefined }), 'Ignore the certificate (development desktops only)', h('span.field-error', { dataset: { for: 'ignoreCert' } })),
  ];
}

function desktopBody(v, editing) {
  const body = { name: v.name || undefined, host: v.host, port: Number(v.port || 3389), security: v.security, domain: v.domain, ignoreCert: v.ignoreCert === 'on', certFingerprints: v.certFingerprints };
  if (!editing) body.id = v.id;
  if (v.username) body.username = v.username;
  if (v.password) body.password = v.password;
  return body;
}

export async function desktopsView(ctx, root) {
  const [{ desktops }, { agents }] = await Promise.all([call('/api/admin/desktops'), call('/api/admin/agents')]);
  const act = (label, fn, cls) => button(label, async () => (await fn()) !== false && ctx.refresh(), cls);
  const rows = desktops.map((d) => {
    const assigned = d.agents.map((a) => h('span.chip', {}, a, ctx.canManage ? button('×', async () => (await call(`/api/admin/desktops/${enc(d.desktopId)}/agents/${enc(a)}`, 'DELETE'), ctx.refresh()), 'chip-x') : ''));
    const free = agents.filter((a) => !d.agents.includes(a.agentId));
    const assign =
      ctx.canManage && free.length
        ? h(
            'form.inline',
            { onsubmit: async (e) => (e.preventDefault(), await call(`/api/admin/desktops/${enc(d.desktopId)}/agents/${enc(e.target.elements.agent.value)}`, 'PUT', {}), ctx.refresh()) },
            h('select', { name: 'agent', 'aria-label': `agent to assign to ${d.desktopId}` }, free.map((a) => h('option', { value: a.agentId }, a.agentId))),
            h('button', { type: 'submit' }, 'Assign'),
          )
        : '';
    const trust = d.ignoreCert ? badge('certificate ignored', 'warn') : d.certFingerprints ? badge(`pinned (${d.certFingerprints.split(',').length})`, 'ok') : badge('CA-verified');
    return h(
      'tr',
      { dataset: { desktop: d.desktopId } },
      h('td', {}, h('strong', {}, d.desktopId), h('div.muted', {}, d.displayName)),
      h('td.mono', {}, `${d.host}:${d.port}`),
      h('td', {}, d.security, d.domain ? h('div.muted', {}, d.domain) : ''),
      h('td', {}, trust),
      h('td', {}, assigned, assign),
      ctx.canManage
        ? h(
            'td.row-actions',
            {},
            act('Edit', () => formDialog(`Edit ${d.desktopId}`, desktopForm(d), 'Save', (v) => call(`/api/admin/desktops/${enc(d.desktopId)}`, 'PATCH', desktopBody(v, true)))),
            act('Remove', async () => {
              if (!(await confirmed('Remove desktop', `Remove ${d.desktopId}? Agents assigned to it can no longer connect to it.`, 'Remove'))) return false;
              await call(`/api/admin/desktops/${enc(d.desktopId)}`, 'DELETE');
            }, 'danger'),
          )
        : '',
    );
  });
  const add = ctx.canManage ? button('Add desktop', async () => (await formDialog('Add desktop', desktopForm(undefined), 'Add', (v) => call('/api/admin/desktops', 'POST', desktopBody(v, false))), ctx.refresh()), 'primary') : '';
  const head = ['desktop', 'address', 'security', 'certificate', 'agents'];
  root.replaceChildren(h('div.section-head', {}, h('h1', {}, 'Desktops'), add), h('div.panel.wide', {}, table(ctx.canManage ? [...head, ''] : head, rows, 'No desktops yet.')));
}

export async function adminsView(ctx, root) {
  const { admins } = await call('/api/admin/admins');
  const act = (label, fn, cls) => button(label, async () => (await fn()) !== false && ctx.refresh(), cls);
  const rows = admins.map((a) =>
    h(
      'tr',
      { dataset: { admin: a.name } },
      h('td', {}, h('strong', {}, a.name), a.name === ctx.me.name ? h('span.muted', {}, ' (you)') : ''),
      h('td', {}, badge(a.role, a.role === 'admin' ? 'ok' : '')),
      h('td', {}, badge(a.status, a.status === 'active' ? 'ok' : 'danger')),
      h('td', {}, when(a.createdAt)),
      h(
        'td.row-actions',
        {},
        act(a.role === 'admin' ? 'Make analyst' : 'Make admin', () => call(`/api/admin/admins/${enc(a.name)}`, 'PATCH', { role: a.role === 'admin' ? 'analyst' : 'admin' })),
        act(a.status === 'active' ? 'Disable' : 'Enable', () => call(`/api/admin/admins/${enc(a.name)}`, 'PATCH', { status: a.status === 'active' ? 'disabled' : 'active' })),
        act('Reset MFA', async () => {
          if (!(await confirmed('Reset MFA', `Give ${a.name} a new authenticator secret? Their current codes stop working.`, 'Reset MFA'))) return false;
          const { totp } = await call(`/api/admin/admins/${enc(a.name)}/reset-mfa`, 'POST', {});
          await totpDialog(`New authenticator for ${a.name}`, a.name, totp);
        }),
        act('Remove', async () => {
          if (!(await confirmed('Remove admin', `Remove the admin account ${a.name}?`, 'Remove'))) return false;
          await call(`/api/admin/admins/${enc(a.name)}`, 'DELETE');
        }, 'danger'),
      ),
    ),
  );
  const add = button('Add admin', () =>
    formDialog('Add admin', [field('Name', 'name', { required: true, autocomplete: 'off' }), field('Role', 'role', { options: ['admin', 'analyst'], value: 'analyst' }), field('Initial password', 'password', { type: 'password', required: true, autocomplete: 'new-password' })], 'Add', async (v) => {
      const { admin, totp } = await call('/api/admin/admins', 'POST', v);
      ctx.refresh();
      setTimeout(() => totpDialog(`Authenticator for ${admin.name}`, admin.name, totp).then(ctx.refresh));
      return true;
    }), 'primary');
  root.replaceChildren(h('div.section-head', {}, h('h1', {}, 'Admins'), add), h('div.panel.wide', {}, h('p.muted', {}, 'Admins manage agents, desktops, sessions and admins; analysts read sessions, decisions and profiles.'), table(['name', 'role', 'status', 'created', ''], rows, 'No admin accounts.')));
}
