/**
 * A real central holding a fleet of venues for the browser tests (built with the server's test
 * helpers: `buildApp` on loopback with LevelDB in a temp dir). Venues, gateways, fridges and meals
 * come from its registry; fridge state is written the way each venue's reconciler gateway writes
 * it (a gateway replica's snapshot, reconciliation and status, applied as if it had arrived over
 * sync); orders and deliveries go through central's HTTP API. It can be stopped and started again
 * on the same port and data dir, like central restarting.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ORIGINS, recordStatus, type FridgeId, type StatusValue, type VenueId } from '@fridgesync/shared';
import { hashToken, type Central, type CentralConfigInput } from '@fridgesync/server';
import { asGateway, startCentral, stockViaGateway, TOKENS, type TestCentral } from '../../../server/test/helpers/central.ts';
import { waitFor } from '@fridgesync/shared/test-harness';

export { TOKENS };

/** One venue of the fleet: one gateway reconciling every fridge. */
export interface FleetVenue {
  venueId: string;
  name: string;
  city: string;
  timezone: string;
  gatewayId: string;
  fridgeIds: string[];
}

/** A running central with a fleet. */
export class FleetCentral {
  private t: TestCentral | undefined;
  private dir: string | undefined;
  private port = 0;
  /** Snapshot sequence per fridge: each snapshot is newer than the last. */
  private readonly seq = new Map<string, number>();

  constructor(
    readonly venues: FleetVenue[],
    readonly meals: string[],
  ) {}

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get central(): Central {
    if (this.t === undefined) throw new Error('central is not running');
    return this.t.central;
  }

  private config(): Partial<CentralConfigInput> {
    return {
      http: { host: '127.0.0.1', port: this.port },
      events: { heartbeatMs: 1000 },
      tokens: (['app', 'kitchen', 'admin', 'viewer'] as const).map((role) => ({ role, name: role, hash: hashToken(TOKENS[role]) })),
      registry: {
        meals: this.meals.map((id) => ({ id: id as never, name: id, priceCents: 650 })),
        venues: this.venues.map((v) => ({
          id: v.venueId as never,
          name: v.name,
          city: v.city as never,
          timezone: v.timezone,
          gateways: [{ id: v.gatewayId as never }],
          fridges: v.fridgeIds.map((id) => ({ id: id as never, reconciler: v.gatewayId as never })),
        })),
      },
    };
  }

  /** Starts (or restarts, same port and data dir) central and waits until every venue is loaded. */
  async start(): Promise<void> {
    this.dir ??= await mkdtemp(join(tmpdir(), 'fridgesync-fleet-'));
    this.t = await startCentral({ level: true, dir: this.dir, listen: true, over: this.config() });
    this.port = Number(new URL(this.t.url).port);
    const central = this.t.central;
    await waitFor(() => this.venues.every((v) => central.registry.peek(v.venueId as VenueId) !== undefined), 30_000, 'every venue loaded');
  }

  /** Stops central gracefully (its event streams end); its data stays for a restart. */
  async stop(): Promise<void> {
    await this.t?.close();
    this.t = undefined;
  }

  private venue(venueId: string): FleetVenue {
    const v = this.venues.find((x) => x.venueId === venueId);
    if (v === undefined) throw new Error(`no venue ${venueId}`);
    return v;
  }

  /** A full inventory snapshot of a fridge, recorded and reconciled by the venue's gateway. */
  snapshot(venueId: string, fridgeId: string, items: Record<string, number>): void {
    const seq = (this.seq.get(fridgeId) ?? 0) + 1;
    this.seq.set(fridgeId, seq);
    stockViaGateway(this.central, venueId, fridgeId, items, { gateway: this.venue(venueId).gatewayId, seq });
  }

  /** A fridge's presence and telemetry as its gateway records it (`ts` epoch ms). */
  status(venueId: string, fridgeId: string, status: StatusValue): void {
    asGateway(this.central, venueId, { gateway: this.venue(venueId).gatewayId }, (gw) => gw.transact(ORIGINS.mqtt, (w) => recordStatus(w, fridgeId as FridgeId, status)));
  }

  /** `POST /v1/orders` with the app token; throws unless 201. */
  async order(venueId: string, fridgeId: string, orderId: string, items: Record<string, number>): Promise<void> {
    await this.post('/v1/orders', TOKENS.app, { orderId, venueId, fridgeId, items: Object.entries(items).map(([mealId, qty]) => ({ mealId, qty })) });
  }

  /** `POST /v1/kitchen/deliveries` with the kitchen token; throws unless 201. */
  async delivery(venueId: string, fridgeId: string, deliveryId: string, items: Record<string, number>): Promise<void> {
    await this.post('/v1/kitchen/deliveries', TOKENS.kitchen, { deliveryId, venueId, fridgeId, items });
  }

