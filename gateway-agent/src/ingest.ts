/**
 * The one ingest path for fridge messages, shared by the embedded broker and the external-broker
 * client: the router. A message's topic and sender are checked and its payload parsed with the
 * shared zod schemas, then it goes to its kind's handler (ingest-handler.ts), which applies it to
 * the venue document (origin `mqtt`) and resolves only once its effect is durable in the local
 * store; callers acknowledge (PUBACK) on resolve. Messages arriving in the same event-loop turn
 * share one transaction (turn-batcher.ts); snapshots may be taken in by the intake log instead
 * (snapshot-intake.ts).
 *
 * Bad input (unknown topic, fridge id ≠ authenticated client, non-JSON, schema violation) is
 * counted by `reason`, logged once per fridge and reason, and dropped; it never throws, so it can
 * neither crash the agent nor change state. A dropped message resolves as `dropped` and IS
 * acknowledged: MQTT 3.1.1 has no negative PUBACK, and refusing (closing the connection) would make
 * the fridge resend the same poison message forever, blocking every good message queued behind it.
 * Only a write that cannot be made durable rejects (the caller must then not acknowledge).
 */
import type { Logger } from 'pino';
import {
  INBOUND_SCHEMAS,
  parseFridgeTopic,
  plainInventory,
  type FridgeId,
  type FridgeTopic,
  type InventoryPayload,
  type PickupPayload,
  type StatusPayload,
  type TelemetryPayload,
} from '@fridgesync/shared';
import type { LocalReplica } from './local-replica.ts';
import type { AgentMetrics } from './metrics.ts';
import type { DropReason, IngestResult } from './ingest-handler.ts';
import { SnapshotIntake } from './snapshot-intake.ts';
import { TurnBatcher } from './turn-batcher.ts';
import { FridgePresence } from './fridge-presence.ts';
import { InventoryHandler } from './inventory-handler.ts';
import { PickupHandler } from './pickup-handler.ts';
import { StatusHandler } from './status-handler.ts';
import { TelemetryHandler } from './telemetry-handler.ts';

export type { DropReason, IngestResult } from './ingest-handler.ts';

/** Options of {@link Ingestor}. */
export interface IngestOptions {
  replica: LocalReplica;
  logger: Logger;
  metrics: AgentMetrics;
  topicPrefix: string;
  /** Least time between telemetry-driven presence writes of one fridge, ms. */
  presenceMinIntervalMs: number;
  /**
   * Least time between two folds of one fridge's snapshots into the document, ms; snapshots are
   * acknowledged once in the intake log (see snapshot-intake.ts). 0: each snapshot is written into
   * the document before it is acknowledged.
   */
  snapshotFoldMs: number;
  /** Called when a fridge comes online as far as this process knows (first heard, or after offline). */
  onOnline?: (fridge: FridgeId) => void;
  now?: () => number;
}

/** Most parsed topics remembered; beyond it the cache starts over. */
const MAX_TOPICS = 10_000;

/** Bound on remembered (fridge, reason) pairs for log-once; beyond it every drop is logged at debug. */
const MAX_LOGGED_DROPS = 10_000;

/** Parses fridge messages and routes them to their kind's handler. */
export class Ingestor {
  private readonly loggedDrops = new Set<string>();
  private readonly topics = new Map<string, FridgeTopic>();
  private readonly intake: SnapshotIntake | undefined;
  private readonly presence: FridgePresence;
  private readonly inventory: InventoryHandler;
  private readonly pickup: PickupHandler;
  private readonly status: StatusHandler;
  private readonly telemetry: TelemetryHandler;

  constructor(private readonly opts: IngestOptions) {
    const now = opts.now ?? Date.now;
    const { replica, logger, metrics } = opts;
    const batcher = new TurnBatcher(replica);
    this.intake = opts.snapshotFoldMs > 0 ? new SnapshotIntake({ replica, logger, metrics, foldMs: opts.snapshotFoldMs, batcher, now }) : undefined;
    this.presence = new FridgePresence({ minIntervalMs: opts.presenceMinIntervalMs, onOnline: opts.onOnline });
    this.inventory = new InventoryHandler({ batcher, intake: this.intake, metrics });
    this.pickup = new PickupHandler({ batcher, logger, metrics, now });
    this.status = new StatusHandler({ batcher, presence: this.presence, metrics, now });
    this.telemetry = new TelemetryHandler({ batcher, presence: this.presence, replica, metrics, now });
  }

