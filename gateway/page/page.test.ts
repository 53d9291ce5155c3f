/**
 * The agent's page in Debian's chromium against the gateway with a guacd stand-in (no desktop
 * needed): sign-in, the status bar, Disconnect and Sign out, a challenge answered on the page, the
 * plain message when a session is ended, the reconnect after the connection drops (which continues
 * the session) and its bound, the desktop-error panel, the favicon. Screenshots go to
 * test-artifacts/screens. Skipped when chromium is not installed. Clipboard and resize through real
 * guacd: gateway/e2e/agent-page.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { Action } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { encodeInstruction, GuacStatus } from '../guac/index.js';
import { ADMIN_TOKEN, AGENT, api, PASSWORD, startHarness, until, type Harness } from '../testing/harness.js';
import { CHROMIUM_SKIP, launchChromium, screenshot } from '../testing/browser.js';

const SKIP = CHROMIUM_SKIP;

let h: Harness;
let browser: Browser;

before(async () => {
  if (SKIP) return;
  h = await startHarness();
  browser = await launchChromium();
});

after(async () => {
  if (SKIP) return;
  await browser.close();
  await h.close();
});

type PageState = { phase: string; session: string };
const phase = (page: Page, want: string, timeout = 10000) =>
  page.waitForFunction((w) => (window as unknown as { vdiguard: PageState }).vdiguard.phase === w, want, { timeout });
const sessionOf = (page: Page) => page.evaluate(() => (window as unknown as { vdiguard: PageState }).vdiguard.session);

async function signIn(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
  await page.goto(h.gateway.url);
  await page.fill('#agent', AGENT);
  await page.fill('#password', PASSWORD);
  await page.fill('#code', h.code());
  await page.click('button[type=submit]');
  await phase(page, 'connected');
  return page;
}

test('a wrong sign-in says so plainly and stays on the form', { skip: SKIP }, async () => {
  const page = await browser.newPage();
  await page.goto(h.gateway.url);
  await page.fill('#agent', AGENT);
  await page.fill('#password', 'not the password');
  await page.fill('#code', '123456');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => document.getElementById('login-message')?.textContent !== '');
  assert.equal(await page.textContent('#login-message'), 'wrong agent, password or code');
  await page.close();
});

test('signed in: keys typed on the page reach the desktop connection and the scorer', { skip: SKIP }, async () => {
  const page = await signIn();
  const id = await sessionOf(page);
  const conn = h.guacd.connections.at(-1)!;
  await page.keyboard.type('ab');
  await until(() => conn.received.filter((i) => i.opcode === 'key').length >= 4, 5000, 'keys at guacd');
  assert.deepEqual(conn.received.filter((i) => i.opcode === 'key').slice(0, 2).map((i) => i.args), [['97', '1'], ['97', '0']]);
  await until(() => h.scorer!.events(id).some((e) => e.kind?.$case === 'key'), 5000, 'keys at the scorer');
  await page.close();
});

test('challenge: the page asks for a code, holds input, and resumes after the right one', { skip: SKIP }, async () => {
  const page = await signIn();
  const id = await sessionOf(page);
  await until(() => h.scorer!.streams.some((s) => s.open?.sessionId === id), 5000, 'scorer stream');
  h.scorer!.streams.find((s) => s.open?.sessionId === id)!.verdict({ action: Action.ACTION_CHALLENGE, trust: 0.4, reason: 'suspect' });
  await phase(page, 'challenged');
  assert.match((await page.textContent('#overlay-message')) ?? '', /confirm it is you/);
  await page.fill('#challenge-code', '000000');
  await page.click('#challenge-form button');
  await page.waitForFunction(() => /not right/.test(document.getElementById('overlay-message')?.textContent ?? ''));
  await page.fill('#challenge-code', h.code());
  await page.click('#challenge-form button');
  await phase(page, 'connected');
  assert.equal(await page.isHidden('#overlay'), true);
  await until(() => h.scorer!.confirmed.includes(id), 5000, 'identity confirmed');
  await page.close();
});

test('ended: a plain message without the reason, no reconnect, sign in again offered', { skip: SKIP }, async () => {
  const page = await signIn();
  const id = await sessionOf(page);
  await until(() => h.scorer!.streams.some((s) => s.open?.sessionId === id), 5000, 'scorer stream');
  h.scorer!.streams.find((s) => s.open?.sessionId === id)!.verdict({ action: Action.ACTION_TERMINATE, trust: 0.01, reason: 'mouse dynamics mismatch' });
  await phase(page, 'ended');
  const shown = (await page.textContent('#overlay-message')) ?? '';
  assert.match(shown, /ended by the security policy/);
  assert.doesNotMatch(shown, /mouse|dynamics/);
  assert.equal(await page.isVisible('#again'), true);
  const sessions = h.gateway.sessions.size;
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(h.gateway.sessions.size, sessions, 'no reconnect');
  await page.close();
  // The terminate locked the agent (VDIGUARD_AFTER_MISMATCH=lock by default): unlock for the next tests.
  assert.equal((await api(h.gateway.url, '/api/admin/agents/alice/unlock', {}, ADMIN_TOKEN)).status, 200);
});

test('the connection drops: the page reconnects on a new ticket by itself and continues the same session', { skip: SKIP }, async () => {
  const page = await signIn();
  const first = await sessionOf(page);
  const conn = h.guacd.connections.at(-1)!;
  await page.keyboard.type('ab');
  await until(() => h.scorer!.events(first).some((e) => e.kind?.$case === 'key'), 5000, 'keys at the scorer');
  const connections = h.guacd.connections.length;
  conn.socket.destroy();
  await page.waitForFunction(() => (window as unknown as { vdiguard: PageState }).vdiguard.phase !== 'connected', undefined, { timeout: 15000 });
  await phase(page, 'connected', 15000);
  assert.ok(h.guacd.connections.length > connections, 'a new desktop connection');
  assert.equal(await sessionOf(page), first, 'the same session, so its trust goes on');
  assert.equal(h.scorer!.streams.filter((s) => s.open?.sessionId === first).length, 1, 'the same scorer stream');
  await page.close();
});

test('the login page and the favicon: the product name and logo, no browser-default buttons', { skip: SKIP }, async () => {
  for (const path of ['/favicon.ico', '/favicon.svg']) {
    const res = await fetch(h.gateway.url + path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get('content-type'), 'image/svg+xml');
    assert.match(await res.text(), /<svg[^>]*>[\s\S]*<path/);
  }
  const page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
  await page.goto(h.gateway.url);
  assert.equal(await page.textContent('#login .brand'), 'vdiguard');
  assert.equal(await page.getAttribute('link[rel=icon]', 'href'), '/favicon.svg');
  // Every button is styled by style.css (its background is the theme's, not the browser's grey).
  const backgrounds = await page.$$eval('button', (bs) => bs.map((b) => getComputedStyle(b).backgroundColor));
  assert.ok(backgrounds.every((c) => c !== 'rgb(239, 239, 239)' && c !== 'rgb(240, 240, 240)'), backgrounds.join(' '));
  await screenshot(page, 'agent-login');
  await page.close();
});

test('the status bar: agent, desktop and the protection notice, never trust; the desktop below it', { skip: SKIP }, async () => {
  const page = await signIn();
  assert.equal(await page.isVisible('#bar'), true);
  assert.equal(await page.textContent('#bar-agent'), 'Alice');
  assert.equal(await page.textContent('#bar-desktop'), 'Desk 1');
  assert.match((await page.textContent('#bar-notice')) ?? '', /Protected by behavioural verification/);
  assert.doesNotMatch((await page.textContent('body')) ?? '', /trust|score/i, 'nothing of what the scorer sees');
  const bar = (await page.locator('#bar').boundingBox())!;
  const screen = (await page.locator('#screen').boundingBox())!;
  assert.equal(screen.y, bar.y + bar.height, 'the desktop starts below the bar');
  assert.equal(screen.height, 768 - bar.height, 'and has the rest of the window');
  const conn = h.guacd.connections.at(-1)!;
  assert.equal(conn.connectArgs.height, String(768 - bar.height), 'the desktop was asked for the area below the bar');
  // Hidden to a strip: still there, and the desktop grows.
  await page.click('#bar-hide');
  await page.mouse.move(500, 400); // the strip opens while the pointer is over it
  const strip = (await page.locator('#bar').boundingBox())!;
  assert.ok(strip.height > 0 && strip.height < 10, `a slim strip (${strip.height} px)`);
  assert.equal((await page.locator('#screen').boundingBox())!.y, strip.height);
  await page.hover('#bar');
  assert.equal(await page.isVisible('#disconnect'), true, 'pointing at the strip shows the bar');
  await page.click('#bar-hide');
  await screenshot(page, 'agent-connected-status-bar-fake-desktop');
  await page.close();
});

test('Disconnect closes the desktop connection and goes back to the chooser; choosing the desktop continues', { skip: SKIP }, async () => {
  const page = await signIn();
  const first = await sessionOf(page);
  const conn = h.guacd.connections.at(-1)!;
  await page.keyboard.type('a');
  await page.click('#disconnect');
  await until(() => conn.closed, 5000, 'the desktop connection closed');
  assert.ok(conn.received.some((i) => i.opcode === 'disconnect'), 'guacd was told to disconnect');
  await phase(page, 'choose');
  assert.match((await page.textContent('#choose-message')) ?? '', /You disconnected from Desk 1/);
  assert.equal(await page.textContent('#choose-agent'), 'Alice');
  await screenshot(page, 'agent-chooser');
  await page.click('button.desktop');
  await phase(page, 'connected');
  assert.equal(await sessionOf(page), first, 'the same session goes on');
  await page.close();
});

test('Sign out ends the login: the desktop connection closes and the page is back at sign-in', { skip: SKIP }, async () => {
  const page = await signIn();
  const id = await sessionOf(page);
  const conn = h.guacd.connections.at(-1)!;
  await page.click('#signout');
  await page.waitForSelector('#login:not([hidden])');
  await until(() => conn.closed, 5000, 'the desktop connection closed');
  await until(() => !h.gateway.sessions.get(id) || h.gateway.sessions.get(id)!.status === 'ended', 5000, 'the session ended');
  await page.close();
});

/** Answers each desktop connection from `from` on with a desktop error, as the gateway's desktop check does. */
function failDesktops(from: number, kind: string, message: string): () => void {
  let next = from;
  const timer = setInterval(() => {
    for (; next < h.guacd.connections.length; next++) {
      h.guacd.connections[next]!.socket.write(encodeInstruction('vdiguard', 'desktop-error', kind, message) + encodeInstruction('error', 'Upstream error', GuacStatus.UPSTREAM_NOT_FOUND));
    }
  }, 20);
  return () => clearInterval(timer);
}

