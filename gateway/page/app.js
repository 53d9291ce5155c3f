// The agent's page: sign in (password + TOTP), choose a desktop, then the desktop under a status
// bar (who is signed in, which desktop, that the session is protected, clipboard, Disconnect, Sign
// out), with keyboard and mouse (each event sent after its own time: client-times.js), the display
// following the window, a bounded reconnect when the network drops, and plain messages when the
// desktop cannot be reached or the session is challenged or ended. It never says which behaviour
// led to a challenge or an end, nor shows trust: the agent must not learn what the scorer sees. The
// login itself is an HttpOnly cookie the gateway sets: nothing on this page can read it.
import Guacamole from '/guacamole-common.js';
import { sendClientTimes } from '/client-times.js';

const $ = (id) => document.getElementById(id);
const state = {
  agent: null,
  desktops: [],
  desktop: null,
  session: null,
  phase: 'login',
  ended: false,
  /** Reconnects since the last successful connection. */
  retries: 0,
  /** Which way the clipboard may cross on this connection: the narrowest the gateway and engine said. */
  clipboard: 'off',
  /** `vdiguard,desktop-error,<kind>,<message>` from the gateway for this connection, if any. */
  desktopError: null,
  /** Automatic retries after an unreachable desktop since the agent last chose to connect. */
  unreachableRetries: 0,
};
// For end-to-end tests and support: what the page is doing (never what was typed or copied, never the login).
window.vdiguard = state;

// Statuses after which reconnecting cannot help: the session was ended, taken over by another
// window, or the agent may not open one now (too many sessions, a pending check elsewhere).
const FINAL = new Set([0x020b, 0x0301, 0x0209, 0x0205, 0x031d]);
/** Reconnects after a dropped connection before the page stops and says so. */
const MAX_RECONNECTS = 5;
/** Automatic retries of an unreachable desktop, and the seconds counted down before each. */
const UNREACHABLE_RETRIES = 3;
const UNREACHABLE_WAIT_S = 5;
/** The largest paste the gateway takes (gateway/tap/paste.ts), in bytes of UTF-8. */
const MAX_PASTE_BYTES = 256 * 1024;
const CLIPBOARD_ORDER = ['off', 'to-browser', 'both'];
/** What the page tells the agent per desktop error kind (the gateway's message follows). */
const DESKTOP_ERRORS = {
  unreachable: 'Your desktop cannot be reached',
  certificate: 'Your desktop could not be verified',
  refused: 'Your desktop refused the connection',
  other: 'Your desktop could not be opened',
};

let client = null;
let keyboard = null;
let countdown = null;
/** The clipboard text last exchanged with the desktop, so coming back to the window does not send it back. */
let lastClipboard = null;

async function post(path, body) {
  const headers = { 'content-type': 'application/json' };
  const res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin' });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(data.error || `error ${res.status}`), { status: res.status });
  return data;
}

function show(id) {
  for (const p of ['login', 'choose', 'screen']) $(p).hidden = p !== id;
  $('bar').hidden = id !== 'screen';
  if (id !== 'screen') clipboardPanel(false);
}

/** The dialog over the page: a title, a message, and the actions that apply (none: it is hidden). */
function overlay(message, { title = '', challenge = false, again = false, retry = false, choose = false, signout = false, detail = '' } = {}) {
  clearInterval(countdown);
  $('overlay').hidden = message === null;
  $('overlay-title').textContent = title;
  $('overlay-title').hidden = !title;
  $('overlay-message').textContent = message || '';
  $('overlay-detail').textContent = detail;
  $('challenge-form').hidden = !challenge;
  $('again').hidden = !again;
  $('retry').hidden = !retry;
  $('overlay-choose').hidden = !choose || state.desktops.length < 2;
  $('overlay-signout').hidden = !signout;
  if (challenge) $('challenge-code').focus();
}

const nameOf = (desktopId) => state.desktops.find((d) => d.id === desktopId)?.name ?? desktopId;

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('login-message').textContent = '';
  try {
    const r = await post('/api/login', { agent: $('agent').value, password: $('password').value, code: $('code').value });
    $('password').value = '';
    $('code').value = '';
    state.agent = { id: r.agentId, name: r.displayName || r.agentId };
    state.desktops = r.desktops;
    if (r.ticket) return connect(r.ticket.desktopId, r.ticket.ticket);
    if (r.desktops.length === 0) return ($('login-message').textContent = 'No desktop is assigned to you yet. Ask your supervisor to assign one.');
    choose('');
  } catch (err) {
    $('login-message').textContent = err.message;
  }
});

