// Normalises central's JSON (GET /v1/venues, GET /v1/venues/{id}) into the view model the page
// renders. Central is the source of truth for every number; this only renames and defaults, so
// the page tolerates optional fields without guessing values.

import { toMs } from './format.js';

const num = (v, d = 0) => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const optNum = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const arr = (v) => (Array.isArray(v) ? v : v && typeof v === 'object' ? Object.values(v) : []);

/** Items as `[{mealId, qty}]` from either a list of lines or a `{meal: qty}` record. */
function lines(v) {
  if (Array.isArray(v)) return v.map((l) => (Array.isArray(l) ? { mealId: String(l[0]), qty: num(l[1]) } : { mealId: String(l.mealId ?? l.meal), qty: num(l.qty ?? l.quantity ?? l.announced) }));
  if (v && typeof v === 'object') return Object.entries(v).map(([mealId, qty]) => ({ mealId, qty: num(qty) }));
  return [];
}

/** One entry of `GET /v1/venues`. */
export function normaliseVenueSummary(v) {
  return {
    venueId: String(v.venueId ?? v.id),
    name: v.name ?? v.config?.name ?? String(v.venueId ?? v.id),
    city: v.city ?? v.config?.city ?? '—',
    timezone: v.timezone ?? v.timeZone ?? v.config?.timezone,
  };
}

/** The body of `GET /v1/venues` (an array or `{venues: [...]}`). */
export function normaliseVenueList(body) {
  const list = Array.isArray(body) ? body : arr(body?.venues ?? body?.items);
  return list.map(normaliseVenueSummary);
}

function normaliseCell(c) {
  const Teff = num(c.Teff ?? c.T_eff ?? c.tEff ?? c.T);
  const R = num(c.R);
  const S = num(c.S);
  return {
    mealId: String(c.mealId ?? c.meal),
    T: num(c.T),
    Teff,
    R,
    S,
    drift: num(c.drift, Teff - (S + R)),
    shortage: num(c.shortage, Math.max(0, R - Teff)),
    affectedOrders: arr(c.affectedOrders).map(String),
    rights: c.rights && typeof c.rights === 'object' ? (Array.isArray(c.rights) ? Object.fromEntries(c.rights.map((r) => [r.replica ?? r.replicaId, num(r.rights ?? r.qty)])) : c.rights) : {},
    unassigned: num(c.unassigned),
  };
}

function normaliseFridge(f, venue) {
  const st = f.status ?? {};
  const cfg = f.config ?? {};
  const snapshotAt = toMs(f.lastSnapshotAt ?? f.snapshotAt ?? f.snapshot?.ts);
  return {
    fridgeId: String(f.fridgeId ?? f.id),
    name: f.name ?? cfg.name,
    gatewayId: f.gatewayId ?? f.reconcilerGateway ?? cfg.reconciler ?? gatewayOfReplica(f.reconciler),
    reconciler: f.reconciler,
    online: Boolean(f.online ?? st.online ?? st.on ?? false),
    lastSeen: toMs(f.lastSeen ?? f.lastSeenAt ?? st.ts) ?? snapshotAt,
    temperatureC: optNum(f.temperatureC ?? st.temperatureC ?? st.tc),
    // Central flags the alarm against the fridge's configured threshold; the threshold itself is
    // optional in the JSON (5 °C is the config default).
    maxTemperatureC: optNum(f.maxTemperatureC ?? cfg.maxTemperatureC),
    temperatureAlarm: typeof f.temperatureAlarm === 'boolean' ? f.temperatureAlarm : undefined,
    door: f.door ?? st.door,
    firmware: f.firmware ?? st.firmware ?? st.fw,
    snapshotAt,
    cells: arr(f.cells ?? f.meals).map(normaliseCell).sort((a, b) => (a.mealId < b.mealId ? -1 : a.mealId > b.mealId ? 1 : 0)),
    openOrders: num(f.openOrders),
    conflicts: arr(f.conflicts).map(String),
    venueId: venue,
  };
}

function gatewayOfReplica(r) {
  if (typeof r !== 'string' || !r.startsWith('gw:')) return undefined;
  return r.split(':')[1];
}

/** A sync state in words: synced, syncing (updates not yet durable), disconnected, never connected. */
function syncState(g) {
  if (typeof g.state === 'string') return g.state;
  if (typeof g.syncState === 'string') return g.syncState;
  if (g.connected === true) return num(g.pendingDurable) > 0 ? `syncing (${g.pendingDurable} pending)` : 'synced';
  if (g.connected === false) return g.lastMessageAt || g.connectedAt ? 'disconnected' : 'never connected';
  return 'unknown';
}