test('an untrusted certificate: the message with what to do, no retry, Try again and Sign out offered', { skip: SKIP }, async () => {
  const page = await signIn();
  const before = h.guacd.connections.length;
  const stop = failDesktops(before - 1, 'certificate', "The desktop's certificate is not trusted. Please contact your supervisor.");
  try {
    await phase(page, 'failed');
    assert.equal(await page.textContent('#overlay-title'), 'Your desktop could not be verified');
    assert.match((await page.textContent('#overlay-message')) ?? '', /certificate is not trusted.*contact your supervisor/);
    assert.equal(await page.isVisible('#retry'), true);
    assert.equal(await page.isVisible('#overlay-signout'), true);
    await screenshot(page, 'agent-error-certificate');
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(h.guacd.connections.length, before, 'no retry');
    await page.click('#retry');
    await until(() => h.guacd.connections.length === before + 1, 5000, 'Try again connects once more');
    await phase(page, 'failed');
  } finally {
    stop();
    await page.close();
  }
});

test('an unreachable desktop: 3 retries, each after a countdown, then the message and Try again', { skip: SKIP, timeout: 60_000 }, async () => {
  const page = await signIn();
  const before = h.guacd.connections.length;
  const stop = failDesktops(before - 1, 'unreachable', 'Your desktop is not reachable right now. Try again in a few minutes.');
  try {
    await page.waitForFunction(() => /Trying again in \d s/.test(document.getElementById('overlay-detail')?.textContent ?? ''));
    await screenshot(page, 'agent-error-unreachable-countdown');
    await phase(page, 'failed', 40_000);
    assert.equal(h.guacd.connections.length, before + 3, 'three retries, no more');
    assert.equal(await page.textContent('#overlay-title'), 'Your desktop cannot be reached');
    assert.match((await page.textContent('#overlay-detail')) ?? '', /Tried 4 times/);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(h.guacd.connections.length, before + 3);
  } finally {
    stop();
    await page.close();
  }
});

