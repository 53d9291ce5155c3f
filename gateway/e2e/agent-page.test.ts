/**
 * The agent's page through real guacd 1.6 to the xrdp dev desktop (account vdiguard-test14), in
 * Debian's chromium: the status bar over the drawn desktop, the clipboard both ways (the desktop's
 * own xclip sets and reads its clipboard, typed into its xterm through the page), and the desktop
 * following the window (xrandr on the desktop reads the new size). Needs what gateway/e2e/e2e.test.ts
 * needs (VDIGUARD_TEST_RDP=1; .ci/run sets it up, deploy/dev-desktop.sh installs xclip). The scorer is
 * the gateway tests' stand-in: scoring plays no part here. Screenshots go to test-artifacts/screens.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { AGENT, PASSWORD, startGatewayHarness, type GatewayHarness } from '../testing/harness.js';
import { CHROMIUM_SKIP, desktopDrawn, launchChromium, screenshot } from '../testing/browser.js';
import { GUACD_SKIP, startGuacd, type Engine } from '../testing/guacd.js';
import { DESKTOP_HOST, DESKTOP_PASSWORD, DESKTOP_PORT } from '../testing/desktop.js';

const SKIP: string | false =
  process.env.VDIGUARD_TEST_RDP !== '1'
    ? 'needs the xrdp dev desktop and chromium: run deploy/dev-desktop.sh, install chromium and set VDIGUARD_TEST_RDP=1 (.ci/run does all three)'
    : CHROMIUM_SKIP || GUACD_SKIP;
const DESKTOP_USER = 'vdiguard-test14';

let engine: Engine;
let h: GatewayHarness;
let browser: Browser;
let context: BrowserContext;
let page: Page;

type PageState = { phase: string; client: { getDisplay(): { getWidth(): number; getHeight(): number } } };

before(async () => {
  if (SKIP) return;
  engine = await startGuacd();
  h = await startGatewayHarness({
    guacdPort: engine.port,
    desktop: { host: DESKTOP_HOST, port: DESKTOP_PORT, ignoreCert: true, credentials: { username: DESKTOP_USER, password: DESKTOP_PASSWORD } },
  });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1024, height: 768 }, permissions: ['clipboard-read', 'clipboard-write'] });
  page = await context.newPage();
  await page.goto(h.gateway.url);
  await page.fill('#agent', AGENT);
  await page.fill('#password', PASSWORD);
  await page.fill('#code', h.code());
  await page.click('button[type=submit]');
  await page.waitForFunction(() => (window as unknown as { vdiguard: PageState }).vdiguard.phase === 'connected', undefined, { timeout: 30000 });
  await desktopDrawn(page);
});

after(async () => {
  await browser?.close();
  await h?.close();
  await engine?.close();
});

/** Runs a shell command in the desktop's xterm by typing it through the page (focus follows the pointer there). */
async function onDesktop(command: string): Promise<void> {
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.mouse.move(200, 150);
  await page.keyboard.press('Enter');
  await page.keyboard.type(command, { delay: 30 });
  await page.keyboard.press('Enter');
}

/** A file the desktop writes, once it holds `want` (the command may miss its first keys while a session resumes). */
async function desktopFile(path: string, command: string, want: (text: string) => boolean): Promise<string> {
  let text = '';
  for (let attempt = 0; attempt < 2; attempt++) {
    await onDesktop(command);
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
      text = existsSync(path) ? readFileSync(path, 'utf8') : '';
      if (want(text)) return text;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return text;
}

test('connected through guacd: the status bar above the drawn desktop', { skip: SKIP }, async () => {
  assert.equal(await page.textContent('#bar-agent'), 'Alice');
  assert.equal(await page.textContent('#bar-desktop'), 'Desk 1');
  assert.match((await page.textContent('#bar-notice')) ?? '', /Protected by behavioural verification/);
  assert.equal(await page.isVisible('#clipboard-toggle'), true, 'guacd carries the clipboard');
  await page.mouse.move(200, 150);
  await screenshot(page, 'agent-connected-guacd');
});

test('clipboard, desktop to browser: text copied on the desktop reaches the panel and the browser clipboard', { skip: SKIP, timeout: 60_000 }, async () => {
  const marker = `vdiguard-copy-${randomBytes(4).toString('hex')}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    await onDesktop(`printf %s ${marker} | xclip -selection clipboard`);
    const arrived = await page
      .waitForFunction((m) => (document.getElementById('clip-in') as HTMLTextAreaElement).value === m, marker, { timeout: 10000 })
      .then(() => true, () => false);
    if (arrived) break;
  }
  assert.equal(await page.inputValue('#clip-in'), marker);
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), marker, 'written to the browser clipboard too');
});

test('clipboard, browser to desktop: the paste panel and the browser clipboard on focus set the desktop clipboard', { skip: SKIP, timeout: 90_000 }, async () => {
  const out = `/tmp/vdiguard-paste-${randomBytes(4).toString('hex')}`;
  try {
    const sent = `vdiguard-paste-${randomBytes(4).toString('hex')} ünïcode`;
    await page.click('#clipboard-toggle');
    await page.fill('#clip-out', sent);
    await page.click('#clip-send');
    assert.match((await page.textContent('#clip-out-status')) ?? '', /Sent/);
    await screenshot(page, 'agent-clipboard-panel');
    await page.click('#clipboard-toggle');
    const got = await desktopFile(out, `xclip -o -selection clipboard > ${out}`, (t) => t === sent);
    assert.equal(got, sent, 'the desktop clipboard holds the pasted text');

    // Copied in another application, then back to the window: the browser lets the page read it.
    const copied = `vdiguard-focus-${randomBytes(4).toString('hex')}`;
    await page.evaluate((t) => navigator.clipboard.writeText(t), copied);
    await page.evaluate(() => window.dispatchEvent(new Event('focus')));
    rmSync(out, { force: true });
    const again = await desktopFile(out, `xclip -o -selection clipboard > ${out}`, (t) => t === copied);
    assert.equal(again, copied);
  } finally {
    rmSync(out, { force: true });
  }
});

test('resize: the desktop follows the window (guacd display-update), below the bar', { skip: SKIP, timeout: 60_000 }, async () => {
  const out = `/tmp/vdiguard-size-${randomBytes(4).toString('hex')}`;
  try {
    const bar = (await page.locator('#bar').boundingBox())!.height;
    await page.setViewportSize({ width: 1200, height: 840 });
    const want = { width: 1200, height: 840 - bar };
    await page.waitForFunction(
      (w) => {
        const d = (window as unknown as { vdiguard: PageState }).vdiguard.client.getDisplay();
        return d.getWidth() === w.width && d.getHeight() === w.height;
      },
      want,
      { timeout: 20000 },
    );
    const xrandr = await desktopFile(out, `xrandr | head -n 1 > ${out}`, (t) => /current \d+ x \d+/.test(t));
    assert.match(xrandr, new RegExp(`current ${want.width} x ${want.height}`), 'the desktop framebuffer has the new size');
    await page.mouse.move(200, 150);
    await screenshot(page, 'agent-connected-guacd-resized');
  } finally {
    rmSync(out, { force: true });
  }
});