  /** GET a JSON resource with the viewer token. */
  async get(path: string): Promise<unknown> {
    const res = await fetch(`${this.url}${path}`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  }

  private async post(path: string, token: string, body: unknown): Promise<void> {
    const res = await fetch(`${this.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  }

  /** Stops central and removes its data. */
  async close(): Promise<void> {
    await this.stop();
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
  }
}

/** A small fleet: two cities, three venues, a few fridges and meals. */
export const SAMPLE_VENUES: FleetVenue[] = [
  { venueId: 'berlin-hq', name: 'Berlin HQ', city: 'Berlin', timezone: 'Europe/Berlin', gatewayId: 'gw-berlin-1', fridgeIds: ['fr-b1', 'fr-b2'] },
  { venueId: 'berlin-gym', name: 'Berlin Gym Mitte', city: 'Berlin', timezone: 'Europe/Berlin', gatewayId: 'gw-gym', fridgeIds: ['fr-g1'] },
  { venueId: 'lisbon-campus', name: 'Lisbon Campus', city: 'Lisbon', timezone: 'Europe/Lisbon', gatewayId: 'gw-lis-1', fridgeIds: ['fr-l1'] },
];
export const SAMPLE_MEALS = ['bowl-teriyaki', 'salad-caesar', 'wrap-falafel', 'soup-tomato', 'shake-protein'];

/**
 * Stocks the sample fleet: one reserved order (fr-b1), a shortage with its affected order and a
 * temperature alarm with the door open (fr-b2), an offline fridge last seen five minutes ago with a
 * delivery that arrived two short (fr-g1), a delivery on its way (fr-b1).
 */
export async function stockSampleFleet(f: FleetCentral): Promise<void> {
  const now = Date.now();
  f.snapshot('berlin-hq', 'fr-b1', { 'bowl-teriyaki': 6, 'salad-caesar': 4, 'wrap-falafel': 2 });
  f.snapshot('berlin-hq', 'fr-b2', { 'bowl-teriyaki': 3, 'soup-tomato': 5 });
  f.snapshot('berlin-gym', 'fr-g1', { 'bowl-teriyaki': 3, 'shake-protein': 0 });
  f.snapshot('lisbon-campus', 'fr-l1', { 'bowl-teriyaki': 5, 'salad-caesar': 3 });
  for (const [venueId, fridgeId, tc, door] of [
    ['berlin-hq', 'fr-b1', 3.4, 'closed'],
    ['berlin-hq', 'fr-b2', 7.2, 'open'],
    ['lisbon-campus', 'fr-l1', 4.6, 'closed'],
  ] as const) {
    f.status(venueId, fridgeId, { on: true, ts: now - 4000, tc, door });
  }
  // Central reserves within the rights the reconcilers granted it.
  await waitFor(async () => {
    const d = (await f.get('/v1/venues/berlin-hq')) as { fridges: Array<{ cells: Array<{ centralRights: number }> }> };
    return d.fridges.every((x) => (x.cells[0]?.centralRights ?? 0) >= 2);
  }, 10_000, 'central rights at berlin-hq');
  await f.order('berlin-hq', 'fr-b1', 'ord-1', { 'bowl-teriyaki': 1 });
  await f.order('berlin-hq', 'fr-b2', 'ord-77', { 'bowl-teriyaki': 2 });
  // Two bowls reserved, one left on the shelf: one reserved meal is missing.
  f.snapshot('berlin-hq', 'fr-b2', { 'bowl-teriyaki': 1, 'soup-tomato': 5 });
  await f.delivery('berlin-hq', 'fr-b1', 'del-1', { 'salad-caesar': 6 });
  await f.delivery('berlin-gym', 'fr-g1', 'del-2', { 'shake-protein': 10 });
  f.snapshot('berlin-gym', 'fr-g1', { 'bowl-teriyaki': 3, 'shake-protein': 8 });
  f.status('berlin-gym', 'fr-g1', { on: false, ts: now - 310_000, tc: 3.9, door: 'closed' });
}

/** `n` venues × 4 fridges × 12 meals, for load on the page (stock it with {@link stockLargeFleet}). */
export function largeFleet(n: number): { venues: FleetVenue[]; meals: string[] } {
  return {
    meals: Array.from({ length: 12 }, (_, m) => `meal-${m}`),
    venues: Array.from({ length: n }, (_, v) => ({ venueId: `v${v}`, name: `Venue ${v}`, city: `City ${v % 20}`, timezone: 'Europe/Berlin', gatewayId: `gw${v}`, fridgeIds: Array.from({ length: 4 }, (_, f) => `v${v}-f${f}`) })),
  };
}

/** Five of every meal in every fridge, each fridge online. */
export function stockLargeFleet(f: FleetCentral): void {
  const items = Object.fromEntries(f.meals.map((m) => [m, 5]));
  for (const v of f.venues) for (const fridgeId of v.fridgeIds) {
    f.snapshot(v.venueId, fridgeId, items);
    f.status(v.venueId, fridgeId, { on: true, ts: Date.now(), tc: 3, door: 'closed' });
  }
}
