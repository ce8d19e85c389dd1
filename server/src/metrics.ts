/**
 * Prometheus metrics of central (prom-client). One registry per app instance (no module-level
 * state, so tests can build many apps). Names start with `fridgesync_`, use base units (seconds,
 * bytes) and never carry order, user or token ids in labels.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ORDER_RESULTS, TRANSITION_RESULTS } from '@fridgesync/shared';

/** What the scrape-time gauges read from the event log's consumer groups. */
interface GroupStats {
  name: string;
  lag: number;
  dead: number;
}

/** What the scrape-time gauges read from each loaded venue document. */
interface HostStats {
  pending: number;
  peers: { size: number };
}

/** Creates the registry and every metric central exports. */
export function createMetrics() {
  const registry = new Registry();
  let hosts: () => HostStats[] = () => [];
  let groups: () => Promise<GroupStats[]> = async () => [];
  collectDefaultMetrics({ register: registry, prefix: 'fridgesync_process_' });
  const r = [registry];
  return {
    registry,
    httpRequests: new Counter({ name: 'fridgesync_http_requests_total', help: 'HTTP requests by route, method and status.', labelNames: ['route', 'method', 'status'], registers: r }),
    httpDuration: new Histogram({
      name: 'fridgesync_http_request_duration_seconds',
      help: 'HTTP request duration by route.',
      labelNames: ['route'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 2],
      registers: r,
    }),
    gatewayClockSkew: new Gauge({
      name: 'fridgesync_gateway_clock_skew_seconds',
      help: "A gateway's clock minus central's, measured at its last sync handshake (hello), by venue and gateway.",
      labelNames: ['venue', 'gateway'],
      registers: r,
    }),
    syncConnections: new Gauge({ name: 'fridgesync_sync_connections', help: 'Open sync websockets by role.', labelNames: ['role'], registers: r }),
    syncMessages: new Counter({ name: 'fridgesync_sync_messages_total', help: 'Sync messages received by type.', labelNames: ['type'], registers: r }),
    syncRejected: new Counter({ name: 'fridgesync_sync_rejected_updates_total', help: 'Updates refused by the validator, by reason code.', labelNames: ['code'], registers: r }),
    rightsFlagged: new Counter({
      name: 'fridgesync_rights_flagged_total',
      help: 'Increments accepted beyond what the sender should create, by venue and code: OVER_STOCK (rights above any stock a snapshot reported) or NOT_RECONCILER (docs/sync-protocol.md, "Rights creation beyond stock").',
      labelNames: ['venue', 'code'],
      registers: r,
    }),
    syncCloses: new Counter({ name: 'fridgesync_sync_closes_total', help: 'Sync sockets closed by central, by close code name.', labelNames: ['reason'], registers: r }),
    epochsAllocated: new Counter({
      name: 'fridgesync_epochs_allocated_total',
      help: 'Gateway epochs allocated to joining gateways, by the state of the gateway\'s previous epoch: none, retired, or live (it never retired itself: a lost store, or another process joining with the gateway\'s token; docs/operations.md "Trust").',
      labelNames: ['previous'],
      registers: r,
    }),
    syncRelayedBytes: new Counter({ name: 'fridgesync_sync_relayed_bytes_total', help: 'Bytes relayed to sync peers.', registers: r }),
    storageAppendSeconds: new Histogram({
      name: 'fridgesync_storage_append_duration_seconds',
      help: 'Time from handing an update to storage until it is durable.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: r,
    }),
    storageBatchUpdates: new Histogram({
      name: 'fridgesync_storage_batch_updates',
      help: 'Updates carried by one synced write (group commit).',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: r,
    }),
    storageSyncSeconds: new Histogram({
      name: 'fridgesync_storage_sync_duration_seconds',
      help: 'Duration of one synced batch write.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: r,
    }),
    storageAppendedBytes: new Counter({ name: 'fridgesync_storage_appended_bytes_total', help: 'Bytes of updates appended durably.', registers: r }),
    storageCompactions: new Counter({ name: 'fridgesync_storage_compactions_total', help: 'Venue logs merged into one update.', registers: r }),
    docsLoaded: new Gauge({ name: 'fridgesync_documents_loaded', help: 'Venue documents in memory.', registers: r }),
    docLoads: new Counter({ name: 'fridgesync_document_loads_total', help: 'Document loads by result.', labelNames: ['result'], registers: r }),
    orders: new Counter({ name: 'fridgesync_orders_total', help: `Order requests at central, by result: ${[...ORDER_RESULTS, ...TRANSITION_RESULTS].join(', ')}.`, labelNames: ['result'], registers: r }),
    holdsExpired: new Counter({ name: 'fridgesync_order_holds_expired_total', help: 'Holds expired by central.', registers: r }),
    sseClients: new Gauge({ name: 'fridgesync_sse_clients', help: 'Open /v1/events streams.', registers: r }),
    events: new Counter({ name: 'fridgesync_events_total', help: 'Change events published by type.', labelNames: ['type'], registers: r }),
    pendingUpdates: new Gauge({
      name: 'fridgesync_storage_pending_updates',
      help: 'Updates handed to storage and not yet durable (not yet acknowledged).',
      registers: r,
      collect() {
        this.set(hosts().reduce((n, h) => n + h.pending, 0));
      },
    }),
    eventLogAppended: new Counter({ name: 'fridgesync_event_log_appended_total', help: 'Domain facts appended to the event log, by kind (a fact derived again is not counted).', labelNames: ['kind'], registers: r }),
    eventLogPruned: new Counter({
      name: 'fridgesync_event_log_pruned_total',
      help: 'Events dropped by retention; acked="false" counts those some consumer group had not acknowledged (dropped past eventLog.retention.hardMaxEvents).',
      labelNames: ['acked'],
      registers: r,
    }),
    eventLogGroupLag: new Gauge({
      name: 'fridgesync_event_log_group_lag',
      help: 'Events a consumer group has not acknowledged yet (not yet claimed plus claimed and pending), by group.',
      labelNames: ['group'],
      registers: r,
      async collect() {
        this.reset();
        for (const g of await groups()) this.set({ group: g.name }, g.lag);
      },
    }),
    eventLogGroupDead: new Gauge({
      name: 'fridgesync_event_log_group_dead_letters',
      help: "Events on a consumer group's dead-letter list, by group.",
      labelNames: ['group'],
      registers: r,
      async collect() {
        this.reset();
        for (const g of await groups()) this.set({ group: g.name }, g.dead);
      },
    }),
    /** Sets the source of the consumer-group gauges (the event log). */
    observeGroups(source: () => Promise<GroupStats[]>): void {
      groups = source;
    },
    /** Sets the source of the scrape-time gauges (the loaded hosts). */
    observeHosts(source: () => HostStats[]): void {
      hosts = source;
    },
  };
}

/** The metrics of one app. */
export type Metrics = ReturnType<typeof createMetrics>;
