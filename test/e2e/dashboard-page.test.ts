/**
 * The dashboard page in a real browser against a fake central (helpers/fake-central.ts): login,
 * fleet tree, live updates in place, filters kept in the URL, the venue view (chart, rights,
 * orders, events), alerts in the live region, the stale banner on disconnect, and a tablet layout.
 * The end-to-end test with the real central and gateway is dashboard.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { chromiumPath, collectErrors, launchChromium, screenshot, signIn } from './helpers/browser.ts';
import { FakeCentral, largeFleet, sampleFleet } from './helpers/fake-central.ts';

const exe = chromiumPath();

describe.skipIf(exe === undefined)('dashboard page (fake central, chromium)', () => {
  let central: FakeCentral;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    central = new FakeCentral({ viewerToken: 'view-secret', appToken: 'app-secret', venues: sampleFleet(), version: '0.1.0-test' });
    await central.start(0);
    browser = await launchChromium(exe!);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    errors = collectErrors(page);
  });

  afterAll(async () => {
    await browser?.close();
    await central?.stop();
  });

  it('refuses a wrong token and keeps the login form', async () => {
    await page.goto(`${central.url}/dashboard/`);
    await signIn(page, 'wrong');
    await expect.poll(() => page.locator('#login-error').textContent()).toContain('401');
    expect(await page.locator('#login').isVisible()).toBe(true);
  });

  it('shows the fleet tree with state, shortages and central version', async () => {
    await signIn(page, 'view-secret');
    const cell = page.locator('[data-cell="fr-b1/bowl-teriyaki"]');
    await cell.waitFor();
    expect(await cell.locator('[data-k="S"]').textContent()).toBe('5');
    expect(await cell.locator('[data-k="R"]').textContent()).toBe('1');
    // City → venue → gateway → fridge nesting.
    expect(await page.locator('[data-city="Berlin"] [data-venue="berlin-hq"] [data-gateway="gw-berlin-1"] [data-fridge="fr-b2"]').count()).toBe(1);
    expect(await page.locator('[data-cell="fr-b2/bowl-teriyaki"]').getAttribute('class')).toContain('shortage');
    expect(await page.locator('[data-fridge="fr-b2"] [data-k="temp"]').getAttribute('class')).toContain('bad');
    expect(await page.locator('[data-fridge="fr-g1"] [data-k="online"]').textContent()).toBe('offline');
    expect(await page.locator('[data-fridge="fr-g1"] [data-k="seen"]').textContent()).toMatch(/5 min ago · \d\d:\d\d:\d\d/);
    expect(await page.locator('#version').textContent()).toBe('central v0.1.0-test');
    await expect.poll(() => page.locator('#conn').textContent()).toBe('live');
    // Alerts are listed and announced in the ARIA live region.
    expect(await page.locator('#live').getAttribute('aria-live')).toBe('polite');
    expect(await page.locator('#alerts-list').textContent()).toContain('Shortage: 1 × bowl-teriyaki in fridge fr-b2');
    await screenshot(page, 'page-fleet');
  });

  it('updates a row in place when an event arrives', async () => {
    const row = page.locator('[data-cell="fr-l1/salad-caesar"]');
    // The test compiles without DOM typings: page globals are reached through globalThis.
    await row.evaluate((el) => ((globalThis as unknown as { __row: unknown }).__row = el));
    central.snapshot('lisbon-campus', 'fr-l1', { 'bowl-teriyaki': 5, 'salad-caesar': 9 });
    await expect.poll(() => row.locator('[data-k="S"]').textContent(), { timeout: 1000, interval: 50 }).toBe('9');
    // Same DOM node: updated in place, not rebuilt.
    expect(await row.evaluate((el) => el === (globalThis as unknown as { __row: unknown }).__row)).toBe(true);
  });

  it('resumes a dropped feed with Last-Event-ID and gets the events it missed', async () => {
    central.snapshot('lisbon-campus', 'fr-l1', { 'bowl-teriyaki': 5, 'salad-caesar': 8 });
    const row = page.locator('#fleet [data-cell="fr-l1/bowl-teriyaki"]');
    await expect.poll(() => page.locator('#fleet [data-cell="fr-l1/salad-caesar"] [data-k="S"]').textContent()).toBe('8');
    central.dropStreams();
    // Published while the page has no stream: only a resume can deliver it.
    central.pickup('lisbon-campus', 'fr-l1', 'bowl-teriyaki', 1);
    await expect.poll(() => row.locator('[data-k="T"]').textContent(), { timeout: 5000 }).toBe('4 (5)');
    expect(central.resumeIds.at(-1)).toMatch(/^[0-9a-f]+-\d+$/);
  });

  it('keeps filters and search in the URL', async () => {
    await page.locator('#f-q').fill('lisbon');
    await expect.poll(() => page.url()).toContain('q=lisbon');
    expect(await page.locator('[data-venue]').count()).toBe(1);
    await page.reload();
    await page.locator('[data-venue="lisbon-campus"]').waitFor();
    expect(await page.locator('[data-venue]').count()).toBe(1);
    expect(await page.locator('#f-q').inputValue()).toBe('lisbon');
    await page.locator('#f-q').fill('');
    await page.locator('#f-problems').check();
    await expect.poll(() => page.url()).toContain('problems=1');
    expect(await page.locator('[data-fridge]').evaluateAll((els) => els.map((e) => e.getAttribute('data-fridge')).sort())).toEqual(['fr-b2', 'fr-g1']);
    await page.locator('#f-problems').uncheck();
  });

  it('shows the venue view with chart, rights, open orders and events', async () => {
    await page.goto(`${central.url}/dashboard/#/venue/berlin-hq?fridge=fr-b1`);
    await page.locator('[data-order="ord-77"]').waitFor();
    central.snapshot('berlin-hq', 'fr-b1', { 'bowl-teriyaki': 4, 'salad-caesar': 4, 'wrap-falafel': 2 });
    await expect.poll(() => page.locator('#venue [data-cell="fr-b1/bowl-teriyaki"] [data-k="S"]').textContent()).toBe('3');
    expect(await page.locator('.chart path[data-series="bowl-teriyaki"]').count()).toBe(1);
    // Rights table: one column per replica; after the snapshot the reconciler holds all of S.
    const heads = await page.locator('.rights thead th').allTextContents();
    const col = heads.indexOf('gw:gw-berlin-1:1');
    expect(col).toBeGreaterThan(2);
    expect(await page.locator('[data-rights="fr-b1/bowl-teriyaki"] > *').nth(col).textContent()).toBe('3');
    expect(await page.locator('.events').textContent()).toContain('fridge');
    expect(await page.locator('[data-order="ord-77"]').getAttribute('class')).toContain('shortage');
    // Central lists no orders, only counts: fr-b1's one open order shows as a count.
    expect(await page.locator('.orders tbody').textContent()).toContain('1 open order');
    await screenshot(page, 'page-venue');
  });

  it('shows a stale banner while central is down and clears it on reconnect', async () => {
    await central.stop();
    const banner = page.locator('#stale');
    await banner.waitFor({ state: 'visible', timeout: 5000 });
    expect(await banner.textContent()).toMatch(/Disconnected from central — data as of \d\d:\d\d:\d\d/);
    expect(await page.locator('#live').textContent()).toContain('Disconnected');
    await screenshot(page, 'page-disconnected');
    await central.start();
    await banner.waitFor({ state: 'hidden', timeout: 10_000 });
    // Resumed: a new event reaches the page.
    central.snapshot('berlin-hq', 'fr-b1', { 'bowl-teriyaki': 7, 'salad-caesar': 4, 'wrap-falafel': 2 });
    await expect.poll(() => page.locator('#venue [data-cell="fr-b1/bowl-teriyaki"] [data-k="S"]').textContent()).toBe('6');
  });

  it('is usable on a tablet', async () => {
    await page.setViewportSize({ width: 820, height: 1180 });
    await page.goto(`${central.url}/dashboard/#/`);
    await page.locator('#fleet [data-cell="fr-b1/bowl-teriyaki"]').waitFor();
    const overflow = await page.evaluate(() => {
      const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
      return root.scrollWidth - root.clientWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'page-tablet');
    await page.goto(`${central.url}/dashboard/#/venue/berlin-hq`);
    await page.locator('#venue [data-rights="fr-b2/bowl-teriyaki"]').waitFor();
    const venueOverflow = await page.evaluate(() => {
      const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
      return root.scrollWidth - root.clientWidth;
    });
    expect(venueOverflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'page-tablet-venue');
    const unexpected = errors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource|ERR_EMPTY_RESPONSE|401/.test(e));
    expect(unexpected).toEqual([]);
  });
});

describe.skipIf(exe === undefined)('dashboard page with a large fleet (fake central, chromium)', () => {
  let central: FakeCentral;
  let browser: Browser;

  beforeAll(async () => {
    central = new FakeCentral({ viewerToken: 'view-secret', appToken: 'app-secret', venues: largeFleet(150) });
    await central.start(0);
    browser = await launchChromium(exe!);
  });

  afterAll(async () => {
    await browser?.close();
    await central?.stop();
  });

  it('renders 150 venues (7,200 meal rows) and still shows an event within 300 ms', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${central.url}/dashboard/#token=view-secret`);
    await page.locator('[data-cell="v149-f3/meal-11"]').waitFor({ state: 'attached', timeout: 30_000 });
    // Timed inside the page: Playwright's own polling backs off to hundreds of ms.
    await page.evaluate(() => {
      const g = globalThis as unknown as { document: { querySelector(s: string): { textContent: string } }; MutationObserver: new (cb: () => void) => { observe(el: unknown, o: object): void }; __changedAt?: number };
      const el = g.document.querySelector('[data-cell="v75-f2/meal-3"] [data-k="S"]');
      new g.MutationObserver(() => (g.__changedAt ??= Date.now())).observe(el, { childList: true, characterData: true, subtree: true });
    });
    const sent = Date.now();
    // Every meal of the fridge changes: twelve cells flash at once.
    central.snapshot('v75', 'v75-f2', Object.fromEntries(Array.from({ length: 12 }, (_, m) => [`meal-${m}`, 9])));
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as { __changedAt?: number }).__changedAt), { timeout: 2000 }).toBeDefined();
    const at = await page.evaluate(() => (globalThis as unknown as { __changedAt?: number }).__changedAt);
    expect(at! - sent).toBeLessThan(300);
    expect(await page.locator('[data-cell="v75-f2/meal-3"] [data-k="S"]').textContent()).toBe('9');
  });
});
