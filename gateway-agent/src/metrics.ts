/**
 * The agent's Prometheus metrics, one registry per agent (no module-level state, so tests can run
 * several agents in one process). Names follow `fridgesync_gateway_*`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ORDER_RESULTS } from '@fridgesync/shared';

/** Creates the metrics of one agent. */
export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  /** What the retained-messages gauge reads on each scrape (the embedded broker sets it). */
  let retained: () => Promise<number> = async () => 0;
  if (opts.defaultMetrics ?? false) collectDefaultMetrics({ register: registry, prefix: 'fridgesync_gateway_' });
  const m = {
    registry,
    /** Fridge messages ingested, by kind and outcome (applied, stale, duplicate, …). */
    ingested: new Counter({ name: 'fridgesync_gateway_ingested_total', help: 'Fridge messages ingested, by kind and outcome', labelNames: ['kind', 'outcome'] as const, registers: [registry] }),
    /** Pickups by what happened to their order (`unknown-order` and `already-settled` are reported). */
    pickupOrders: new Counter({ name: 'fridgesync_gateway_pickup_orders_total', help: 'Fridge pickups, by what happened to the order', labelNames: ['order'] as const, registers: [registry] }),
    /** Fridge messages dropped as bad input, by reason. */
    dropped: new Counter({ name: 'fridgesync_gateway_dropped_total', help: 'Bad fridge messages dropped, by reason', labelNames: ['reason'] as const, registers: [registry] }),
    /** Publish received → durable in the local store. */
    ingestSeconds: new Histogram({
      name: 'fridgesync_gateway_ingest_durable_seconds',
      help: 'Time from receiving a fridge message to its synced write',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    /**
     * MQTT connections, connects, publishes and subscribes refused, by reason: `credentials`,
     * `throttled-address` (an address over `maxAuthFailuresPerAddress`: its CONNECT, or its new
     * connection as it is accepted), `throttled-fridge` (a fridge id over `maxAuthFailuresPerFridge`,
     * from an address with failures), `legacy-busy` (scrypt verification queue full),
     * `pending-per-address` and `pending-evicted` (bounds on connections before CONNECT),
     * `max-connections`, `not-writable`, `acl-publish`, `acl-subscribe`, `acl-will`, `packet-size`,
     * `malformed` (a packet mqtt-packet cannot parse, or one breaking MQTT 3.1.1 that aedes closes
     * the connection for: not CONNECT first, a second CONNECT, an empty or wildcard PUBLISH topic).
     */
    refused: new Counter({ name: 'fridgesync_gateway_mqtt_refused_total', help: 'MQTT connections, connects, publishes and subscribes refused, by reason', labelNames: ['reason'] as const, registers: [registry] }),
    /**
     * scrypt verifications of fridge secrets run (older `scrypt$…` hashes in `mqtt.fridges`, 50–400
     * ms of a libuv thread each). A fridge's secret is verified once and then remembered: a count
     * that keeps rising means fridges with wrong secrets or guessing; migrate the hashes
     * (docs/operations.md "Fridge secrets").
     */
    legacyVerifications: new Counter({ name: 'fridgesync_gateway_mqtt_legacy_verifications_total', help: 'scrypt verifications of fridge secrets run (older hash format)', registers: [registry] }),
    /** Connections to the embedded broker that have not sent CONNECT yet (bounded by `maxPendingConnections`). */
    mqttPending: new Gauge({ name: 'fridgesync_gateway_mqtt_pending_connections', help: 'Embedded broker connections waiting for their CONNECT', registers: [registry] }),
    /** Retained messages the embedded broker holds (it keeps none: a non-zero value is a defect). */
    mqttRetained: new Gauge({
      name: 'fridgesync_gateway_mqtt_retained_messages',
      help: 'Retained messages held by the embedded broker',
      registers: [registry],
      async collect() {
        this.set(await retained());
      },
    }),
    /** Sets what {@link mqttRetained} reads (the embedded broker's store). */
    setRetainedSource(fn: () => Promise<number>): void {
      retained = fn;
    },
    /** Connected fridges. */
    fridgesConnected: new Gauge({ name: 'fridgesync_gateway_fridges_connected', help: 'Fridges connected to the embedded broker', registers: [registry] }),
    /** Local updates durable here but not yet acknowledged as durable by central. */
    pendingCentral: new Gauge({ name: 'fridgesync_gateway_updates_pending_central', help: 'Local updates not yet durable at central', registers: [registry] }),
    /** 1 while the sync connection to central is up and welcomed. */
    centralConnected: new Gauge({ name: 'fridgesync_gateway_central_connected', help: '1 when connected to central', registers: [registry] }),
    /** Fridges assigned to this gateway whose reconciler by the fold is another replica. */
    reconcilerLost: new Gauge({
      name: 'fridgesync_gateway_reconciler_lost',
      help: 'Fridges configured to this gateway that another replica reconciles (a later epoch of the same gateway id: a clone or a stolen token); alert when > 0',
      registers: [registry],
    }),
    /** 1 while central refuses this gateway (see central-refusal.ts). */
    centralRefused: new Gauge({
      name: 'fridgesync_gateway_central_refused',
      help: '1 while central refuses this gateway (token, gateway id, epoch or update refused; see /status sync.refusal; alert when 1)',
      registers: [registry],
    }),
    /** Stores rebuilt from central under a new epoch, by reason. */
    storeRebuilds: new Counter({ name: 'fridgesync_gateway_store_rebuilds_total', help: 'Local store rebuilt from central under a new epoch, by reason (lost-writes, foreign-writes, refused)', labelNames: ['reason'] as const, registers: [registry] }),
    /** Sync connection errors and central's closes, by reason. */
    syncErrors: new Counter({ name: 'fridgesync_gateway_sync_errors_total', help: 'Sync connection errors, by reason', labelNames: ['reason'] as const, registers: [registry] }),
    /** Reconciliation passes and what they did. */
    reconciled: new Counter({ name: 'fridgesync_gateway_reconcile_units_total', help: 'Units corrected or moved by the reconciler, by action', labelNames: ['action'] as const, registers: [registry] }),
    /** Kiosk order requests, by result (the labels central's `fridgesync_orders_total` uses). */
    orders: new Counter({ name: 'fridgesync_gateway_kiosk_orders_total', help: `Kiosk order requests, by result: ${[...ORDER_RESULTS, 'cancelled'].join(', ')}`, labelNames: ['result'] as const, registers: [registry] }),
    /** Commands sent to fridges. */
    commands: new Counter({ name: 'fridgesync_gateway_commands_total', help: 'Commands sent to fridges, by type', labelNames: ['type'] as const, registers: [registry] }),
    /** Central's clock minus this gateway's, seconds, as measured at the last sync handshake. */
    clockOffset: new Gauge({ name: 'fridgesync_gateway_clock_offset_seconds', help: "Central's clock minus this gateway's clock, measured at the last sync handshake", registers: [registry] }),
    /** Store size. */
    storeBytes: new Gauge({ name: 'fridgesync_gateway_store_bytes', help: 'Bytes in the local store (state plus appended updates)', registers: [registry] }),
  };
  return m;
}

/** The metrics of one agent. */
export type AgentMetrics = ReturnType<typeof createMetrics>;
