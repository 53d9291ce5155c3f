// The agent's page: sign in (password + TOTP), then the desktop filling the window, with keyboard
// and mouse, a reconnect when the network drops, and plain messages when the session is challenged
// or ended. It never says which behaviour led to a challenge or an end. The login itself is an
// HttpOnly cookie the gateway sets: nothing on this page can read it.
import Guacamole from '/guacamole-common.js';

const $ = (id) => document.getElementById(id);
const state = { desktop: null, session: null, phase: 'login', ended: false, retries: 0 };
// For end-to-end tests and support: what the page is doing (never what was typed, never the login).
window.vdiguard = state;

// Statuses after which reconnecting cannot help: the session was ended, taken over by another
// window, or the agent may not open one now (too many sessions, a pending check elsewhere).
const FINAL = new Set([0x020b, 0x0301, 0x0209, 0x0205, 0x031d]);

let client = null;
let keyboard = null;

async function post(path, body) {
  const headers = { 'content-type': 'application/json' };
  const res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin' });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(data.error || `error ${res.status}`), { status: res.status });
  return data;
}

function show(id) {
  for (const p of ['login', 'choose', 'screen']) $(p).hidden = p !== id;
}

function overlay(message, { challenge = false, again = false } = {}) {
  $('overlay').hidden = message === null;
  $('overlay-message').textContent = message || '';
  $('challenge-form').hidden = !challenge;
  $('again').hidden = !again;
  if (challenge) $('challenge-code').focus();
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('login-message').textContent = '';
  try {
    const r = await post('/api/login', { agent: $('agent').value, password: $('password').value, code: $('code').value });
    $('password').value = '';
    $('code').value = '';
    $('signout').hidden = false;
    if (r.ticket) return connect(r.ticket.desktopId, r.ticket.ticket);
    if (r.desktops.length === 0) return ($('login-message').textContent = 'No desktop is assigned to you yet.');
    show('choose');
    state.phase = 'choose';
    const list = $('desktops');
    list.replaceChildren();
    for (const d of r.desktops) {
      const b = document.createElement('button');
      b.textContent = d.name;
      b.onclick = async () => connect(d.id, (await post('/api/tickets', { desktop: d.id })).ticket);
      const li = document.createElement('li');
      li.append(b);
      list.append(li);
    }
  } catch (err) {
    $('login-message').textContent = err.message;
  }
});

$('again').addEventListener('click', () => location.reload());

$('signout').addEventListener('click', async () => {
  state.ended = true;
  detachInput();
  if (client) client.disconnect();
  await post('/api/logout', {}).catch(() => undefined);
  location.reload();
});

$('challenge-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const code = $('challenge-code').value;
  $('challenge-code').value = '';
  try {
    const r = await post('/api/challenge', { session: state.session, code });
    if (r.outcome === 'resumed') return resume();
    if (r.outcome === 'wrong') return overlay('That code is not right. Enter the current code from your authenticator app.', { challenge: true });
  } catch {
    /* the session is gone: the tunnel's error explains */
  }
});

function resume() {
  state.phase = 'connected';
  overlay(null);
  attachInput();
}

function attachInput() {
  if (!keyboard) keyboard = new Guacamole.Keyboard(document);
  keyboard.onkeydown = (keysym) => client && client.sendKeyEvent(1, keysym);
  keyboard.onkeyup = (keysym) => client && client.sendKeyEvent(0, keysym);
}

function detachInput() {
  if (!keyboard) return;
  keyboard.onkeydown = null;
  keyboard.onkeyup = null;
  keyboard.reset();
}

function ended(message) {
  state.ended = true;
  state.phase = 'ended';
  detachInput();
  overlay(message, { again: true });
}

function connect(desktopId, ticket) {
  state.desktop = desktopId;
  state.phase = 'connecting';
  show('screen');
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const tunnel = new Guacamole.WebSocketTunnel(`${scheme}//${location.host}/tunnel`);
  const c = new Guacamole.Client(tunnel);
  client = c;
  state.client = c;
  const display = c.getDisplay();
  const screen = $('screen');
  screen.replaceChildren(display.getElement());
  const fit = () => {
    const w = display.getWidth();
    const h = display.getHeight();
    if (w && h) display.scale(Math.min(window.innerWidth / w, window.innerHeight / h));
  };
  display.onresize = fit;
  window.onresize = () => {
    c.sendSize(window.innerWidth, window.innerHeight);
    fit();
  };

  // The gateway's own instructions (opcode "vdiguard"); everything else goes to the client.
  const handle = tunnel.oninstruction;
  tunnel.oninstruction = (opcode, args) => {
    if (opcode !== 'vdiguard') return handle(opcode, args);
    if (args[0] === 'session') state.session = args[1];
    else if (args[0] === 'challenge') {
      state.phase = 'challenged';
      detachInput();
      overlay('Please confirm it is you: enter the current code from your authenticator app.', { challenge: true });
    } else if (args[0] === 'resumed') resume();
    else if (args[0] === 'ended') state.ended = true;
  };

  c.onerror = (status) => {
    if (state.ended || FINAL.has(status.code)) return ended(status.message || 'The session has ended.');
  };
  // The connection is over, whichever side noticed first (an error instruction, the client
  // disconnecting, or the WebSocket closing): once per connection, reconnect unless it was ended.
  let over = false;
  const lost = () => {
    if (over || client !== c) return;
    over = true;
    detachInput();
    if (!state.ended) reconnect();
  };
  c.onstatechange = (s) => {
    if (s === Guacamole.Client.State.CONNECTED) {
      state.phase = 'connected';
      state.retries = 0;
      overlay(null);
      attachInput();
    }
    if (s === Guacamole.Client.State.DISCONNECTED) lost();
  };
  tunnel.onstatechange = (s) => {
    if (s === Guacamole.Tunnel.State.CLOSED) lost();
  };

  const mouse = new Guacamole.Mouse(display.getElement());
  mouse.onEach(['mousedown', 'mouseup', 'mousemove'], (e) => {
    if (state.phase === 'connected') c.sendMouseState(e.state, true);
  });

  const q = new URLSearchParams({ ticket, width: String(window.innerWidth), height: String(window.innerHeight), dpi: String(Math.round(96 * (window.devicePixelRatio || 1))) });
  c.connect(q.toString());
}

async function reconnect() {
  state.phase = 'reconnecting';
  const wait = Math.min(30000, 1000 * 2 ** state.retries++);
  overlay('The connection was lost. Reconnecting…');
  await new Promise((r) => setTimeout(r, wait));
  try {
    const t = await post('/api/tickets', { desktop: state.desktop });
    connect(state.desktop, t.ticket);
  } catch (err) {
    if (err.status === 401) return ended('Please sign in again.');
    reconnect();
  }
}
