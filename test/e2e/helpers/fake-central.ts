/**
 * A stand-in for central's read API, used to exercise the dashboard in a browser without the real
 * server: `GET /v1/venues`, `GET /v1/venues/{id}`, `GET /v1/events` (SSE, `<boot>-<seq>` ids,
 * `Last-Event-ID` resume or a `refetch` event), `POST /v1/orders`, and `/dashboard/`. State is
 * plain in-memory JSON in the shape the dashboard's model.js reads; it can be stopped and started
 * again on the same port with its state kept, like central restarting on the same data dir.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { serveDashboardFile } from './static-dashboard.ts';

// Shapes follow server/src/venue-views.ts (fridgeJson, venueDetailJson) and kitchen.ts (deliveryJson).
export interface FakeCell { mealId: string; T: number; Teff: number; R: number; S: number; drift: number; shortage: number; affectedOrders: string[]; rights: Record<string, number>; unassignedRights: number; centralRights: number }
export interface FakeFridge { fridgeId: string; name: string | null; reconcilerGateway: string; reconciler: string | null; online: boolean; lastSeenAt: string | null; temperatureC: number | null; temperatureAlarm: boolean; door: 'open' | 'closed' | null; lastSnapshotAt: string | null; openOrders: number; conflicts: string[]; cells: FakeCell[] }
export interface FakeGateway { gatewayId: string; name: string | null; connected: boolean; replica: string | null; connectedAt: string | null; lastMessageAt: string | null; lastDurableAckAt: string | null; syncLagMs: number | null; pendingDurable: number }
export interface FakeDelivery { deliveryId: string; venueId: string; fridgeId: string; announcedAt: string; status: 'incoming' | 'observed'; items: Array<{ mealId: string; announced: number; observedTotal: number | null; before: number | null; discrepancy: number | null }> }
export interface FakeVenue { venueId: string; name: string; city: string; timezone: string; fridges: FakeFridge[]; gateways: FakeGateway[]; deliveries: FakeDelivery[] }

export interface FakeCentralOptions {
  viewerToken: string;
  appToken: string;
  venues: FakeVenue[];
  version?: string;
}

/** A running fake central. */
export class FakeCentral {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly streams = new Set<ServerResponse>();
  private readonly ring: Array<{ id: string; seq: number; type: string; data: string }> = [];
  private seq = 0;
  private boot = Math.random().toString(16).slice(2, 10);
  port = 0;

  constructor(readonly opts: FakeCentralOptions) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  venue(id: string): FakeVenue {
    const v = this.opts.venues.find((x) => x.venueId === id);
    if (!v) throw new Error(`no venue ${id}`);
    return v;
  }

  cell(venueId: string, fridgeId: string, mealId: string): FakeCell {
    const f = this.venue(venueId).fridges.find((x) => x.fridgeId === fridgeId);
    const c = f?.cells.find((x) => x.mealId === mealId);
    if (!c) throw new Error(`no cell ${fridgeId}/${mealId}`);
    return c;
  }

  /** A fridge snapshot: sets T, lets the "reconciler" fix S, and publishes a `fridge` event. */
  snapshot(venueId: string, fridgeId: string, items: Record<string, number>): void {
    const f = this.venue(venueId).fridges.find((x) => x.fridgeId === fridgeId)!;
    for (const c of f.cells) {
      c.T = c.Teff = items[c.mealId] ?? 0;
      c.S = Math.max(0, c.Teff - c.R);
      c.shortage = Math.max(0, c.R - c.Teff);
      c.drift = c.Teff - (c.S + c.R);
      c.rights = { [`gw:${f.reconcilerGateway}:1`]: c.S };
      c.centralRights = 0;
    }
    f.lastSeenAt = f.lastSnapshotAt = new Date().toISOString();
    f.online = true;
    this.publish('fridge', { venueId, fridgeId, cells: f.cells.map(({ mealId, ...c }) => ({ fridge: fridgeId, meal: mealId, ...c })), status: { on: true, ts: Date.now(), tc: f.temperatureC ?? undefined, door: f.door ?? undefined }, openOrders: f.openOrders });
  }

  /** Publishes one change event to every open stream. */
  publish(type: string, data: Record<string, unknown>): void {
    const seq = ++this.seq;
    const ev = { id: `${this.boot}-${seq}`, seq, type, data: JSON.stringify(data) };
    this.ring.push(ev);
    if (this.ring.length > 1000) this.ring.shift();
    for (const s of this.streams) s.write(`id: ${ev.id}\nevent: ${type}\ndata: ${ev.data}\n\n`);
  }

  /** `Last-Event-ID` headers received, in order (to check that clients resume). */
  readonly resumeIds: string[] = [];

  /** Cuts every open event stream (not the server), as a flaky proxy would. */
  dropStreams(): void {
    for (const s of this.streams) s.socket?.destroy();
    this.streams.clear();
  }

