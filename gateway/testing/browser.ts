/** Debian's chromium through playwright-core, for the page and end-to-end tests. */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM = process.env.VDIGUARD_CHROMIUM ?? '/usr/bin/chromium';

/** Why browser tests skip, or false when chromium is there. */
export const CHROMIUM_SKIP: string | false = existsSync(CHROMIUM) ? false : `needs Debian's chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`;

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Where screenshots go: test-artifacts/screens in the package (git-ignored), for people to look at. */
function screensDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  const screens = join(dir, 'test-artifacts', 'screens');
  mkdirSync(screens, { recursive: true });
  return screens;
}

/** Saves what the page shows as test-artifacts/screens/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(screensDir(), `${name}.png`) });
}

/** Waits until the agent page's display canvases hold more than a couple of colours: the desktop is drawn, not just connected. */
export async function desktopDrawn(page: Page, timeout = 30000): Promise<void> {
  await page.waitForFunction(
    () => {
      const colours = new Set<number>();
      for (const c of document.querySelectorAll<HTMLCanvasElement>('#screen canvas')) {
        if (!c.width || !c.height) continue;
        const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
        if (!d) continue;
        for (let i = 0; i < d.length; i += 4 * 97) colours.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
      }
      return colours.size > 2;
    },
    undefined,
    { timeout, polling: 250 },
  );
}
