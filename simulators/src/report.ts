/**
 * The run report (`--report out.json`) and the summary table printed at the end.
 */
import type { CatalogCheckResult } from './catalog-check.ts';
import type { FleetSpec } from './fleet-spec.ts';
import type { OrderBook, OrderState } from './order-book.ts';
import type { OversellCheck, OversellViolation } from './oversell-check.ts';
import { formatDuration } from './schedule.ts';
import type { CounterName, LatencySummary, RunStats } from './stats.ts';

/** The JSON report of one run. `ok` is false when any client-side check failed. */
export interface FleetReport {
  version: 1;
  ok: boolean;
  runId: string;
  seed: string | number;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  fleet: { venues: number; fridges: number; meals: number };
  /** The load and fault settings of the run (no secrets, no tokens), to reproduce it. */
  settings: Record<string, unknown>;
  counters: Record<CounterName, number>;
  orders: Record<OrderState, number>;
  latencyMs: { publishAck: LatencySummary; order: LatencySummary };
  /** Most QoS 1 publishes one fridge had in flight at once. */
  inflightWindowPeak: number;
  checks: {
    oversell: { ok: boolean; checked: number; violationCount: number; violations: OversellViolation[] };
    catalog: CatalogCheckResult | { skipped: string };
  };
  faultEvents: Array<{ kind: string; venueId: string; at: string; endedAt: string | undefined }>;
  /** The newest error messages. */
  errors: string[];
}

/** Inputs of {@link buildReport}. */
export interface ReportInputs {
  runId: string;
  seed: string | number;
  startedAt: number;
  endedAt: number;
  fleet: FleetSpec;
  stats: RunStats;
  book: OrderBook;
  oversell: OversellCheck;
  windowPeak: number;
  faultEvents: FleetReport['faultEvents'];
  catalog: CatalogCheckResult | { skipped: string } | undefined;
  settings?: Record<string, unknown>;
}

/** Assembles the report from a run's parts. */
export function buildReport(i: ReportInputs): FleetReport {
  const catalog = i.catalog ?? { skipped: 'not run' };
  const oversellOk = i.oversell.violationCount === 0;
  const catalogOk = 'skipped' in catalog || catalog.ok;
  return {
    version: 1,
    ok: oversellOk && catalogOk,
    runId: i.runId,
    seed: i.seed,
    startedAt: new Date(i.startedAt || Date.now()).toISOString(),
    endedAt: new Date(i.endedAt).toISOString(),
    durationMs: i.startedAt ? i.endedAt - i.startedAt : 0,
    fleet: { venues: i.fleet.venues.length, fridges: i.fleet.venues.reduce((n, v) => n + v.fridges.length, 0), meals: i.fleet.meals.length },
    settings: i.settings ?? {},
    counters: { ...i.stats.counters },
    orders: i.book.countByState(),
    latencyMs: { publishAck: i.stats.publishAck.summary(), order: i.stats.order.summary() },
    inflightWindowPeak: i.windowPeak,
    checks: {
      oversell: { ok: oversellOk, checked: i.oversell.checked, violationCount: i.oversell.violationCount, violations: i.oversell.violations },
      catalog,
    },
    faultEvents: i.faultEvents,
    errors: [...i.stats.lastErrors],
  };
}

function table(rows: Array<[string, string]>): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n');
}

const lat = (l: LatencySummary) => (l.count === 0 ? '-' : `p50 ${l.p50} ms  p90 ${l.p90} ms  p99 ${l.p99} ms  max ${l.max} ms  (n=${l.count})`);

/** The summary table printed at the end of a run. */
export function formatSummary(r: FleetReport): string {
  const c = r.counters;
  const secs = Math.max(r.durationMs / 1_000, 0.001);
  const cat = r.checks.catalog;
  const catalogLine =
    'skipped' in cat ? `skipped (${cat.skipped})`
    : cat.ok ? `PASS  ${cat.checked} cells converged in ${formatDuration(cat.elapsedMs)}`
    : `FAIL  ${cat.mismatches.length} mismatches after ${formatDuration(cat.elapsedMs)}${cat.error ? ` — ${cat.error}` : ''}` +
      cat.mismatches.slice(0, 5).map((m) => `\n    ${m.fridgeId}/${m.mealId}: catalog ${m.actual ?? 'missing'}, expected ${m.expected.min === m.expected.max ? m.expected.min : `${m.expected.min}..${m.expected.max}`}`).join('');
  const ov = r.checks.oversell;
  const oversellLine = ov.ok
    ? `PASS  ${ov.checked} confirmations checked`
    : `FAIL  ${ov.violationCount} confirmations beyond physical stock` +
      ov.violations.slice(0, 5).map((v) => `\n    ${v.fridgeId}/${v.mealId}: ${v.netConfirmed} confirmed > ${v.bound} held (order ${v.orderId})`).join('');
  return [
    `fridgesync sim — run ${r.runId}, seed ${r.seed}, ${formatDuration(r.durationMs)}, ${r.fleet.venues} venues, ${r.fleet.fridges} fridges, ${r.fleet.meals} meals`,
    table([
      ['snapshots', `${c.inventoryPublished} (${(c.inventoryPublished / secs).toFixed(1)}/s, ${c.snapshotsCoalesced} coalesced)`],
      ['pickups published', String(c.pickupPublished)],
      ['publish→PUBACK', lat(r.latencyMs.publishAck)],
      ['publish errors', String(c.publishErrors)],
      ['MQTT (re)connects', `${c.mqttConnects} connects, ${c.mqttDisconnects} disconnects`],
      ['orders', `${c.ordersAttempted} sent (${(c.ordersAttempted / secs).toFixed(2)}/s): ${c.ordersConfirmed} confirmed, ${c.ordersSoldOut} sold out, ${c.ordersFailed} failed, ${c.ordersUnknown} unanswered, ${c.kioskOrders} via kiosk`],
      ['order latency', lat(r.latencyMs.order)],
      ['order fates', `${r.orders['picked-up']} picked up, ${r.orders.cancelled} cancelled, ${r.orders.expired} expired, ${r.orders.confirmed} still held, ${c.pickupShortages} short at pickup, ${c.unlocks} kiosk unlocks (${c.unlocksRefused} refused)`],
      ['walk-ins', `${c.walkIns} (${c.walkInsEmpty} found the fridge empty)`],
      ['kitchen', `${c.deliveries} deliveries, ${c.deliveryDiscrepancies} short of announced, ${c.deliveryAnnounceErrors} announce errors`],
      ['faults', `${c.duplicatesSent} duplicates, ${c.reorderedSent} reordered, ${c.reboots} reboots (${c.forgottenBoots} forgot boot), ${r.faultEvents.length} venue faults, ${c.faultHookErrors} hook errors`],
      ['replays answered 201', String(c.replayMismatches)],
      ['check: no oversell', oversellLine],
      ['check: catalog', catalogLine],
      ['result', r.ok ? 'OK' : 'FAILED'],
    ]),
  ].join('\n');
}