/** The desktop chooser, with a line saying how the agent got here. */
function choose(message) {
  overlay(null);
  show('choose');
  state.phase = 'choose';
  $('choose-agent').textContent = state.agent.name;
  $('choose-message').textContent = message;
  const list = $('desktops');
  list.replaceChildren();
  for (const d of state.desktops) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'desktop';
    b.textContent = d.name;
    b.onclick = () => open(d.id);
    const li = document.createElement('li');
    li.append(b);
    list.append(li);
  }
}

/** The agent chose to connect (or to try again): a fresh ticket, fresh retry counts. */
async function open(desktopId) {
  clearInterval(countdown);
  state.unreachableRetries = 0;
  state.retries = 0;
  try {
    connect(desktopId, (await post('/api/tickets', { desktop: desktopId })).ticket);
  } catch (err) {
    if (err.status === 401) return ended('Please sign in again.');
    failed('Your desktop could not be opened', err.message);
  }
}

async function signOut() {
  state.ended = true;
  detachInput();
  if (client) client.disconnect();
  await post('/api/logout', {}).catch(() => undefined);
  location.reload();
}

for (const id of ['signout', 'choose-signout', 'overlay-signout']) $(id).addEventListener('click', signOut);
$('again').addEventListener('click', () => location.reload());
$('retry').addEventListener('click', () => open(state.desktop));
$('overlay-choose').addEventListener('click', () => choose(''));

// Disconnect: the desktop connection closes (guacd ends the RDP connection), the login stays.
$('disconnect').addEventListener('click', () => {
  const c = client;
  client = null;
  detachInput();
  if (c) c.disconnect();
  choose(`You disconnected from ${nameOf(state.desktop)}. Choose it to continue where you left off.`);
});

$('bar-hide').addEventListener('click', () => barCollapsed(!document.body.classList.contains('bar-collapsed')));
$('bar').addEventListener('click', (e) => {
  if (document.body.classList.contains('bar-collapsed') && e.target === $('bar')) barCollapsed(false);
});

/** The bar as a slim strip at the top (it opens while the pointer is over it) or in full. */
function barCollapsed(collapsed) {
  document.body.classList.toggle('bar-collapsed', collapsed);
  $('bar-hide').innerHTML = collapsed ? '&#x25BE;' : '&#x25B4;';
  $('bar-hide').title = collapsed ? 'Keep the bar open' : 'Hide this bar (point at the top edge to show it again)';
  if (collapsed) clipboardPanel(false);
  window.dispatchEvent(new Event('resize'));
}

$('challenge-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const code = $('challenge-code').value;
  $('challenge-code').value = '';
  try {
    const r = await post('/api/challenge', { session: state.session, code });
    if (r.outcome === 'resumed') return resume();
    if (r.outcome === 'wrong') return challenged('That code is not right. Enter the current code from your authenticator app.');
  } catch {
    /* the session is gone: the tunnel's error explains */
  }
});

function challenged(message) {
  overlay(message, { title: 'Identity check', challenge: true, signout: true });
}

function resume() {
  state.phase = 'connected';
  overlay(null);
  attachInput();
}

/** Keys typed into the page's own fields (the clipboard panel, a code) are not the desktop's. */
const typingInPage = () => ['INPUT', 'TEXTAREA'].includes(document.activeElement?.tagName);

function attachInput() {
  if (!keyboard) keyboard = new Guacamole.Keyboard(document);
  keyboard.onkeydown = (keysym) => {
    if (typingInPage()) return true;
    if (client) client.sendKeyEvent(1, keysym);
    return false;
  };
  keyboard.onkeyup = (keysym) => {
    if (!typingInPage() && client) client.sendKeyEvent(0, keysym);
  };
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
  overlay(message, { title: 'Session ended', again: true });
}

/** The page stops trying: what happened, what the agent can do. */
function failed(title, message, detail = '') {
  state.phase = 'failed';
  detachInput();
  overlay(message, { title, retry: true, choose: true, signout: true, detail });
}

// ---- Clipboard ----------------------------------------------------------------------------------

/** Shows or hides the clipboard panel (only offered when the connection carries a clipboard). */
function clipboardPanel(open) {
  const shown = open && state.clipboard !== 'off';
  $('clipboard').hidden = !shown;
  $('clipboard-toggle').setAttribute('aria-expanded', String(shown));
  $('clipboard-toggle').classList.remove('fresh');
}

