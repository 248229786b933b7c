import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

/** Debian's chromium package (`apt-get install -y chromium`; .ci/run installs it when missing). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: run \`apt-get install -y chromium\` (or set CHROMIUM_PATH), then run the tests again.`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}

export interface IsolatedContext {
  context: BrowserContext;
  /** Every request the page tried to make to another origin (all refused). */
  blocked: string[];
}

/**
 * A browser context that may talk to `origin` only: every request elsewhere
 * is aborted and recorded, so a test can assert the page needs nothing from
 * another origin (the console works offline).
 */
export async function isolatedContext(browser: Browser, origin: string, viewport = { width: 1280, height: 900 }): Promise<IsolatedContext> {
  const context = await browser.newContext({ viewport, reducedMotion: 'reduce' });
  const blocked: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('data:') || url.startsWith('blob:') || new URL(url).origin === origin) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  return { context, blocked };
}
