/**
 * The agent's page in Debian's chromium against the gateway with a guacd stand-in (no desktop
 * needed): sign-in, a challenge answered on the page, the plain message when a session is ended,
 * and the reconnect after the connection drops (which continues the session). Skipped when chromium
 * is not installed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { Action } from '../../proto/gen/vdiguard/scorer/v1/scorer.js';
import { ADMIN_TOKEN, AGENT, api, PASSWORD, startHarness, until, type Harness } from '../testing/harness.js';
import { CHROMIUM_SKIP, launchChromium } from '../testing/browser.js';

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