  /** A pickup that lowers T_eff below T (pickups newer than the snapshot). */
  pickup(venueId: string, fridgeId: string, mealId: string, qty: number): void {
    const f = this.venue(venueId).fridges.find((x) => x.fridgeId === fridgeId)!;
    const c = this.cell(venueId, fridgeId, mealId);
    c.Teff = Math.max(0, c.Teff - qty);
    // The reconciler's correction follows at once here: S = max(0, T_eff − R).
    c.S = Math.max(0, c.Teff - c.R);
    c.drift = c.Teff - (c.S + c.R);
    this.publish('fridge', { venueId, fridgeId, cells: f.cells.map(({ mealId: m, ...x }) => ({ fridge: fridgeId, meal: m, ...x })), status: null, openOrders: f.openOrders });
  }

  async start(port = this.port): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        res.writeHead(500).end(String(e));
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Stops abruptly, like a killed process: every socket is destroyed. A restart is a new boot. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.streams.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
    this.boot = Math.random().toString(16).slice(2, 10);
    this.seq = 0;
    this.ring.length = 0;
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-fridgesync-version': this.opts.version ?? '0.1.0' }).end(JSON.stringify(body));
  }

  private role(req: IncomingMessage): 'viewer' | 'app' | undefined {
    const auth = req.headers.authorization ?? '';
    const t = auth.startsWith('Bearer ') ? auth.slice(7) : new URL(req.url ?? '/', 'http://x').searchParams.get('token');
    return t === this.opts.viewerToken ? 'viewer' : t === this.opts.appToken ? 'app' : undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (path === '/dashboard') return void res.writeHead(302, { location: '/dashboard/' }).end();
    if (path.startsWith('/dashboard/')) return serveDashboardFile(path.slice('/dashboard/'.length), res);
    const role = this.role(req);
    if (role === undefined) return this.json(res, 401, { statusCode: 401, code: 'UNAUTHORIZED', message: 'missing or unknown bearer token' });
    if (req.method === 'GET' && path === '/v1/venues') {
      return this.json(res, 200, { venues: this.opts.venues.map((v) => ({ venueId: v.venueId, name: v.name, city: v.city, timezone: v.timezone })) });
    }
    const m = /^\/v1\/venues\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && m) {
      const v = this.opts.venues.find((x) => x.venueId === decodeURIComponent(m[1]!));
      return v ? this.json(res, 200, v) : this.json(res, 404, { statusCode: 404, code: 'VENUE_NOT_FOUND', message: 'no such venue' });
    }
    if (req.method === 'GET' && path === '/v1/events') return this.events(req, res);
    if (req.method === 'POST' && path === '/v1/orders' && role === 'app') return this.order(req, res);
    return this.json(res, 404, { statusCode: 404, code: 'NOT_FOUND', message: 'not found' });
  }

  private events(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': hello\n\n');
    const last = req.headers['last-event-id'];
    if (typeof last === 'string') {
      this.resumeIds.push(last);
      const [boot, seq] = last.split('-');
      if (boot !== this.boot) res.write(`id: ${this.boot}-${this.seq}\nevent: refetch\ndata: {}\n\n`);
      else for (const e of this.ring) if (e.seq > Number(seq)) res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${e.data}\n\n`);
    }
    this.streams.add(res);
    req.on('close', () => this.streams.delete(res));
  }

  private async order(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += String(chunk);
    const body = JSON.parse(raw) as { orderId: string; venueId: string; fridgeId: string; items: Array<{ mealId: string; qty: number }> };
    const f = this.venue(body.venueId).fridges.find((x) => x.fridgeId === body.fridgeId)!;
    for (const l of body.items) {
      const c = this.cell(body.venueId, body.fridgeId, l.mealId);
      if (c.S < l.qty) return this.json(res, 409, { statusCode: 409, code: 'SOLD_OUT', message: 'sold out here' });
    }
    for (const l of body.items) {
      const c = this.cell(body.venueId, body.fridgeId, l.mealId);
      c.S -= l.qty;
      c.R += l.qty;
    }
    f.openOrders++;
    const order = { orderId: body.orderId, fridgeId: body.fridgeId, items: body.items, state: 'reserved', holdUntil: new Date(Date.now() + 900_000).toISOString() };
    this.publish('fridge', { venueId: body.venueId, fridgeId: body.fridgeId, cells: f.cells.map(({ mealId, ...c }) => ({ fridge: body.fridgeId, meal: mealId, ...c })), status: null, openOrders: f.openOrders });
    return this.json(res, 201, { ...order, venueId: body.venueId, conflict: false, updatedAt: new Date().toISOString() });
  }
}

/** A small fleet: two cities, three venues, a few fridges and meals, one shortage, one hot fridge. */
export function sampleFleet(): FakeVenue[] {
  const now = Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  const cell = (mealId: string, T: number, R: number, gw: string, extra: Partial<FakeCell> = {}): FakeCell => {
    const S = Math.max(0, T - R);
    const central = S - Math.ceil(S * 0.2);
    return { mealId, T, Teff: T, R, S, drift: T - (S + R), shortage: Math.max(0, R - T), affectedOrders: [], rights: { [`gw:${gw}:1`]: S - central, 'central:c1': central }, unassignedRights: 0, centralRights: central, ...extra };
  };
  const fridge = (fridgeId: string, gw: string, cells: FakeCell[], extra: Partial<FakeFridge> = {}): FakeFridge => ({
    fridgeId,
    name: null,
    reconcilerGateway: gw,
    reconciler: `gw:${gw}:1`,
    online: true,
    lastSeenAt: iso(now - 4000),
    temperatureC: 3.4,
    temperatureAlarm: false,
    door: 'closed',
    lastSnapshotAt: iso(now - 4000),
    openOrders: cells.reduce((n, c) => n + c.R, 0),
    conflicts: [],
    cells,
    ...extra,
  });
  const gateway = (gatewayId: string, connected: boolean, lagMs: number | null): FakeGateway => ({ gatewayId, name: null, connected, replica: `gw:${gatewayId}:1`, connectedAt: iso(now - 3600_000), lastMessageAt: iso(now - (lagMs ?? 0)), lastDurableAckAt: iso(now - (lagMs ?? 0)), syncLagMs: lagMs, pendingDurable: 0 });
  return [
    {
      venueId: 'berlin-hq',
      name: 'Berlin HQ',
      city: 'Berlin',
      timezone: 'Europe/Berlin',
      gateways: [gateway('gw-berlin-1', true, 0)],
      fridges: [
        fridge('fr-b1', 'gw-berlin-1', [cell('bowl-teriyaki', 6, 1, 'gw-berlin-1'), cell('salad-caesar', 4, 0, 'gw-berlin-1'), cell('wrap-falafel', 2, 0, 'gw-berlin-1')]),
        fridge('fr-b2', 'gw-berlin-1', [cell('bowl-teriyaki', 1, 2, 'gw-berlin-1', { affectedOrders: ['ord-77'] }), cell('soup-tomato', 5, 0, 'gw-berlin-1')], { temperatureC: 7.2, temperatureAlarm: true, door: 'open' }),
      ],
      deliveries: [{ deliveryId: 'del-1', venueId: 'berlin-hq', fridgeId: 'fr-b1', announcedAt: iso(now - 60_000), status: 'incoming', items: [{ mealId: 'salad-caesar', announced: 6, observedTotal: null, before: 4, discrepancy: null }] }],
    },
    {
      venueId: 'berlin-gym',
      name: 'Berlin Gym Mitte',
      city: 'Berlin',
      timezone: 'Europe/Berlin',
      gateways: [{ ...gateway('gw-gym', false, 95_000) }],
      fridges: [fridge('fr-g1', 'gw-gym', [cell('bowl-teriyaki', 3, 0, 'gw-gym'), cell('shake-protein', 8, 0, 'gw-gym')], { online: false, lastSeenAt: iso(now - 310_000) })],
      deliveries: [{ deliveryId: 'del-2', venueId: 'berlin-gym', fridgeId: 'fr-g1', announcedAt: iso(now - 7200_000), status: 'observed', items: [{ mealId: 'shake-protein', announced: 10, observedTotal: 8, before: 0, discrepancy: -2 }] }],
    },
    {
      venueId: 'lisbon-campus',
      name: 'Lisbon Campus',
      city: 'Lisbon',
      timezone: 'Europe/Lisbon',
      gateways: [gateway('gw-lis-1', true, 0)],
      fridges: [fridge('fr-l1', 'gw-lis-1', [cell('bowl-teriyaki', 5, 0, 'gw-lis-1'), cell('salad-caesar', 3, 0, 'gw-lis-1')], { temperatureC: 4.6 })],
      deliveries: [],
    },
  ];
}

/** A generated fleet of `n` venues × 4 fridges × 12 meals, for load on the page. */
export function largeFleet(n: number): FakeVenue[] {
  const now = new Date().toISOString();
  return Array.from({ length: n }, (_, v) => {
    const gw = `gw${v}`;
    return {
      venueId: `v${v}`,
      name: `Venue ${v}`,
      city: `City ${v % 20}`,
      timezone: 'Europe/Berlin',
      gateways: [{ gatewayId: gw, name: null, connected: true, replica: `gw:${gw}:1`, connectedAt: now, lastMessageAt: now, lastDurableAckAt: now, syncLagMs: 0, pendingDurable: 0 }],
      fridges: Array.from({ length: 4 }, (_, f) => ({
        fridgeId: `v${v}-f${f}`,
        name: null,
        reconcilerGateway: gw,
        reconciler: `gw:${gw}:1`,
        online: true,
        lastSeenAt: now,
        temperatureC: 3,
        temperatureAlarm: false,
        door: 'closed' as const,
        lastSnapshotAt: now,
        openOrders: 0,
        conflicts: [],
        cells: Array.from({ length: 12 }, (_, m) => ({ mealId: `meal-${m}`, T: 5, Teff: 5, R: 0, S: 5, drift: 0, shortage: 0, affectedOrders: [], rights: { [`gw:${gw}:1`]: 1, 'central:c1': 4 }, unassignedRights: 0, centralRights: 4 })),
      })),
      deliveries: [],
    };
  });
}
