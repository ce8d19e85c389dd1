/**
 * The one ingest path for fridge messages, shared by the embedded broker and the external-broker
 * client. A message is parsed with the shared zod schemas, applied to the venue
 * document in one transaction (origin `mqtt`) and resolved only after that transaction's update is
 * durable in the local store; callers acknowledge (PUBACK) on resolve. Messages arriving in the same
 * event-loop turn share that transaction (see {@link TurnBatcher} below).
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
  ORIGINS,
  keys,
  parseFridgeTopic,
  plainInventory,
  recordPickup,
  recordSnapshots,
  recordStatus,
  statusFromPayload,
  statusFromTelemetry,
  writeSnapshot,
  type FridgeId,
  type InventoryPayload,
  type SnapshotOutcome,
  type PickupPayload,
  type StatusPayload,
  type TelemetryPayload,
  type StatusValue,
  type EntryWriter,
  type FridgeTopic,
} from '@fridgesync/shared';
import type { LocalReplica } from './local-replica.ts';
import { SnapshotIntake } from './snapshot-intake.ts';
import type { AgentMetrics } from './metrics.ts';

/**
 * What happened to one message. A snapshot taken in by the intake log is `accepted`: durable, and
 * written into the document within `snapshotFoldMs` (its `applied`/`stale` outcome is counted in
 * the `ingested` metric then).
 */
export type IngestResult =
  | { kind: 'inventory'; outcome: 'applied' | 'stale' | 'accepted' }
  | { kind: 'pickup'; outcome: 'recorded' | 'covered' | 'duplicate'; order: string }
  | { kind: 'status' | 'telemetry'; outcome: 'written' | 'rate-limited' | 'stale' }
  | { kind: 'dropped'; reason: DropReason };

/** Why a message was dropped. */
export type DropReason = 'topic' | 'fridge-mismatch' | 'not-inbound' | 'json' | 'schema';

/** Options of {@link Ingestor}. */
export interface IngestOptions {
  replica: LocalReplica;
  logger: Logger;
  metrics: AgentMetrics;
  topicPrefix: string;
  /** Least time between telemetry-driven presence writes of one fridge, ms. */
  presenceMinIntervalMs: number;
  seqResetGap: number;
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

/** What every snapshot taken in by the intake log resolves with (shared, so frozen). */
const ACCEPTED: IngestResult = Object.freeze({ kind: 'inventory', outcome: 'accepted' });

/** Most parsed topics remembered; beyond it the cache starts over. */
const MAX_TOPICS = 10_000;

/** Bound on remembered (fridge, reason) pairs for log-once; beyond it every drop is logged at debug. */
const MAX_LOGGED_DROPS = 10_000;

/** Parses and applies fridge messages. */
export class Ingestor {
  private readonly loggedDrops = new Set<string>();
  /** fridge → the presence this process last decided to write (bounded by the number of fridges). */
  private readonly presence = new Map<string, { on: boolean; door: string | undefined; at: number }>();
  private readonly now: () => number;
  private readonly turn: TurnBatcher;
  private readonly intake: SnapshotIntake | undefined;

  constructor(private readonly o: IngestOptions) {
    this.now = o.now ?? Date.now;
    this.turn = new TurnBatcher(o.replica);
    if (o.snapshotFoldMs > 0) {
      this.intake = new SnapshotIntake({
        replica: o.replica,
        logger: o.logger,
        metrics: o.metrics,
        foldMs: o.snapshotFoldMs,
        fold: (fridge, snapshot) => this.turn.add(fridge, (w) => writeSnapshot(w, fridge, snapshot)),
        now: o.now,
      });
    }
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
    this.presence.clear();
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
    if (t.kind === 'inventory' && this.intake !== undefined) {
      const durable = this.intake.accept(t.fridgeId, data as InventoryPayload, bytes, started);
      // One turn's snapshots share `durable`, and so the promise of their result.
      if (durable !== this.accepted?.durable) this.accepted = { durable, result: durable.then(() => ACCEPTED) };
      return this.accepted.result;
    }
    // Any other message of a fridge comes after its held snapshots (per-fridge order).
    this.intake?.release(t.fridgeId);
    return this.apply(t.fridgeId, t.kind, data).then((result) => {
      this.o.metrics.ingested.inc({ kind: result.kind, outcome: result.kind === 'dropped' ? result.reason : result.outcome });
      this.o.metrics.ingestSeconds.observe((performance.now() - started) / 1000);
      return result;
    });
  }
  /** The promise of the last intake turn's result (shared by that turn's snapshots). */
  private accepted: { durable: Promise<void>; result: Promise<IngestResult> } | undefined;

