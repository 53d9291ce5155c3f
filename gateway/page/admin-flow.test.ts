/**
 * The admin console's whole flow through its UI, in Debian's chromium, against a real gateway, real
 * guacd 1.6 and the xrdp dev desktop (account vdiguard-test23): a named admin signs in with name,
 * password and code; adds an agent and reads its authenticator secret off the once-shown dialog;
 * adds the dev desktop, checks it and pins the fingerprint it shows, assigns it; the agent signs in
 * on the agent page and connects; the admin sees the live session and kills it, and the agent page
 * says so. An admin kill is not a security decision (gateway/session/lockout.ts locks only after a
 * terminate or a failed challenge), so the agent is not locked by it: the test checks exactly that.
 * Then an analyst signs in, sees no change buttons, and the API refuses their change with 403.
 * Needs VDIGUARD_TEST_RDP=1 as gateway/e2e/agent-page.test.ts does. Screenshots go to
 * test-artifacts/screens/admin-flow-*.png.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { adminCall, PASSWORD, startGatewayHarness, until, type GatewayHarness } from '../testing/harness.js';
import { CHROMIUM_SKIP, desktopDrawn, launchChromium, screenshot } from '../testing/browser.js';
import { GUACD_SKIP, startGuacd, type Engine } from '../testing/guacd.js';
import { DESKTOP_HOST, DESKTOP_PASSWORD, DESKTOP_PORT, desktopConnectionGone, desktopConnections, desktopFingerprint } from '../testing/desktop.js';
import { hashPassword } from '../auth/password.js';
import { newTotpSecret } from '../auth/totp.js';
import { ADMIN_COOKIE } from '../http/login-cookie.js';

const SKIP: string | false =
  process.env.VDIGUARD_TEST_RDP !== '1'
    ? 'needs the xrdp dev desktop and chromium: run deploy/dev-desktop.sh, install chromium and set VDIGUARD_TEST_RDP=1 (.ci/run does all three)'
    : CHROMIUM_SKIP || GUACD_SKIP;
const DESKTOP_USER = 'vdiguard-test23';
const NEW_AGENT = 'carol';
const NEW_DESKTOP = 'dev-desk';

let engine: Engine;
let h: GatewayHarness;
let browser: Browser;

before(async () => {
  if (SKIP) return;
  engine = await startGuacd();
  h = await startGatewayHarness({ guacdPort: engine.port });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await h?.close();
  await engine?.close();
});

type AdminState = { phase: string; section: string };
const ready = (page: Page, section: string) =>
  page.waitForFunction((s) => {
    const st = (window as unknown as { vdiguardAdmin: AdminState }).vdiguardAdmin;
    return st.phase === 'ready' && st.section === s;
  }, section);

/** A named admin account made as `vdiguard admin add` makes one; the sign-in itself goes through the page. */
async function account(name: string, role: 'admin' | 'analyst'): Promise<string> {
  const totpSecret = newTotpSecret();
  await h.gateway.admins.add({ name, role, passwordHash: await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1 }), totpSecret });
  return totpSecret;
}

async function signIn(page: Page, name: string, secret: string): Promise<void> {
  await page.goto(`${h.gateway.url}/admin`);
  await page.fill('#name', name);
  await page.fill('#password', PASSWORD);
  await page.fill('#code', h.codeFor(secret));
  await page.click('#login button[type=submit]');
  await ready(page, 'sessions');
}

async function open(page: Page, section: string): Promise<void> {
  await page.click(`#nav-${section}`);
  await ready(page, section);
}

