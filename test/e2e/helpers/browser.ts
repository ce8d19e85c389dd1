/**
 * Debian's chromium driven by playwright-core (never a downloaded browser). Tests that need it
 * call {@link chromiumPath} and skip loudly when it is missing.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where Debian's `chromium` package installs the browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The browser binary, or `undefined` after printing a loud skip notice. */
export function chromiumPath(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  const msg = `\n*** SKIPPING browser tests: ${CHROMIUM_PATH} not found. Install the Debian package \`chromium\` (apt-get install chromium); .ci/run does. ***\n`;
  process.stderr.write(msg);
  return undefined;
}

/** Launches headless chromium with flags that keep it off the network. */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Screenshots go to test-results/ (gitignored). */
export const RESULTS_DIR = join(process.cwd(), 'test-results');

/** Saves a full-page screenshot as `test-results/<name>.png`. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Collects page errors and console errors so a test can assert the page ran clean. Network
 * errors while central is deliberately stopped are expected and filtered by the caller.
 */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/** Signs in through the login form with a viewer token. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('Viewer token').fill(token);
  await page.getByRole('button', { name: 'Open dashboard' }).click();
}