  /** {@link parseFridgeTopic}, remembered for valid topics (a fridge publishes on four). */
  private parseTopic(topic: string): FridgeTopic | undefined {
    let t = this.topics.get(topic);
    if (t === undefined) {
      t = parseFridgeTopic(this.o.topicPrefix, topic);
      if (t === undefined) return undefined;
      if (this.topics.size >= MAX_TOPICS) this.topics.clear();
      this.topics.set(topic, t);
    }
    return t;
  }
  private readonly topics = new Map<string, FridgeTopic>();

  private async apply(fridge: FridgeId, kind: 'inventory' | 'pickup' | 'status' | 'telemetry', p: unknown): Promise<IngestResult> {
    const r = this.o.replica;
    const gap = this.o.seqResetGap;
    switch (kind) {
      case 'inventory':
        return { kind, outcome: await this.turn.addSnapshot(fridge, p as InventoryPayload) };
      case 'pickup': {
        const pp = p as PickupPayload;
        const out = await this.turn.add(fridge, (w) => recordPickup(w, fridge, pp, this.now(), gap));
        this.o.metrics.pickupOrders.inc({ order: out.order });
        if (out.order !== 'settled') {
          // Pickups of unknown or already-settled orders are reported, never silently eaten.
          this.o.logger.warn({ fridge, orderId: pp.orderId, order: out.order, pickup: out.pickup }, 'pickup for an order that was not reserved');
        }
        return { kind, outcome: out.pickup, order: out.order };
      }
      case 'status': {
        // Status is retained and is the will: an online or door change is written at once; a
        // fridge repeating the same status is held to the presence interval like telemetry.
        const sp = p as StatusPayload;
        const last = this.presence.get(fridge);
        const now = this.now();
        const door = sp.door ?? last?.door;
        if (last !== undefined && last.on === sp.online && last.door === door && sp.firmware === undefined && now - last.at < this.o.presenceMinIntervalMs) {
          return { kind, outcome: 'rate-limited' };
        }
        const seen = { on: sp.online, door, at: now };
        this.presence.set(fridge, seen);
        if (sp.online && last?.on !== true) this.o.onOnline?.(fridge);
        const value = statusFromPayload(sp);
        // A will is composed when the fridge connects, so its timestamp is older than the status
        // and telemetry that followed; going offline is stamped with the time it is heard.
        if (!sp.online) value.ts = Math.max(value.ts, now);
        const written = await this.turn.add(fridge, (w) => recordStatus(w, fridge, value)).catch((e: unknown) => {
          // Not stored (the replica stopped writing): the fridge's next status counts as new.
          if (this.presence.get(fridge) === seen) this.presence.delete(fridge);
          throw e;
        });
        return { kind, outcome: written ? 'written' : 'stale' };
      }
      case 'telemetry': {
        const tp = p as TelemetryPayload;
        // Telemetry arrives every few seconds; writing each would bloat sync traffic. Only a state
        // change (online, door) or the refresh interval causes a write. Decided on what this
        // process last decided to write (messages of one turn are applied together).
        const last = this.presence.get(fridge);
        const now = this.now();
        if (last !== undefined && last.on && last.door === tp.door && now - last.at < this.o.presenceMinIntervalMs) return { kind, outcome: 'rate-limited' };
        this.presence.set(fridge, { on: true, door: tp.door, at: now });
        if (last?.on !== true) this.o.onOnline?.(fridge);
        const written = await this.turn.add(fridge, (w) => recordStatus(w, fridge, statusFromTelemetry(tp, r.replica === undefined ? undefined : (r.doc.get(r.replica, keys.status(fridge)) as StatusValue | undefined))));
        return { kind, outcome: written ? 'written' : 'stale' };
      }
    }
  }

