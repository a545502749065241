import fs from 'node:fs';
import type { Browser } from 'playwright-core';

/** Debian's Chromium, which .ci/run installs; browser tests skip and say so without it. */
export const CHROMIUM = '/usr/bin/chromium';

export const noChromium: string | false = fs.existsSync(CHROMIUM) ? false : `chromium not installed (${CHROMIUM}); apt-get install chromium`;

/** Headless Chromium with nothing reaching the network. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}
