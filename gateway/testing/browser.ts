/** Debian's chromium through playwright-core, for the page and end-to-end tests. */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

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