$('clipboard-toggle').addEventListener('click', () => clipboardPanel($('clipboard').hidden));

/** The clipboard controls for what this connection carries. */
function clipboardAllowed(policy) {
  state.clipboard = policy;
  $('clipboard-toggle').hidden = policy === 'off';
  $('clip-to').hidden = policy !== 'both';
  if (policy === 'off') clipboardPanel(false);
}

/** Text the desktop copied: into the browser's clipboard where permitted, and the panel always. */
function fromDesktop(stream, mimetype) {
  if (!/^text\//.test(mimetype) || state.clipboard === 'off') return;
  const reader = new Guacamole.StringReader(stream);
  let text = '';
  reader.ontext = (t) => {
    if (text.length < 4 * MAX_PASTE_BYTES) text += t;
  };
  reader.onend = async () => {
    $('clip-in').value = text;
    lastClipboard = text;
    $('clipboard-toggle').classList.add('fresh');
    try {
      await navigator.clipboard.writeText(text);
      $('clip-in-status').textContent = 'Copied to this computer as well.';
    } catch {
      $('clip-in-status').textContent = 'Select the text and copy it (Ctrl+C) from here.';
    }
  };
}

function toDesktop(text) {
  if (!client || state.clipboard !== 'both' || state.phase !== 'connected') return 'Not connected to a desktop that takes a paste.';
  if (new TextEncoder().encode(text).length > MAX_PASTE_BYTES) return `That text is too long to send (at most ${MAX_PASTE_BYTES / 1024} KiB).`;
  const writer = new Guacamole.StringWriter(client.createClipboardStream('text/plain'));
  writer.sendText(text);
  writer.sendEnd();
  lastClipboard = text;
  return 'Sent: paste it on the desktop (Ctrl+V).';
}

$('clip-send').addEventListener('click', () => {
  $('clip-out-status').textContent = toDesktop($('clip-out').value);
});

$('clip-copy').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText($('clip-in').value);
    $('clip-in-status').textContent = 'Copied.';
  } catch {
    $('clip-in').select();
    $('clip-in-status').textContent = 'Press Ctrl+C to copy the selected text.';
  }
});

// Coming back to the window: where the browser lets the page read its clipboard without asking,
// what was copied elsewhere becomes the desktop's clipboard, as with a local application.
window.addEventListener('focus', async () => {
  if (state.clipboard !== 'both' || state.phase !== 'connected') return;
  try {
    const permission = await navigator.permissions.query({ name: 'clipboard-read' });
    if (permission.state !== 'granted') return;
    const text = await navigator.clipboard.readText();
    if (text && text !== lastClipboard) toDesktop(text);
  } catch {
    /* no clipboard access: the panel is the way */
  }
});

// ---- The desktop connection ---------------------------------------------------------------------

/** Pixels the desktop may use: the window below the bar. */
function area() {
  const top = $('screen').getBoundingClientRect().top;
  return { width: window.innerWidth, height: Math.max(1, window.innerHeight - top) };
}