test('an admin adds an agent and a pinned desktop, watches and kills the session; an analyst can only look', { skip: SKIP, timeout: 180_000 }, async () => {
  const admin = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  await signIn(admin, 'dana', await account('dana', 'admin'));
  assert.equal(await admin.textContent('#who-name'), 'dana');
  assert.equal(await admin.textContent('#who-role'), 'admin');

  // The agent: its authenticator secret is shown once, with the QR code and the provisioning URI.
  await open(admin, 'agents');
  await admin.click('button:text("Add agent")');
  await admin.fill('dialog input[name=id]', NEW_AGENT);
  await admin.fill('dialog input[name=name]', 'Carol');
  await admin.fill('dialog input[name=password]', PASSWORD);
  await admin.click('dialog button[type=submit]:text("Add")');
  await admin.waitForSelector('dialog img.qr');
  assert.equal(await admin.isVisible('dialog img.qr'), true, 'the QR code');
  const secret = (await admin.textContent('dialog code.secret'))!;
  const uri = (await admin.textContent('dialog code.uri'))!;
  assert.equal(new URL(uri).searchParams.get('secret'), secret, 'the URI carries the secret shown');
  await screenshot(admin, 'admin-flow-agent-totp');
  await admin.click('dialog button:text("Done")');
  await admin.waitForSelector('dialog', { state: 'detached' });
  await admin.waitForSelector(`tr[data-agent="${NEW_AGENT}"]`);

  // The desktop: Check reads the certificate xrdp serves; "Pin this" puts its fingerprint in the form.
  await open(admin, 'desktops');
  await admin.click('button:text("Add desktop")');
  await admin.fill('dialog input[name=id]', NEW_DESKTOP);
  await admin.fill('dialog input[name=name]', 'Dev desk');
  await admin.fill('dialog input[name=host]', DESKTOP_HOST);
  await admin.fill('dialog input[name=port]', String(DESKTOP_PORT));
  await admin.selectOption('dialog select[name=security]', 'tls');
  await admin.fill('dialog input[name=username]', DESKTOP_USER);
  await admin.fill('dialog input[name=password]', DESKTOP_PASSWORD);
  await admin.click('dialog button:text("Check")');
  await admin.waitForSelector('dialog .check-result code.fingerprint', { timeout: 15_000 });
  const shown = (await admin.textContent('dialog .check-result code.fingerprint'))!;
  const norm = (f: string): string => f.replace(/^sha256:/i, '').replace(/:/g, '').toLowerCase();
  assert.equal(norm(shown), norm(desktopFingerprint()), 'the fingerprint of the certificate xrdp serves');
  await admin.click('dialog button:text("Pin this")');
  assert.equal(await admin.inputValue('dialog input[name=certFingerprints]'), shown);
  await screenshot(admin, 'admin-flow-desktop-check');
  await admin.click('dialog button[type=submit]:text("Add")');
  await admin.waitForSelector('dialog', { state: 'detached' });
  const row = `tr[data-desktop="${NEW_DESKTOP}"]`;
  await admin.waitForSelector(row);
  assert.equal(await admin.textContent(`${row} td:nth-child(4)`), 'pinned (1)');
  await admin.selectOption(`${row} form.inline select`, NEW_AGENT);
  await admin.click(`${row} form.inline button:text("Assign")`);
  await admin.waitForSelector(`${row} .chip:text("${NEW_AGENT}")`);
  await screenshot(admin, 'admin-flow-desktops');

  // The agent signs in with the code from the secret the dialog showed, and reaches the desktop.
  const agent = await browser.newPage({ viewport: { width: 1024, height: 768 } });
  await agent.goto(h.gateway.url);
  await agent.fill('#agent', NEW_AGENT);
  await agent.fill('#password', PASSWORD);
  await agent.fill('#code', h.codeFor(secret));
  await agent.click('button[type=submit]');
  await agent.waitForFunction(() => (window as unknown as { vdiguard: { phase: string } }).vdiguard.phase === 'connected', undefined, { timeout: 30_000 });
  assert.equal(await agent.textContent('#bar-desktop'), 'Dev desk');
  // guacd says ready before its RDP connection is up: wait for the connection itself.
  await until(() => desktopConnections(engine.pid).length === 1, 15_000, 'guacd to hold the RDP connection to the pinned desktop');
  await desktopDrawn(agent);
  await screenshot(agent, 'admin-flow-agent-connected');

  // The admin sees the live session with its trust line, and kills it.
  await open(admin, 'sessions');
  const live = `tr[data-session]:has-text("${NEW_AGENT}")`;
  await admin.waitForSelector(live);
  assert.equal(await admin.textContent(`${live} td:nth-child(3)`), NEW_DESKTOP);
  assert.equal(await admin.locator(`${live} td:first-child canvas`).count(), 1, 'the trust line');
  assert.match((await admin.textContent(`${live} .badge`)) ?? '', /^active$/);
  await screenshot(admin, 'admin-flow-sessions');
  await admin.click(`${live} button.kill`);
  await admin.click('#confirm-yes');
  await agent.waitForFunction(() => (window as unknown as { vdiguard: { phase: string } }).vdiguard.phase === 'ended', undefined, { timeout: 10_000 });
  assert.equal(await agent.textContent('#overlay-title'), 'Session ended');
  await screenshot(agent, 'admin-flow-agent-ended');
  await desktopConnectionGone(engine.pid, 10_000);
  await admin.waitForSelector(live, { state: 'detached' });
  // Ended sessions are listed from the scorer's history, which the gateway tests' stand-in scorer keeps none of: the gateway's own state says it ended.
  assert.deepEqual(h.gateway.sessions.all().filter((s) => s.id.agentId === NEW_AGENT && s.status !== 'ended'), [], 'ended at the gateway');

  // An admin kill is no security decision: the agent is not locked and shows no Unlock button.
  const { locks } = (await adminCall(h.gateway.url, '/api/admin/locks', await cookieIn(admin))).body as { locks: { agentId: string }[] };
  assert.deepEqual(locks.filter((l) => l.agentId === NEW_AGENT), []);
  await open(admin, 'agents');
  assert.equal(await admin.locator(`tr[data-agent="${NEW_AGENT}"] button.unlock`).count(), 0);
  assert.equal(await admin.locator(`tr[data-agent="${NEW_AGENT}"] button:text("Reset MFA")`).count(), 1, 'an admin sees the change buttons');

  // The analyst: the same sections, no change buttons; the API refuses a change all the same.
  const analyst = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  await signIn(analyst, 'ana', await account('ana', 'analyst'));
  assert.equal(await analyst.textContent('#who-role'), 'analyst');
  assert.equal(await analyst.locator('#nav-admins').count(), 0, 'no admins section');
  await open(analyst, 'agents');
  assert.equal(await analyst.locator(`tr[data-agent="${NEW_AGENT}"]`).count(), 1);
  assert.equal(await analyst.locator('#view button').count(), 0, 'no change buttons on agents');
  await screenshot(analyst, 'admin-flow-analyst-agents');
  await open(analyst, 'desktops');
  assert.equal(await analyst.locator(`tr[data-desktop="${NEW_DESKTOP}"]`).count(), 1);
  assert.equal(await analyst.locator('#view button, #view form.inline').count(), 0, 'no change buttons or assign forms on desktops');
  const refused = await adminCall(h.gateway.url, `/api/admin/agents/${NEW_AGENT}`, await cookieIn(analyst), 'PATCH', { status: 'disabled' });
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
});

/** The admin session cookie the page holds (HttpOnly, so read from the browser context). */
async function cookieIn(page: Page): Promise<string> {
  const c = (await page.context().cookies()).find((x) => x.name === ADMIN_COOKIE);
  if (!c) throw new Error('the page holds no admin cookie');
  return c.value;
}