  private drop(reason: DropReason, fridge: string, topic: string, detail?: string): Promise<IngestResult> {
    this.o.metrics.dropped.inc({ reason });
    const key = `${fridge}\u0000${reason}`;
    if (!this.loggedDrops.has(key) && this.loggedDrops.size < MAX_LOGGED_DROPS) {
      this.loggedDrops.add(key);
      this.o.logger.warn({ fridge, topic, reason, detail }, 'dropped a bad fridge message (logged once per fridge and reason)');
    } else {
      this.o.logger.debug({ fridge, topic, reason, detail }, 'dropped a bad fridge message');
    }
    return Promise.resolve({ kind: 'dropped', reason });
  }
}

interface Queued {
  fridge: string;
  /** A snapshot (applied with its fridge's neighbouring snapshots, see {@link TurnBatcher}), or any other write. */
  op: { snapshot: InventoryPayload } | { apply: (w: EntryWriter) => unknown };
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** What one round applies for one fridge: one message, or a run of its consecutive snapshots. */
type Unit = { fridge: string; snapshots: Queued[] } | { fridge: string; one: Queued };

/**
 * Applies the fridge messages that arrive in one event-loop turn (from any number of sockets)
 * together: one synced append and one PUBACK write per socket instead of one each, which is most
 * of the per-message cost under load.
 *
 * The shared operations read the folded index, which a transaction updates only when it ends, so
 * a fridge's second message must not share a transaction with its first. A turn's messages are
 * therefore split into rounds — round k holds the k-th message of every fridge, in arrival order —
 * and each round is one transaction; the rounds are written in the same synchronous block, so
 * group commit stores them with one fsync. Messages of different fridges never read each other's
 * entries, so sharing a round changes no outcome. Each fridge's PUBACKs keep the order of its
 * PUBLISHes (MQTT 3.1.1 §4.6): its rounds become durable in order.
 *
 * Consecutive snapshots of one fridge (a fridge sending faster than a turn, or flushing what it
 * queued while the gateway was away) count as one message: {@link recordSnapshots} gives each
 * its own outcome and writes only the newest, which the others would be overwritten by in the
 * same durable write anyway.
 */
class TurnBatcher {
  private queue: Queued[] = [];
  private scheduled = false;

  constructor(private readonly replica: LocalReplica) {}

  add<T>(fridge: string, apply: (w: EntryWriter) => T): Promise<T> {
    return this.enqueue<T>(fridge, { apply });
  }

  addSnapshot(fridge: FridgeId, snapshot: InventoryPayload): Promise<SnapshotOutcome> {
    return this.enqueue<SnapshotOutcome>(fridge, { snapshot });
  }

  private enqueue<T>(fridge: string, op: Queued['op']): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fridge, op, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    // A bounded turn: what is beyond the limit waits for the next one (in order).
    const items = this.queue.length <= MAX_PER_TURN ? this.queue : this.queue.slice(0, MAX_PER_TURN);
    this.queue = items === this.queue ? [] : this.queue.slice(MAX_PER_TURN);
    this.scheduled = this.queue.length > 0;
    if (this.scheduled) setImmediate(() => this.flush());
    const rounds: Unit[][] = [];
    /** fridge → its latest unit and that unit's round */
    const latest = new Map<string, { unit: Unit; round: number }>();
    for (const q of items) {
      const prev = latest.get(q.fridge);
      if ('snapshot' in q.op && prev !== undefined && 'snapshots' in prev.unit) {
        prev.unit.snapshots.push(q);
        continue;
      }
      const unit: Unit = 'snapshot' in q.op ? { fridge: q.fridge, snapshots: [q] } : { fridge: q.fridge, one: q };
      const round = prev === undefined ? 0 : prev.round + 1;
      latest.set(q.fridge, { unit, round });
      (rounds[round] ??= []).push(unit);
    }
    for (const round of rounds) this.write(round);
  }

  private write(units: Unit[]): void {
    const settled: Array<{ q: Queued; ok: true; v: unknown } | { q: Queued; ok: false; e: unknown }> = [];
    this.replica
      .write(ORIGINS.mqtt, (w) => {
        for (const u of units) {
          // One message's failure must not take the others down with it.
          if ('one' in u) {
            try {
              settled.push({ q: u.one, ok: true, v: (u.one.op as { apply: (w: EntryWriter) => unknown }).apply(w) });
            } catch (e) {
              settled.push({ q: u.one, ok: false, e });
            }
            continue;
          }
          try {
            const outcomes = recordSnapshots(w, u.fridge as FridgeId, u.snapshots.map((q) => (q.op as { snapshot: InventoryPayload }).snapshot));
            u.snapshots.forEach((q, i) => settled.push({ q, ok: true, v: outcomes[i] }));
          } catch (e) {
            for (const q of u.snapshots) settled.push({ q, ok: false, e });
          }
        }
      })
      .then(
        () => {
          for (const r of settled) {
            if (r.ok) r.q.resolve(r.v);
            else r.q.reject(r.e);
          }
        },
        (e: unknown) => units.forEach((u) => ('one' in u ? [u.one] : u.snapshots).forEach((q) => q.reject(e))),
      );
  }
}

/** Most messages applied in one event-loop turn (keeps a turn short under a flood). */
const MAX_PER_TURN = 2_000;
