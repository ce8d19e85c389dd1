/**
 * The API documentation page of a real central in chromium, under central's Content-Security-Policy
 * header: it renders every operation with its roles and errors, and the browser reports no policy
 * violation (they are console errors).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { chromiumPath, collectErrors, launchChromium } from './helpers/browser.ts';
import { startCentral, type TestCentral } from '../../server/test/helpers/central.ts';

const exe = chromiumPath();

describe.skipIf(exe === undefined)('API documentation page (real central, chromium)', () => {
  let t: TestCentral;
  let browser: Browser;

  beforeAll(async () => {
    t = await startCentral({ listen: true });
    browser = await launchChromium(exe!);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('renders the operations with roles and errors, with no CSP violation', async () => {
    const page = await browser.newPage();
    const errors = collectErrors(page);
    const res = await page.goto(`${t.url}/documentation`);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    await expect.poll(() => page.locator('#ops').textContent()).toContain('/v1/orders/{orderId}/cancel');
    const text = (await page.locator('#ops').textContent()) ?? '';
    expect(text).toContain('roles: app, admin');
    expect(text).toMatch(/errors: 400 401 403 404 409 413 429 503/);
    expect(errors).toEqual([]);
  });
});