test('a connection that keeps dropping: the page gives up after 5 reconnects and says so', { skip: SKIP, timeout: 60_000 }, async () => {
  const page = await signIn();
  const before = h.guacd.connections.length;
  let next = before - 1;
  const timer = setInterval(() => {
    for (; next < h.guacd.connections.length; next++) h.guacd.connections[next]!.socket.destroy();
  }, 20);
  try {
    await phase(page, 'failed', 45_000);
    assert.equal(h.guacd.connections.length, before + 5, 'five reconnects');
    assert.match((await page.textContent('#overlay-message')) ?? '', /could not be restored after 5 attempts/);
    assert.equal(await page.isVisible('#retry'), true);
    await screenshot(page, 'agent-error-connection-lost');
  } finally {
    clearInterval(timer);
    await page.close();
  }
});

type Logged = { type: string; key: string; t: number; repeat: boolean; shift: boolean };
type Sent = { keysym?: number; pressed?: boolean; buttonMask?: number; t: number | undefined };

test('client times: every key and mouse event reaches the gateway after its own time on the page, paired with the instruction guacamole-common-js sent, and none reaches the desktop', { skip: SKIP, timeout: 30_000 }, async () => {
  const page = await signIn();
  const id = await sessionOf(page);
  const conn = h.guacd.connections.at(-1)!;
  await until(() => h.scorer!.streams.some((s) => s.open?.sessionId === id), 5000, 'scorer stream');
  const from = h.scorer!.events(id).length;
  // What the page saw, as the page's clock has it (the times are sent to 3 decimals).
  await page.evaluate(() => {
    const log: unknown[] = ((window as unknown as { domLog: unknown[] }).domLog = []);
    for (const type of ['keydown', 'keyup', 'mousemove', 'mousedown', 'mouseup', 'wheel']) {
      window.addEventListener(type, (e) => {
        const k = e as KeyboardEvent;
        log.push({ type, key: k.key ?? '', t: Math.round(e.timeStamp * 1000) / 1000, repeat: k.repeat ?? false, shift: k.shiftKey ?? false });
      }, true);
    }
  });
  const cdp = await page.context().newCDPSession(page);
  const key = (e: Record<string, unknown>) => cdp.send('Input.dispatchKeyEvent', e as never);

  await page.keyboard.type('abc', { delay: 60 });
  // Shift+letter.
  await page.keyboard.down('Shift');
  await page.keyboard.press('A');
  await page.keyboard.up('Shift');
  // A letter whose Shift flag is set with no Shift keydown seen: guacamole-common-js presses Shift
  // to match (modifier sync) and releases it when a key event says it is up.
  await key({ type: 'keyDown', key: 'B', code: 'KeyB', windowsVirtualKeyCode: 66, text: 'B', modifiers: 8 });
  await key({ type: 'keyUp', key: 'b', code: 'KeyB', windowsVirtualKeyCode: 66, modifiers: 0 });
  // A dead key: playwright's keys bypass the system layout (no xkb dead keys), so this is the DOM
  // sequence chromium on Linux gives for dead acute then e: keydown/keyup "Dead" (which sends
  // nothing), then the composed character's keydown and keypress, and the e key's keyup.
  await key({ type: 'rawKeyDown', key: 'Dead', code: 'Quote', windowsVirtualKeyCode: 222 });
  await key({ type: 'keyUp', key: 'Dead', code: 'Quote', windowsVirtualKeyCode: 222 });
  await key({ type: 'keyDown', key: 'é', code: 'KeyE', windowsVirtualKeyCode: 69, text: 'é' });
  await key({ type: 'keyUp', key: 'e', code: 'KeyE', windowsVirtualKeyCode: 69 });
  // A printable key with no keypress (as when the browser keeps the character): guacamole-common-js
  // sends its press only when the keyup comes, and it is timed by its keydown.
  await key({ type: 'rawKeyDown', key: 'x', code: 'KeyX', windowsVirtualKeyCode: 88 });
  await new Promise((r) => setTimeout(r, 40));
  await key({ type: 'keyUp', key: 'x', code: 'KeyX', windowsVirtualKeyCode: 88 });
  // A held key: guacamole-common-js repeats it on its own timer (after 500 ms, every 50 ms); the
  // browser's own repeats (keydown with repeat set) send nothing.
  await page.keyboard.down('d');
  for (let i = 0; i < 8; i++) {
    await new Promise((r) => setTimeout(r, 100));
    await page.keyboard.down('d');
  }
  await page.keyboard.up('d');
  // Mouse moves, a click and the wheel (120 px down: two clicks of button 16).
  await page.mouse.move(300, 300);
  await page.mouse.move(420, 360, { steps: 4 });
  await page.mouse.down();
  await page.mouse.up();
  await page.mouse.wheel(0, 120);

  const inputAtGuacd = () => conn.received.filter((i) => i.opcode === 'key' || i.opcode === 'mouse');
  await until(() => inputAtGuacd().filter((i) => i.opcode === 'mouse' && i.args[2] === '16').length === 2 && inputAtGuacd().at(-1)?.args[2] === '0', 5000, 'the wheel at guacd');
  // Samples of coalesced moves (the next test) are not input: this one is about each input's time.
  const inputAtScorer = () => h.scorer!.events(id).slice(from).filter((e) => e.timingOnly !== true);
  await until(() => inputAtScorer().length === inputAtGuacd().length, 5000, 'every input at the scorer');

  assert.doesNotMatch(conn.raw, /vdiguard/, 'nothing of the times reached the desktop side');
  const events = inputAtScorer();
  const sent: Sent[] = events.map((e) =>
    e.kind?.$case === 'key' ? { keysym: e.kind.value.keysym, pressed: e.kind.value.pressed, t: e.clientTimeMs } : { buttonMask: e.kind?.$case === 'mouse' ? e.kind.value.buttonMask : -1, t: e.clientTimeMs },
  );
  assert.deepEqual(
    events.map((e) => (e.kind?.$case === 'key' ? ['key', String(e.kind.value.keysym), e.kind.value.pressed ? '1' : '0'] : e.kind?.$case === 'mouse' ? ['mouse', String(e.kind.value.x), String(e.kind.value.y), String(e.kind.value.buttonMask)] : [])),
    inputAtGuacd().map((i) => [i.opcode, ...i.args]),
    'the scorer saw exactly what the desktop received',
  );
  const times = sent.map((s) => s.t);
  assert.ok(times.every((t) => typeof t === 'number'), 'every key and mouse event has a client time');
  for (let i = 1; i < times.length; i++) assert.ok(times[i]! >= times[i - 1]!, `client times never decrease (event ${i})`);

  const dom = (await page.evaluate(() => (window as unknown as { domLog: Logged[] }).domLog));
  const keys = dom.filter((e) => (e.type === 'keydown' && !e.repeat) || e.type === 'keyup');
  assert.deepEqual(
    keys.map((e) => `${e.type === 'keydown' ? '+' : '-'}${e.key}`),
    ['+a', '-a', '+b', '-b', '+c', '-c', '+Shift', '+A', '-A', '-Shift', '+B', '-b', '+Dead', '-Dead', '+é', '-e', '+x', '-x', '+d', '-d'],
    'the page saw the keys the test pressed',
  );
  const T = keys.map((e) => e.t);
  const SHIFT = 0xffe1;
  const d = 0x64;
  const keySent = sent.filter((s) => s.keysym !== undefined);
  const held = keySent.slice(19, -1);
  assert.deepEqual(keySent.slice(0, 19), [
    // Printable keys: sent on their keypress, timed by their keydown; released on keyup.
    { keysym: 0x61, pressed: true, t: T[0] }, { keysym: 0x61, pressed: false, t: T[1] },
    { keysym: 0x62, pressed: true, t: T[2] }, { keysym: 0x62, pressed: false, t: T[3] },
    { keysym: 0x63, pressed: true, t: T[4] }, { keysym: 0x63, pressed: false, t: T[5] },
    // Shift+A.
    { keysym: SHIFT, pressed: true, t: T[6] }, { keysym: 0x41, pressed: true, t: T[7] },
    { keysym: 0x41, pressed: false, t: T[8] }, { keysym: SHIFT, pressed: false, t: T[9] },
    // Modifier sync: the implied Shift takes the time of the key event whose flags implied it.
    { keysym: SHIFT, pressed: true, t: T[10] }, { keysym: 0x42, pressed: true, t: T[10] },
    { keysym: 0x42, pressed: false, t: T[11] }, { keysym: SHIFT, pressed: false, t: T[11] },
    // Dead key: nothing for "Dead"; é pressed at its keydown, released at the e key's keyup.
    { keysym: 0xe9, pressed: true, t: T[14] }, { keysym: 0xe9, pressed: false, t: T[15] },
    // No keypress: pressed when the keyup comes, at its keydown's time.
    { keysym: 0x78, pressed: true, t: T[16] }, { keysym: 0x78, pressed: false, t: T[17] },
    { keysym: d, pressed: true, t: T[18] },
  ]);
  assert.ok(T[17]! - T[16]! >= 39, 'the x key was held 40 ms');
  assert.deepEqual(keySent.at(-1), { keysym: d, pressed: false, t: T[19] });
  // The spacing playwright typed at is in the client times exactly (dwell of each key >= 60 ms).
  for (const k of [0, 2, 4]) assert.ok(keySent[k + 1]!.t! - keySent[k]!.t! >= 59.9, `dwell of key ${k / 2}: ${keySent[k + 1]!.t! - keySent[k]!.t!} ms`);
  // guacamole-common-js's own repeat: release+press pairs from its timer, at the time it made them.
  assert.ok(held.length >= 6 && held.length % 2 === 0, `the held key repeated (${held.length} repeat events)`);
  for (let i = 0; i < held.length; i += 2) {
    assert.deepEqual([held[i]!.keysym, held[i]!.pressed, held[i + 1]!.keysym, held[i + 1]!.pressed], [d, false, d, true]);
    assert.equal(held[i + 1]!.t, held[i]!.t, 'a repeat\'s release and press share the time of the tick that made them');
    // Its timer runs 500 ms after the press, then every 50 ms (never early, late under load).
    const after = held[i]!.t! - T[18]!;
    assert.ok(after >= 550 + 25 * i - 1, `repeat ${i / 2 + 1} made ${after} ms after the keydown`);
  }
  assert.ok(held.at(-1)!.t! < T[19]!, 'every repeat before the keyup');

  // Mouse: each move, press and release at its own event's time; the wheel's clicks at the wheel's.
  const wanted: Sent[] = [];
  for (const e of dom.filter((x) => !x.type.startsWith('key'))) {
    if (e.type === 'mousemove') wanted.push({ buttonMask: 0, t: e.t });
    if (e.type === 'mousedown') wanted.push({ buttonMask: 1, t: e.t });
    if (e.type === 'mouseup') wanted.push({ buttonMask: 0, t: e.t });
    if (e.type === 'wheel') wanted.push(...[16, 0, 16, 0].map((buttonMask) => ({ buttonMask, t: e.t })));
  }
  assert.equal(wanted.filter((w) => w.buttonMask === 0).length >= 5, true, 'the page saw the moves');
  assert.deepEqual(sent.filter((s) => s.buttonMask !== undefined), wanted);
  await page.close();
});

