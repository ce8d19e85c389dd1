/**
 * `createAgent(config, deps)`: wires one gateway agent from a validated config — the local replica
 * over its store, the ingest path, the broker (embedded or external), the reconciler, the sync
 * client and the HTTP port — and returns it running. Tests start it with port 0 and temp dirs;
 * `main.ts` adds argv, environment and signals.
 */
import pino, { type Logger } from 'pino';
import type { AddressInfo } from 'node:net';
import {
  CLOSE_CODES,
  RecallBackoff,
  fridgeStatus,
  rightsHeld,
  type FridgeId,
  type GatewayId,
  type VenueId,
} from '@fridgesync/shared';
import type { GatewayConfig } from './config-schema.ts';
import { openLevelStore } from './level-store.ts';
import { openLocalReplica, type LocalReplica } from './local-replica.ts';
import type { ReplicaStore } from './replica-store.ts';
import { createMetrics, type AgentMetrics } from './metrics.ts';
import { Ingestor } from './ingest.ts';
import { EmbeddedBroker } from './embedded-broker.ts';
import { ExternalBroker } from './external-broker.ts';
import type { FridgeBroker } from './fridge-broker.ts';
import { ReconcileLoop } from './reconcile-loop.ts';
import { SyncClient } from './sync-client.ts';
import { ClockSkew, type ClockSkewStatus } from './clock-skew.ts';
import { buildHttpApi } from './http-api.ts';
import { TotalsRequests } from './totals-requests.ts';

/** The agent's software version (reported in `hello`, `meta` and `/status`). */
export const AGENT_VERSION = '0.1.0';

/** Injected dependencies; all optional. */
export interface AgentDeps {
  logger?: Logger;
  /** A store to use instead of LevelDB in `config.storage.dataDir` (tests: MemoryStore). */
  store?: ReplicaStore;
  now?: () => number;
  /** Register process-wide default metrics (main only). */
  defaultMetrics?: boolean;
}

/** A running agent. */
export interface Agent {
  readonly replica: LocalReplica;
  readonly metrics: AgentMetrics;
  readonly broker: FridgeBroker;
  readonly reconciler: ReconcileLoop;
  readonly sync: SyncClient | undefined;
  /** Port of the embedded broker (undefined in external mode). */
  readonly mqttPort: number | undefined;
  readonly httpPort: number;
  /** The `/status` document. */
  status(): AgentStatus;
  /** Resolves with the error when a fatal failure (store write) happened; the caller should exit. */
  readonly fatal: Promise<Error>;
  /** Graceful shutdown: stop accepting, flush, retire (per config), close sockets and store. */
  close(): Promise<void>;
}

/** What `/status` returns. */
export interface AgentStatus {
  gatewayId: GatewayId;
  venueId: VenueId;
  version: string;
  replica: string | undefined;
  epoch: number | undefined;
  lifecycle: string;
  /** Why `/readyz` answers 503 (empty when ready). */
  notReady: string[];
  broker: ReturnType<FridgeBroker['status']>;
  fridgesOnline: number;
  fridgesReconciled: string[];
  /** Fridges configured to this gateway that another replica reconciles (see ReconcileLoop.lost). */
  reconcilerLost: Array<{ fridgeId: string; reconciler: string | null }>;
  sync: ReturnType<SyncClient['status']> | { state: 'disabled' };
  /** Central's clock against this gateway's, measured at the last sync handshake. */
  clockSkew: ClockSkewStatus;
  pendingUpdates: number;
  store: { updates: number; bytes: number; pendingWrites: number };
  rightsHeld: Record<string, Record<string, number>>;
  /** The last rebuild of the store from central (local-replica.ts `rebuild`), if any. */
  recovery: LocalReplica['recovery'];
}