function normaliseGateway(g, id) {
  return {
    gatewayId: String(g.gatewayId ?? g.id ?? id),
    name: g.name ?? undefined,
    replica: g.replica ?? g.replicaId ?? undefined,
    state: syncState(g),
    connected: typeof g.connected === 'boolean' ? g.connected : g.state ? !/offline|disconnected/.test(String(g.state)) : undefined,
    lagMs: optNum(g.lagMs ?? g.syncLagMs ?? g.lag),
    lastSeen: toMs(g.lastSeen ?? g.lastMessageAt ?? g.lastSeenAt ?? g.lastSyncAt),
    version: g.version ?? undefined,
    // The gateway's clock minus central's at its last handshake, and central's verdict on it.
    clockSkewMs: optNum(g.clockSkewMs),
    clockSkewAlert: g.clockSkewAlert === true,
    // Fridges assigned to this gateway that another replica reconciles (central's venue detail).
    reconcilerLost: arr(g.reconcilerLost).map((x) => ({ fridgeId: String(x.fridgeId), reconciler: x.reconciler ?? null })),
    // Increments central accepted and flagged: rights above stock, or not the fridge's reconciler.
    rightsFlagged: arr(g.rightsFlagged).map((x) => ({ fridgeId: String(x.fridgeId), mealId: String(x.mealId), code: String(x.code), replica: x.replica ?? null })),
  };
}

function normaliseOrder(o) {
  return {
    orderId: String(o.orderId ?? o.id),
    fridgeId: String(o.fridgeId ?? o.fridge ?? ''),
    items: lines(o.items ?? o.lines),
    state: String(o.state ?? 'reserved'),
    conflict: Boolean(o.conflict),
    // Kinds of conflict (`states`, `contents`) and, for `contents`, every version by its takers.
    conflicts: arr(o.conflicts).map(String),
    variants: arr(o.variants).map((v) => ({ takers: arr(v.takers).map(String), fridgeId: String(v.fridgeId ?? ''), items: lines(v.items) })),
    holdUntil: toMs(o.holdUntil),
    createdAt: toMs(o.createdAt),
    createdBy: o.createdBy,
  };
}

function normaliseDelivery(d) {
  // Central may list only delivery ids: announced, nothing known yet about their arrival.
  if (typeof d === 'string') return { deliveryId: d, fridgeId: '', items: [], state: 'announced', announcedAt: undefined, discrepancies: [], idOnly: true };
  return {
    deliveryId: String(d.deliveryId ?? d.id),
    fridgeId: String(d.fridgeId ?? d.fridge ?? ''),
    items: lines(d.items),
    state: String(d.state ?? d.status ?? 'incoming'),
    announcedAt: toMs(d.announcedAt ?? d.createdAt ?? d.at),
    // Either an explicit list/record, or per item `discrepancy` (observed − before − announced).
    discrepancies:
      d.discrepancies !== undefined || d.missing !== undefined
        ? lines(d.discrepancies ?? d.missing)
        : arr(d.items)
            .filter((l) => typeof l?.discrepancy === 'number' && l.discrepancy !== 0)
            .map((l) => ({ mealId: String(l.mealId), qty: l.discrepancy })),
  };
}

/** How long an arrived delivery stays on the page (with its discrepancy), ms: one day. */
export const RECENT_DELIVERY_MS = 24 * 3600 * 1000;

/** `GET /v1/kitchen/deliveries` → deliveries worth showing: incoming, or arrived within a day. */
export function normaliseDeliveries(body, now = Date.now()) {
  return arr(body?.deliveries ?? body)
    .map(normaliseDelivery)
    .filter((d) => /incoming|announced|pending/.test(d.state) || d.announcedAt === undefined || now - d.announcedAt < RECENT_DELIVERY_MS);
}

/** The body of `GET /v1/venues/{id}`. */
export function normaliseVenue(body) {
  const v = body?.venue && !body.fridges ? { ...body.venue, ...body } : body;
  const base = normaliseVenueSummary(v);
  const fridges = arr(v.fridges).map((f) => normaliseFridge(f, base.venueId));
  const gatewaysRaw = v.gateways ?? {};
  const gateways = Array.isArray(gatewaysRaw) ? gatewaysRaw.map((g) => normaliseGateway(g)) : Object.entries(gatewaysRaw).map(([id, g]) => normaliseGateway(g, id));
  // Gateways named only as reconcilers still deserve a row, with an unknown sync state.
  for (const f of fridges) {
    if (f.gatewayId && !gateways.some((g) => g.gatewayId === f.gatewayId)) gateways.push(normaliseGateway({ gatewayId: f.gatewayId, state: 'unknown' }));
  }
  const deliveriesRaw = v.deliveries ?? {};
  const deliveries = Array.isArray(deliveriesRaw)
    ? deliveriesRaw.map(normaliseDelivery)
    : [...arr(deliveriesRaw.incoming).map((d) => normaliseDelivery({ state: 'incoming', ...d })), ...arr(deliveriesRaw.discrepancies).map((d) => normaliseDelivery({ state: 'discrepancy', ...d }))];
  return {
    ...base,
    fridges,
    gateways: gateways.sort((a, b) => (a.gatewayId < b.gatewayId ? -1 : 1)),
    orders: arr(v.orders ?? v.openOrders).map(normaliseOrder),
    // Whether central listed the orders themselves (otherwise only per-fridge counts are known).
    ordersListed: Array.isArray(v.orders ?? v.openOrders),
    deliveries,
    version: v.version,
    fetchedAt: Date.now(),
  };
}

