// The admin console: sign-in (name, password and TOTP code, or the admin token for automation
// users), then the sections in the header. The page shows only what the signed-in role may do.
import { ApiError, TOKEN_KEY, call, h } from './admin-lib.js';
import { auditView, decisionsView, profilesView, sessionView, sessionsView } from './admin-views.js';
import { adminsView, agentsView, desktopsView } from './admin-manage.js';

const $ = (id) => document.getElementById(id);

const SECTIONS = [
  { id: 'sessions', title: 'Sessions', view: sessionsView, live: true },
  { id: 'decisions', title: 'Decisions', view: decisionsView },
  { id: 'profiles', title: 'Profiles', view: profilesView, live: true },
  { id: 'agents', title: 'Agents', view: agentsView },
  { id: 'desktops', title: 'Desktops', view: desktopsView },
  { id: 'admins', title: 'Admins', view: adminsView, adminOnly: true },
  { id: 'audit', title: 'Audit', view: auditView },
];
const REFRESH_MS = 2000;

/** Which page state the tests wait on: 'signin', 'loading', 'ready' or 'error'. */
const state = { phase: 'signin', section: '', me: undefined };
window.vdiguardAdmin = state;

let timer;

/** Who is signed in: a named admin's cookie, or the token in this tab. Undefined when neither. */
async function whoAmI() {
  try {
    return await call('/api/admin/me');
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404 || !sessionStorage.getItem(TOKEN_KEY)) return undefined;
    // A gateway without named admins: the token is checked by any read.
    await call('/api/admin/locks');
    return { kind: 'token', name: 'admin-token', role: 'admin' };
  }
}

function showSignIn(message = '') {
  clearTimeout(timer);
  state.phase = 'signin';
  $('app').hidden = true;
  $('signin').hidden = false;
  $('login-message').textContent = message;
}

async function start() {
  const me = await whoAmI().catch(() => undefined);
  if (!me) return showSignIn();
  state.me = me;
  $('signin').hidden = true;
  $('app').hidden = false;
  $('who-name').textContent = me.name;
  $('who-role').textContent = me.kind === 'token' ? `${me.role}, token` : me.role;
  $('nav').replaceChildren(...SECTIONS.filter((s) => !s.adminOnly || me.role === 'admin').map((s) => h('a', { href: `#/${s.id}`, id: `nav-${s.id}` }, s.title)));
  render();
}

/** The hash route: #/<section>[/<id>][?filters]. */
function route() {
  const [path, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [section, ...rest] = path.split('/');
  return { section: section || 'sessions', id: rest.length ? decodeURIComponent(rest.join('/')) : undefined, params: new URLSearchParams(query) };
}

async function render() {
  clearTimeout(timer);
  const r = route();
  const section = r.section === 'session' ? { id: 'session', live: true, view: (ctx, root) => sessionView(ctx, root, r.id) } : SECTIONS.find((s) => s.id === r.section && (!s.adminOnly || state.me.role === 'admin'));
  if (!section) return go('sessions');
  for (const a of $('nav').children) a.classList.toggle('current', a.id === `nav-${r.section === 'session' ? 'sessions' : r.section}`);
  const ctx = { me: state.me, canManage: state.me.role === 'admin', params: r.params, go, refresh: render };
  if (state.phase !== 'ready') state.phase = 'loading';
  const root = $('view');
  try {
    await section.view(ctx, root);
    $('view-error').textContent = '';
    state.phase = 'ready';
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return showSignIn('Your admin sign-in has ended: sign in again.');
    $('view-error').textContent = err.message;
    state.phase = 'error';
  }
  // Named once drawn: a section being drawn still shows (and reports) the one before it.
  state.section = section.id;
  // Live sections follow the sessions, but never redraw under an open dialog or a form being typed in.
  if (section.live) timer = setTimeout(function again() {
    if (document.querySelector('dialog[open]') || root.contains(document.activeElement) && document.activeElement.matches('input, select')) timer = setTimeout(again, REFRESH_MS);
    else render();
  }, REFRESH_MS);
}

function go(path, params) {
  const q = params ? new URLSearchParams([...params].filter(([, v]) => v !== '')).toString() : '';
  const hash = `#/${path}${q ? `?${q}` : ''}`;
  if (location.hash === hash) render();
  else location.hash = hash;
}

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('login-message').textContent = '';
  try {
    await call('/api/admin/login', 'POST', { name: $('name').value, password: $('password').value, code: $('code').value });
    sessionStorage.removeItem(TOKEN_KEY);
    $('password').value = $('code').value = '';
    await start();
  } catch (err) {
    $('login-message').textContent = err instanceof ApiError && err.status === 404 ? 'This gateway has no named admins yet: use the admin token below.' : err.message;
  }
});

$('token-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
  $('token').value = '';
  await start();
  if (state.phase === 'signin') {
    sessionStorage.removeItem(TOKEN_KEY);
    $('login-message').textContent = 'That admin token was not accepted: copy it again from the gateway\'s admin-token file.';
  }
});

$('signout').addEventListener('click', async () => {
  sessionStorage.removeItem(TOKEN_KEY);
  await call('/api/admin/logout', 'POST', {}).catch(() => undefined);
  showSignIn('Signed out.');
});

window.addEventListener('hashchange', () => state.me && render());
start();
