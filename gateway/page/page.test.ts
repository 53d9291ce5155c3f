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