/** Problems worth an operator's attention in one venue, as stable keyed alerts. */
export function problemsOf(venue) {
  const out = [];
  for (const g of venue.gateways) {
    if (g.connected === false) out.push({ key: `gw-off:${venue.venueId}:${g.gatewayId}`, level: 'warn', text: `Gateway ${g.gatewayId} at ${venue.name} is not syncing` });
    if (g.clockSkewAlert) out.push({ key: `gw-clock:${venue.venueId}:${g.gatewayId}`, level: 'warn', text: `Gateway ${g.gatewayId} at ${venue.name}: clock off by ${Math.round((g.clockSkewMs ?? 0) / 1000)} s against central` });
    for (const l of g.reconcilerLost) {
      out.push({
        key: `rec-lost:${venue.venueId}:${g.gatewayId}:${l.fridgeId}`,
        level: 'bad',
        text: `Gateway ${g.gatewayId} at ${venue.name} is connected as ${g.replica ?? '?'} but fridge ${l.fridgeId} is reconciled by ${l.reconciler ?? 'no replica'} (another process with its id and token?)`,
      });
    }
    for (const x of g.rightsFlagged) {
      out.push({
        key: `rights-flag:${venue.venueId}:${g.gatewayId}:${x.fridgeId}:${x.mealId}`,
        level: 'warn',
        text: `${x.replica ?? g.gatewayId} created rights for ${x.mealId} in fridge ${x.fridgeId} at ${venue.name} ${x.code === 'OVER_STOCK' ? 'above any stock a snapshot reported' : 'without being its reconciler'} (after a partition this can be honest; otherwise a tampered gateway)`,
      });
    }
  }
  for (const o of venue.orders ?? []) {
    if (o.conflicts?.includes('contents')) out.push({ key: `dup:${o.orderId}`, level: 'warn', text: `Order ${o.orderId} at ${venue.name} was taken twice with different contents: ${variantsText(o)}` });
  }
  for (const f of venue.fridges) {
    if (!f.online) out.push({ key: `off:${f.fridgeId}`, level: 'warn', text: `Fridge ${f.fridgeId} at ${venue.name} is offline` });
    if (isHot(f)) out.push({ key: `temp:${f.fridgeId}`, level: 'bad', text: `Temperature alarm: fridge ${f.fridgeId} at ${venue.name} is at ${f.temperatureC?.toFixed(1) ?? '?'} °C${f.maxTemperatureC === undefined ? '' : ` (max ${f.maxTemperatureC} °C)`}` });
    for (const c of f.cells) {
      if (c.shortage > 0) out.push({ key: `short:${f.fridgeId}:${c.mealId}`, level: 'bad', text: `Shortage: ${c.shortage} × ${c.mealId} in fridge ${f.fridgeId} at ${venue.name} (${c.affectedOrders.length} order${c.affectedOrders.length === 1 ? "" : "s"} affected)` });
    }
  }
  for (const d of venue.deliveries) {
    if (d.discrepancies.length > 0 || /discrep/.test(d.state)) out.push({ key: `disc:${d.deliveryId}`, level: 'warn', text: `Delivery ${d.deliveryId} to ${d.fridgeId} has a discrepancy` });
  }
  return out;
}

/** Above its temperature threshold: central's flag when given, else the configured maximum. */
export function isHot(f) {
  if (f.temperatureAlarm !== undefined) return f.temperatureAlarm;
  return f.temperatureC !== undefined && f.temperatureC > (f.maxTemperatureC ?? 5);
}

/** True when a fridge needs attention (used by the "only problems" filter). */
export function fridgeHasProblem(f) {
  return !f.online || isHot(f) || f.cells.some((c) => c.shortage > 0 || c.drift !== 0);
}

/** "2 × m1 by central:c1; 1 × m1 by gw:g1:1": the versions of an order with a contents conflict. */
export function variantsText(o) {
  return (o.variants ?? []).map((v) => `${v.items.map((l) => `${l.qty} × ${l.mealId}`).join(', ')} by ${v.takers.join(', ')}`).join('; ');
}