  /** Snapshots acknowledged and not yet written into the document. */
  get heldSnapshots(): number {
    return this.intake?.pending ?? 0;
  }

  /** Writes every held snapshot into the document; resolves once durable (start-up replay, shutdown, tests). */
  async flush(): Promise<void> {
    await this.intake?.flush();
  }

  /** Forgets what each fridge last said about its presence: its next status counts as coming online (and triggers `onOnline`). */
  forgetPresence(): void {
    this.presence.forget();
  }

  /** Stops the intake's timers (shutdown, after {@link flush}). */
  stop(): void {
    this.intake?.stop();
  }

  /**
   * Ingests one message published by the authenticated fridge `clientId` (or, from an external
   * broker, by whoever the broker let publish: then `clientId` is `undefined` and the topic names
   * the fridge). Resolves when the effect is durable; rejects only when it cannot be made durable.
   * Snapshots taken in by the intake log in one turn share one promise (and one synced write).
   */
  ingest(clientId: string | undefined, topic: string, payload: Buffer | Uint8Array): Promise<IngestResult> {
    try {
      return this.take(clientId, topic, payload);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private take(clientId: string | undefined, topic: string, payload: Buffer | Uint8Array): Promise<IngestResult> {
    const started = performance.now();
    const t = this.parseTopic(topic);
    if (t === undefined) return this.drop('topic', clientId ?? '?', topic);
    if (clientId !== undefined && t.fridgeId !== clientId) return this.drop('fridge-mismatch', clientId, topic);
    if (t.kind === 'commands') return this.drop('not-inbound', t.fridgeId, topic);
    let json: unknown;
    const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      return this.drop('json', t.fridgeId, topic);
    }
    // A snapshot as fridges normally send it skips zod's machinery (plainInventory accepts only
    // what the schema accepts); anything else gets the schema and its reasons.
    let data: unknown = t.kind === 'inventory' ? plainInventory(json) : undefined;
    if (data === undefined) {
      const parsed = INBOUND_SCHEMAS[t.kind].safeParse(json);
      if (!parsed.success) return this.drop('schema', t.fridgeId, topic, parsed.error.issues[0]?.message);
      data = parsed.data;
    }
    const fridge = t.fridgeId;
    if (t.kind === 'inventory') return this.inventory.handle(fridge, data as InventoryPayload, bytes, started);
    // Any other message of a fridge comes after its held snapshots (per-fridge order).
    this.inventory.release(fridge);
    switch (t.kind) {
      case 'pickup':
        return this.pickup.handle(fridge, data as PickupPayload, bytes, started);
      case 'status':
        return this.status.handle(fridge, data as StatusPayload, bytes, started);
      case 'telemetry':
        return this.telemetry.handle(fridge, data as TelemetryPayload, bytes, started);
    }
  }

  /** {@link parseFridgeTopic}, remembered for valid topics (a fridge publishes on four). */
  private parseTopic(topic: string): FridgeTopic | undefined {
    let t = this.topics.get(topic);
    if (t === undefined) {
      t = parseFridgeTopic(this.opts.topicPrefix, topic);
      if (t === undefined) return undefined;
      if (this.topics.size >= MAX_TOPICS) this.topics.clear();
      this.topics.set(topic, t);
    }
    return t;
  }

  private drop(reason: DropReason, fridge: string, topic: string, detail?: string): Promise<IngestResult> {
    this.opts.metrics.dropped.inc({ reason });
    const key = `${fridge}\u0000${reason}`;
    if (!this.loggedDrops.has(key) && this.loggedDrops.size < MAX_LOGGED_DROPS) {
      this.loggedDrops.add(key);
      this.opts.logger.warn({ fridge, topic, reason, detail }, 'dropped a bad fridge message (logged once per fridge and reason)');
    } else {
      this.opts.logger.debug({ fridge, topic, reason, detail }, 'dropped a bad fridge message');
    }
    return Promise.resolve({ kind: 'dropped', reason });
  }
}
