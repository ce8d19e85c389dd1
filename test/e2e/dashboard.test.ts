/**
 * The dashboard end to end in Debian's chromium: central, a gateway with its embedded broker and
 * an MQTT fridge on loopback (helpers/stack.ts). A fridge publish shows on the page within 1 s; an
 * order moves a unit from sellable to reserved; the gateway going offline shows from its live event; stopping central shows the stale banner and
 * restarting it (same port and data dir) clears it and the page is live again. Screenshots land in
 * test-results/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { chromiumPath, collectErrors, launchChromium, screenshot, signIn } from './helpers/browser.ts';
import { FRIDGE, Stack, TOKENS, VENUE } from './helpers/stack.ts';

const exe = chromiumPath();
const cellSel = (meal: string, k: string) => `#fleet [data-cell="${FRIDGE}/${meal}"] [data-k="${k}"]`;

describe.skipIf(exe === undefined)('dashboard end to end (central + gateway + MQTT fridge, chromium)', () => {
  const stack = new Stack();
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    await stack.startCentral();
    await stack.startGateway();
    await stack.connectFridge();
    await stack.snapshot({ 'meal-bowl': 5, 'meal-salad': 3 });
    browser = await launchChromium(exe!);
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    errors = collectErrors(page);
  });

  afterAll(async () => {
    await browser?.close();
    await stack.close();
  });

  it('signs in with a viewer token and shows the venue live', async () => {
    await page.goto(`${stack.centralUrl}/dashboard/`);
    await signIn(page, TOKENS.viewer);
    await expect.poll(() => page.locator(cellSel('meal-bowl', 'T')).textContent(), { timeout: 10_000 }).toBe('5');
    await expect.poll(() => page.locator('#conn').textContent()).toBe('live');
    expect(await page.locator(`#fleet [data-venue="${VENUE}"] [data-fridge="${FRIDGE}"] [data-k="online"]`).textContent()).toBe('online');
    expect(await page.locator('#version').textContent()).toMatch(/^central v\d+\.\d+\.\d+/);
  });

  it('shows a fridge publish within 1 s', async () => {
    const started = Date.now();
    await stack.snapshot({ 'meal-bowl': 9, 'meal-salad': 3 });
    await expect.poll(() => page.locator(cellSel('meal-bowl', 'T')).textContent(), { timeout: 1000, interval: 25 }).toBe('9');
    const took = Date.now() - started;
    expect(took).toBeLessThan(1000);
    process.stdout.write(`fridge publish → dashboard: ${took} ms\n`);
    await screenshot(page, 'e2e-fleet');
  });

  it('moves a unit from sellable to reserved when an order is placed', async () => {
    // Central can reserve only within rights the reconciler granted it (docs/design.md "Rights placement"): wait for them.
    await expect
      .poll(async () => (await stack.venue()).fridges.find((f) => f.fridgeId === FRIDGE)?.cells.find((c) => c.mealId === 'meal-bowl')?.centralRights ?? 0, { timeout: 10_000 })
      .toBeGreaterThan(0);
    await expect.poll(() => page.locator(cellSel('meal-bowl', 'S')).textContent(), { timeout: 5000 }).toBe('9');
    const R0 = Number(await page.locator(cellSel('meal-bowl', 'R')).textContent());
    const res = await stack.order('e2e-order-1', 'meal-bowl');
    expect(res.status).toBe(201);
    await expect.poll(() => page.locator(cellSel('meal-bowl', 'R')).textContent(), { timeout: 2000 }).toBe(String(R0 + 1));
    expect(await page.locator(cellSel('meal-bowl', 'S')).textContent()).toBe('8');
    await screenshot(page, 'e2e-order');
  });

  it('shows a kitchen delivery as incoming, then its discrepancy once the fridge reports', async () => {
    const line = page.locator(`#fleet [data-venue="${VENUE}"] [data-k="deliveries"]`);
    expect((await stack.delivery('e2e-delivery-1', { 'meal-bowl': 4 })).status).toBe(201);
    // The announcement arrives as a `delivery` event.
    await expect.poll(() => line.textContent(), { timeout: 3000 }).toContain('1 delivery incoming');
    // 9 before + 4 announced = 13 expected; the fridge reports 12: one missing.
    await stack.snapshot({ 'meal-bowl': 12, 'meal-salad': 3 });
    await expect.poll(() => line.textContent(), { timeout: 3000 }).toContain(`1 discrepancy: ${FRIDGE} meal-bowl -1`);
    await expect.poll(() => page.locator('#alerts-list').textContent()).toContain('Delivery e2e-delivery-1');
    // Back to the stock the later steps expect.
    await stack.snapshot({ 'meal-bowl': 9, 'meal-salad': 3 });
    await expect.poll(() => page.locator(cellSel('meal-bowl', 'T')).textContent()).toBe('9');
  });

  it('shows the stale banner while central is down and clears it after a restart', async () => {
    const banner = page.locator('#stale');
    await stack.stopCentral();
    await banner.waitFor({ state: 'visible', timeout: 5000 });
    expect(await banner.textContent()).toMatch(/Disconnected from central — data as of \d\d:\d\d:\d\d/);
    // The last known values stay on the page.
    expect(await page.locator(cellSel('meal-bowl', 'T')).textContent()).toBe('9');
    await screenshot(page, 'e2e-disconnected');
    await stack.startCentral();
    await banner.waitFor({ state: 'hidden', timeout: 15_000 });
    expect(await page.locator('#conn').textContent()).toBe('live');
    // Live again end to end: a new publish travels fridge → gateway → central → page.
    await stack.snapshot({ 'meal-bowl': 6, 'meal-salad': 3 });
    await expect.poll(() => page.locator(cellSel('meal-bowl', 'T')).textContent(), { timeout: 10_000 }).toBe('6');
    // The gateway reconnected to the new central process, and the page says so.
    await expect.poll(() => page.locator(`#fleet [data-gateway="gw-e2e"] [data-k="state"]`).textContent(), { timeout: 5000 }).toBe('synced');
    await screenshot(page, 'e2e-reconnected');
  });

  it('shows a temperature alarm and an open door live, with an alert', async () => {
    await stack.telemetry(8.5, 'open');
    const card = page.locator(`#fleet [data-fridge="${FRIDGE}"]`);
    await expect.poll(() => card.locator('[data-k="door"]').textContent(), { timeout: 3000 }).toBe('open');
    await expect.poll(() => card.locator('[data-k="temp"]').getAttribute('class'), { timeout: 3000 }).toContain('bad');
    expect(await card.locator('[data-k="temp"]').textContent()).toBe('8.5 °C ▲');
    await expect.poll(() => page.locator('#live').textContent()).toContain(`Temperature alarm: fridge ${FRIDGE} at E2E Venue is at 8.5 °C`);
    await screenshot(page, 'e2e-alarms');
  });

  // The will's `ts` is the fridge's CONNECT time; the gateway stamps going offline with the time
  // it hears it, so the will is not discarded as older than the status that followed.
  it('shows a fridge offline when its connection drops (MQTT will)', async () => {
    const card = page.locator(`#fleet [data-fridge="${FRIDGE}"]`);
    stack.killFridge();
    await expect.poll(() => card.locator('[data-k="online"]').textContent(), { timeout: 5000 }).toBe('offline');
    await expect.poll(() => page.locator('#alerts-list').textContent()).toContain(`Fridge ${FRIDGE} at E2E Venue is offline`);
    await screenshot(page, 'e2e-offline');
  });

  it('shows the gateway going offline and back from gateway events, without reading the venue again', async () => {
    const head = page.locator(`#fleet [data-gateway="gw-e2e"] > header`);
    await expect.poll(() => head.locator('[data-k="state"]').textContent(), { timeout: 5000 }).toBe('synced');
    const reads: string[] = [];
    const onRequest = (r: { url(): string }) => {
      if (new URL(r.url()).pathname.startsWith('/v1/venues')) reads.push(r.url());
    };
    page.on('request', onRequest);
    try {
      const stopped = Date.now();
      await stack.agent!.close();
      stack.agent = undefined;
      await expect.poll(() => head.locator('[data-k="state"]').textContent(), { timeout: 3000, interval: 25 }).toBe('disconnected');
      process.stdout.write(`gateway stopped → dashboard shows it disconnected: ${Date.now() - stopped} ms\n`);
      expect(await head.locator('[data-k="state"]').getAttribute('class')).toContain('bad');
      // How long ago central last heard from it, counted on the page from central's `lastMessageAt`.
      expect(await head.locator('[data-k="heard"]').isVisible()).toBe(true);
      await expect.poll(() => head.locator('[data-k="heard-at"]').textContent()).toMatch(/(just now|\d+ s ago) · \d\d:\d\d:\d\d/);
      await expect.poll(() => page.locator('#alerts-list').textContent()).toContain('Gateway gw-e2e at E2E Venue is not syncing');
      await screenshot(page, 'e2e-gateway-offline');
      expect(reads, 'no venue read: the page applied the gateway event').toEqual([]);
      // Back: it rejoins and syncs, and the page says so.
      await stack.startGateway();
      await expect.poll(() => head.locator('[data-k="state"]').textContent(), { timeout: 10_000 }).toBe('synced');
      expect(await head.locator('[data-k="heard"]').isVisible()).toBe(false);
    } finally {
      page.off('request', onRequest);
    }
  });

  it('opens from a link carrying the token and drops it from the address bar', async () => {
    const other = await browser.newPage({ viewport: { width: 820, height: 1180 } });
    try {
      await other.goto(`${stack.centralUrl}/dashboard/#token=${TOKENS.viewer}`);
      await other.locator(cellSel('meal-bowl', 'T')).waitFor({ timeout: 5000 });
      expect(other.url()).not.toContain('token');
      await screenshot(other, 'e2e-tablet');
    } finally {
      await other.close();
    }
  });

  it('shows the venue view with chart, rights and events', async () => {
    await page.goto(`${stack.centralUrl}/dashboard/#/venue/${VENUE}`);
    await page.locator(`#venue [data-rights="${FRIDGE}/meal-bowl"]`).waitFor();
    expect(await page.locator('.chart path[data-series="meal-bowl"]').count()).toBe(1);
    expect(await page.locator('.rights thead').textContent()).toMatch(/gw:gw-e2e:\d+/);
    await screenshot(page, 'e2e-venue');
    const unexpected = errors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource|ERR_EMPTY_RESPONSE|net::ERR/.test(e));
    expect(unexpected).toEqual([]);
  });
});