/** Creates and starts an agent. Throws (after releasing what it opened) when any part fails to start. */
export async function createAgent(config: GatewayConfig, deps: AgentDeps = {}): Promise<Agent> {
  const logger = (deps.logger ?? pino({ level: config.logLevel })).child({ venue: config.venueId, gateway: config.gatewayId });
  const metrics = createMetrics({ defaultMetrics: deps.defaultMetrics ?? false });
  const now = deps.now ?? Date.now;
  const store = deps.store ?? (await openLevelStore(config.storage.dataDir, { maxBatch: config.storage.maxBatch }));
  const opened: Array<() => Promise<unknown>> = [() => store.close()];
  const cleanup = async () => {
    for (const c of opened.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    const replica = await openLocalReplica({
      gatewayId: config.gatewayId,
      venueId: config.venueId,
      store,
      logger,
      version: AGENT_VERSION,
      compactEveryUpdates: config.storage.compactEveryUpdates,
      now,
    });
    const fatal = new Promise<Error>((resolve) => replica.once('fatal', resolve));
    const ingestor = new Ingestor({
      replica,
      logger: logger.child({ part: 'ingest' }),
      metrics,
      topicPrefix: config.mqtt.topicPrefix,
      presenceMinIntervalMs: config.presence.minIntervalMs,
      snapshotFoldMs: config.storage.snapshotFoldMs,
      // Bound below, once the broker exists (the broker takes the ingestor).
      onOnline: config.presence.resendInventoryOnConnect ? (fridge) => void totals.ask(fridge) : undefined,
      now,
    });
    opened.push(async () => ingestor.stop());
    // Snapshots acknowledged by an earlier process and left in the intake log are in the document
    // before anything is served (when the replica may write; otherwise once it may).
    await ingestor.flush();
    const brokerOpts = { config: config.mqtt, ingestor, logger: logger.child({ part: 'mqtt' }), metrics, writable: () => replica.writable };
    const broker: FridgeBroker = config.mqtt.mode === 'embedded' ? new EmbeddedBroker(brokerOpts) : new ExternalBroker({ ...brokerOpts, gatewayId: config.gatewayId });
    const totals = new TotalsRequests({ replica, broker, logger, metrics });
    replica.on('reset', () => ingestor.forgetPresence());
    replica.on('recovered', (rec) => {
      if (rec.problems.length > 0) logger.error({ problems: rec.problems }, 'store rebuilt: some acknowledged entries could not be written again (see /status recovery)');
      totals.afterRebuild();
    });
    // Nothing is taken in while the replica cannot write (fridge-broker.ts `writableChanged`).
    replica.on('state', (s) => broker.writableChanged(s === 'active'));
    const clock = new ClockSkew({
      gatewayId: config.gatewayId,
      maxSkewMs: config.central.maxClockSkewMs,
      unknownGraceMs: config.reconcile.unknownClockGraceMs,
      centralGraceMs: config.reconcile.centralClockGraceMs,
      logger: logger.child({ part: 'clock' }),
      metrics,
      now,
    });
    const reconciler = new ReconcileLoop({
      replica,
      logger: logger.child({ part: 'reconcile' }),
      metrics,
      policy: { takerShare: config.reconcile.takerShare },
      backoff: new RecallBackoff(config.reconcile.recallPauseMs, config.reconcile.recallPauseMaxMs),
      debounceMs: config.reconcile.debounceMs,
      sweepIntervalMs: config.reconcile.sweepIntervalMs,
      orderRetentionMs: config.reconcile.orderRetentionMs,
      clocks: () => clock.takerClocks(),
      now,
    });
    reconciler.start();
    opened.push(async () => reconciler.stop());
    // Registered before start: a broker that fails half-way (port taken) still holds aedes and
    // its timers, which would keep the process alive after it reported the failure.
    opened.push(() => broker.close());
    await broker.start();
    let sync: SyncClient | undefined;
    if (config.central.url !== undefined && config.central.token !== undefined) {
      sync = new SyncClient({
        url: config.central.url,
        token: config.central.token,
        gatewayId: config.gatewayId,
        venueId: config.venueId,
        replica,
        logger: logger.child({ part: 'sync' }),
        metrics,
        version: AGENT_VERSION,
        backoffMinMs: config.central.backoffMinMs,
        backoffMaxMs: config.central.backoffMaxMs,
        maxMessageBytes: config.central.maxMessageBytes,
        connectTimeoutMs: config.central.connectTimeoutMs,
        syncTimeoutMs: config.central.syncTimeoutMs,
        pingIntervalMs: config.central.pingIntervalMs,
        clock,
        now,
      });
      sync.start();
      const s = sync;
      opened.push(() => s.close(CLOSE_CODES.GOING_AWAY));
    } else if (replica.state === 'joining') {
      logger.warn('no central configured and the store has no epoch yet: the replica cannot write until it syncs with central');
    }

    /**
     * Why the agent is not ready (empty: ready). A gateway central refuses is not ready even with a
     * writable replica: it would take orders and stock that never reach central
     * (docs/operations.md, "Troubleshooting").
     */
    const notReady = (): string[] => {
      const why: string[] = [];
      if (!replica.writable) why.push(`replica is ${replica.state}`);
      if (!broker.status().up) why.push('fridge broker is down');
      const refusal = sync?.refusal;
      if (refusal !== undefined) why.push(`central refuses this gateway since ${refusal.since}: ${refusal.reason}`);
      return why;
    };

    const status = (): AgentStatus => {
      const doc = replica.doc;
      let online = 0;
      for (const f of doc.index.status.keys()) if (fridgeStatus(doc, f as FridgeId)?.on === true) online++;
      const self = replica.replica;
      const size = store.size();
      metrics.storeBytes.set(size.bytes);
      return {
        gatewayId: config.gatewayId,
        venueId: config.venueId,
        version: AGENT_VERSION,
        replica: replica.replica,
        epoch: replica.epoch,
        lifecycle: replica.state,
        notReady: notReady(),
        broker: broker.status(),
        fridgesOnline: online,
        fridgesReconciled: reconciler.assigned(),
        reconcilerLost: reconciler.lost(),
        sync: sync?.status() ?? { state: 'disabled' },
        clockSkew: clock.status(),
        pendingUpdates: sync?.pendingCentral() ?? 0,
        store: { ...size, pendingWrites: store.pending() },
        rightsHeld: self === undefined ? {} : rightsHeld(doc, self),
        recovery: replica.recovery,
      };
    };

    const app = await buildHttpApi({
      venueId: config.venueId,
      replica,
      metrics,
      bodyLimitBytes: config.http.bodyLimitBytes,
      status,
      notReady,
      commands: broker,
      kioskToken: config.http.kioskToken,
      metricsToken: config.http.metricsToken,
      logger: logger.child({ part: 'http' }),
      version: AGENT_VERSION,
      now,
    });
    opened.push(() => app.close());
    await app.listen({ host: config.http.host, port: config.http.port });
    const httpPort = (app.server.address() as AddressInfo).port;
    logger.info({ http: `${config.http.host}:${httpPort}`, replica: replica.replica, lifecycle: replica.state }, 'gateway agent started');

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        logger.info('shutting down');
        totals.stop();
        // 1. Stop taking new work: no new fridge messages (in-flight ones finish), no new orders.
        await broker.close().catch((e: unknown) => logger.warn({ err: e }, 'broker close failed'));
        await app.close().catch(() => undefined);
        // Held snapshots into the document (what cannot be written stays in the intake log).
        await ingestor.flush();
        ingestor.stop();
        reconciler.stop();
        await reconciler.idle();
        // 2. Retire (docs/design.md "Replica lifecycle") and let central store it, within the grace period.
        const online = sync?.state === 'synced';
        const retire = config.shutdown.retire === 'always' || (config.shutdown.retire === 'when-online' && online);
        if (retire && replica.writable) {
          await replica.retireSelf().catch((e: unknown) => logger.warn({ err: e }, 'could not retire'));
        }
        if (sync !== undefined && online) await sync.drained(Math.min(3_000, config.shutdown.graceMs / 2));
        await sync?.close(CLOSE_CODES.GOING_AWAY);
        // 3. Flush and release the store (and its lock).
        await replica.close();
        opened.length = 0;
        logger.info('stopped');
      })());

    return {
      replica,
      metrics,
      broker,
      reconciler,
      sync,
      mqttPort: broker.port,
      httpPort,
      status,
      fatal,
      close,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