function connect(desktopId, ticket) {
  state.desktop = desktopId;
  state.phase = 'connecting';
  state.desktopError = null;
  state.ended = false;
  clipboardAllowed('off');
  $('bar-agent').textContent = state.agent.name;
  $('bar-desktop').textContent = nameOf(desktopId);
  show('screen');
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const tunnel = new Guacamole.WebSocketTunnel(`${scheme}//${location.host}/tunnel`);
  const c = new Guacamole.Client(tunnel);
  client = c;
  state.client = c;
  const display = c.getDisplay();
  // A point of the pointer's path on the remote display, as Guacamole.Mouse and sendMouseState map a move.
  sendClientTimes(tunnel, (clientX, clientY) => {
    const p = Guacamole.Position.fromClientPosition(display.getElement(), clientX, clientY);
    return [Math.floor(p.x / display.getScale()), Math.floor(p.y / display.getScale())];
  });
  const screen = $('screen');
  screen.replaceChildren(display.getElement());
  // Scaled to fit, never beyond the aspect ratio: with guacd's display-update the desktop follows
  // the window and the scale stays 1; an engine that cannot resize is scaled.
  const fit = () => {
    const w = display.getWidth();
    const h = display.getHeight();
    const a = area();
    if (w && h) display.scale(Math.min(a.width / w, a.height / h));
  };
  display.onresize = fit;
  let resizing = null;
  window.onresize = () => {
    fit();
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      const a = area();
      if (client === c) c.sendSize(a.width, a.height);
    }, 250);
  };
  let gotPolicy = false;
  c.onclipboard = fromDesktop;

  // The gateway's own instructions (opcode "vdiguard"); everything else goes to the client.
  const handle = tunnel.oninstruction;
  tunnel.oninstruction = (opcode, args) => {
    if (opcode !== 'vdiguard') return handle(opcode, args);
    if (args[0] === 'session') state.session = args[1];
    else if (args[0] === 'clipboard' && CLIPBOARD_ORDER.includes(args[1])) {
      // The gateway says its policy, an engine that carries less says so too: the narrowest holds.
      const now = gotPolicy ? state.clipboard : 'both';
      gotPolicy = true;
      clipboardAllowed(CLIPBOARD_ORDER[Math.min(CLIPBOARD_ORDER.indexOf(now), CLIPBOARD_ORDER.indexOf(args[1]))]);
    } else if (args[0] === 'desktop-error') state.desktopError = { kind: args[1] in DESKTOP_ERRORS ? args[1] : 'other', message: args[2] || '' };
    else if (args[0] === 'challenge') {
      state.phase = 'challenged';
      detachInput();
      challenged('Please confirm it is you: enter the current code from your authenticator app.');
    } else if (args[0] === 'resumed') resume();
    else if (args[0] === 'ended') state.ended = true;
  };

  let lastError = '';
  c.onerror = (status) => {
    lastError = status.message || '';
    if (state.ended || FINAL.has(status.code)) return ended(status.message || 'The session has ended.');
  };
  // The connection is over, whichever side noticed first (an error instruction, the client
  // disconnecting, or the WebSocket closing): once per connection, then retry within bounds.
  let over = false;
  const lost = () => {
    if (over || client !== c) return;
    over = true;
    detachInput();
    if (state.ended) return;
    if (state.desktopError) return desktopFailed(state.desktopError);
    reconnect(lastError);
  };
  c.onstatechange = (s) => {
    if (s === Guacamole.Client.State.CONNECTED) {
      state.phase = 'connected';
      state.retries = 0;
      state.unreachableRetries = 0;
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

  const a = area();
  const q = new URLSearchParams({ ticket, width: String(a.width), height: String(a.height), dpi: String(Math.round(96 * (window.devicePixelRatio || 1))) });
  c.connect(q.toString());
}

/** The desktop itself failed: the gateway's message, a counted-down retry for an unreachable desktop. */
function desktopFailed({ kind, message }) {
  const title = DESKTOP_ERRORS[kind];
  const text = message || 'Please try again later, or contact your supervisor.';
  if (kind !== 'unreachable' || state.unreachableRetries >= UNREACHABLE_RETRIES) {
    const detail = kind === 'unreachable' ? `Tried ${UNREACHABLE_RETRIES + 1} times.` : '';
    return failed(title, text, detail);
  }
  state.unreachableRetries++;
  state.phase = 'retrying';
  let left = UNREACHABLE_WAIT_S;
  const tick = () => {
    $('overlay-detail').textContent = `Trying again in ${left} s (attempt ${state.unreachableRetries + 1} of ${UNREACHABLE_RETRIES + 1}).`;
  };
  overlay(text, { title, retry: true, signout: true });
  tick();
  countdown = setInterval(async () => {
    if (--left > 0) return tick();
    clearInterval(countdown);
    try {
      connect(state.desktop, (await post('/api/tickets', { desktop: state.desktop })).ticket);
    } catch (err) {
      if (err.status === 401) return ended('Please sign in again.');
      failed(title, err.message);
    }
  }, 1000);
}

async function reconnect(lastError) {
  if (state.retries >= MAX_RECONNECTS) {
    return failed('The connection to your desktop was lost', `It could not be restored after ${MAX_RECONNECTS} attempts. Check your network, then try again.`, lastError);
  }
  state.phase = 'reconnecting';
  const wait = Math.min(8000, 1000 * 2 ** state.retries++);
  overlay('The connection was lost. Reconnecting…', { title: 'Reconnecting', signout: true, detail: `Attempt ${state.retries} of ${MAX_RECONNECTS}.` });
  await new Promise((r) => setTimeout(r, wait));
  if (state.phase !== 'reconnecting') return;
  try {
    const t = await post('/api/tickets', { desktop: state.desktop });
    connect(state.desktop, t.ticket);
  } catch (err) {
    if (err.status === 401) return ended('Please sign in again.');
    reconnect(err.message);
  }
}
