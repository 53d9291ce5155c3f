/**
 * Chromium on the agent's PC: Debian's chromium, headful on the rig's X display, maximised as an
 * agent would have it, signed in to the gateway's agent page. Input reaches it only as X input
 * events (XTest, locally or from x11vnc), never through the DevTools protocol, so its event times are
 * the ones a real agent's browser would stamp.
 */
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, desktopDrawn } from '../gateway/testing/browser.js';
import type { XDisplay } from './x-display.js';
import type { Rect } from './playback.js';

export interface AgentPc {
  readonly browser: Browser;
  readonly page: Page;
  /** Where the page's desktop view is on the X screen. */
  readonly desktopRect: Rect;
  close(): Promise<void>;
}

export interface SignIn {
  readonly url: string;
  readonly agent: string;
  readonly password: string;
  readonly code: () => Promise<string>;
}

/** Launches chromium on `display` and signs in; the desktop is drawn when this resolves. */
export async function startAgentPc(display: XDisplay, s: SignIn): Promise<AgentPc> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: false,
    env: { ...process.env, DISPLAY: display.name },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--window-position=0,0',
      `--window-size=${display.width},${display.height}`,
    ],
  });
  try {
    const page = await browser.newPage({ viewport: null });
    await page.goto(s.url);
    await page.fill('#agent', s.agent);
    await page.fill('#password', s.password);
    await page.fill('#code', await s.code());
    await page.click('button[type=submit]');
    await page.waitForFunction(() => (window as unknown as { vdiguard: { phase: string } }).vdiguard.phase === 'connected', undefined, { timeout: 30000 });
    await desktopDrawn(page);
    await page.bringToFront();
    const view = await page.evaluate(() => {
      const r = (document.querySelector('#screen') as HTMLElement).getBoundingClientRect();
      // The window's content area on the screen: chromium on X11 gives the window's frame
      // position; the toolbars are the difference between outer and inner size.
      return { x: r.x, y: r.y, width: r.width, height: r.height, screenX: window.screenX, screenY: window.screenY, top: window.outerHeight - window.innerHeight };
    });
    const desktopRect: Rect = {
      x: Math.round(view.screenX + view.x),
      y: Math.round(view.screenY + view.top + view.y),
      width: Math.floor(Math.min(view.width, display.width - view.screenX - view.x)),
      height: Math.floor(Math.min(view.height, display.height - view.screenY - view.top - view.y)),
    };
    return { browser, page, desktopRect, close: () => browser.close() };
  } catch (err) {
    await browser.close();
    throw err;
  }
}