test('coalesced moves: the points chromium coalesced into a mousemove reach the scorer as timing-only samples before it, at their own times and positions, and nothing of them the desktop', { skip: SKIP, timeout: 30_000 }, async () => {
  const page = await signIn();
  const id = await sessionOf(page);
  const conn = h.guacd.connections.at(-1)!;
  await until(() => h.scorer!.streams.some((s) => s.open?.sessionId === id), 5000, 'scorer stream');
  const cdp = await page.context().newCDPSession(page);
  // A move first: the gateway clamps samples between the mouse before and their own, and drops
  // those of a connection's first mouse, which has none before it.
  const earlier = h.scorer!.events(id).length;
  await cdp.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: 190, y: 290 });
  await until(() => conn.received.some((i) => i.opcode === 'mouse') && h.scorer!.events(id).slice(earlier).some((e) => e.kind?.$case === 'mouse'), 5000, 'the first move at guacd and the scorer');
  const from = h.scorer!.events(id).length;
  const guacdFrom = conn.received.length;
  type Move = { t: number; x: number; y: number; coalesced: { t: number; x: number; y: number }[] };
  // What chromium gave the page: each pointermove of the mouse with its coalesced points, in
  // remote-display pixels as guacamole-common-js maps a move (Guacamole.Position on the display's
  // element, divided by its scale, floored: the moves' own positions at guacd check that mapping).
  await page.evaluate(async () => {
    type Position = { x: number; y: number };
    const { default: G } = (await import('/guacamole-common.js' as string)) as { default: { Position: { fromClientPosition(e: HTMLElement, x: number, y: number): Position } } };
    const log: Move[] = ((window as unknown as { moves: Move[] }).moves = []);
    const remote = (x: number, y: number) => {
      const display = (window as unknown as { vdiguard: { client: { getDisplay(): { getScale(): number; getElement(): HTMLElement } } } }).vdiguard.client.getDisplay();
      const p = G.Position.fromClientPosition(display.getElement(), x, y);
      return { x: Math.floor(p.x / display.getScale()), y: Math.floor(p.y / display.getScale()) };
    };
    const ms = (t: number) => Math.round(t * 1000) / 1000;
    window.addEventListener('pointermove', (e) => {
      log.push({ t: ms(e.timeStamp), ...remote(e.clientX, e.clientY), coalesced: e.getCoalescedEvents().map((c) => ({ t: ms(c.timeStamp), ...remote(c.clientX, c.clientY) })) });
    }, true);
  });
  // Chromium hands a page one move per animation frame: moves that reach it within one frame are
  // coalesced. CDP moves sent without waiting for each other arrive within a frame. Each burst
  // runs on from the last, so its points lie between the mice around them (nothing is clamped).
  for (let burst = 0; burst < 4; burst++) {
    await Promise.all(Array.from({ length: 8 }, (_, i) => cdp.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: 200 + 60 * burst + 5 * i, y: 300 + 20 * burst + 2 * i })));
    await new Promise((r) => setTimeout(r, 50));
  }
  const moves = await page.evaluate(() => (window as unknown as { moves: Move[] }).moves);
  const mice = () => conn.received.slice(guacdFrom).filter((i) => i.opcode === 'mouse');
  await until(() => mice().length === moves.length, 5000, 'every move at guacd');
  const events = () => h.scorer!.events(id).slice(from);
  await until(() => events().filter((e) => e.timingOnly !== true).length === moves.length, 5000, 'every move at the scorer');

  assert.ok(moves.filter((m) => m.coalesced.length > 1).length >= 3, `chromium coalesced the bursts: ${moves.map((m) => m.coalesced.length)}`);
  assert.doesNotMatch(conn.raw, /vdiguard/, 'nothing of the samples reached the desktop side');
  assert.deepEqual(mice().map((i) => i.args), moves.map((m) => [String(m.x), String(m.y), '0']), 'the desktop received each dispatched move, once');
  // The scorer: before each move, the points coalesced into it (the last is the move itself), each
  // later than the time sent before and not after the move's (equal times collapse: chromium stamps
  // a burst to 0.1 ms).
  const expected: { timingOnly: boolean; t: number; x: number; y: number }[] = [];
  let lastSent = h.scorer!.events(id)[from - 1]!.clientTimeMs!;
  for (const m of moves) {
    let previous = lastSent;
    for (const c of m.coalesced.slice(0, -1)) {
      if (c.t <= lastSent || c.t < previous || c.t > m.t) continue;
      previous = c.t;
      expected.push({ timingOnly: true, t: c.t, x: c.x, y: c.y });
    }
    expected.push({ timingOnly: false, t: m.t, x: m.x, y: m.y });
    lastSent = m.t;
  }
  const got = events().map((e) => ({ timingOnly: e.timingOnly === true, t: e.clientTimeMs, x: e.kind?.$case === 'mouse' ? e.kind.value.x : -1, y: e.kind?.$case === 'mouse' ? e.kind.value.y : -1 }));
  assert.deepEqual(got, expected);
  assert.ok(got.filter((e) => e.timingOnly).length >= 6, `samples sent: ${got.filter((e) => e.timingOnly).length}`);
  await page.close();
});
