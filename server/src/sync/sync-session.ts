/**
 * One websocket on `/sync/{venueId}` (docs/sync-protocol.md). The session decodes each message with
 * the shared codec, validates every `sync-step2`/`update` with `validateUpdate` before anything is
 * applied, and closes with a named code on the first violation. Persistence, durable-acks and relay
 * are the host's job (venue-host.ts): an accepted update is applied under this session's origin and
 * the host acknowledges it once durable, then relays it.
 */
import * as Y from 'yjs';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import {
  crashPoint,
  CLOSE_CODES,
  ProtocolError,
  allocateEpoch,
  epochAllocated,
  nextEpoch,
  ReplicaIdSchema,
  decodeMessage,
  encodeDurableAck,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeWelcome,
  isRetired,
  mayRetire,
  replicaParts,
  validateUpdate,
  type CloseCodeName,
  type GatewayId,
  type Hello,
  type Welcome,
  type ReplicaId,
  type RightsFlag,
  type TxOrigin,
} from '@fridgesync/shared';
import type { Principal } from '../auth.ts';
import { peerOrigin, type SyncPeer, type VenueHost } from '../venue-host.ts';
import type { Metrics } from '../metrics.ts';
import type { GatewayPresence } from './gateway-presence.ts';

/** Stand-in sender for read-only peers: no client ids, so any struct is refused. */
const READ_ONLY_SENDER = ReplicaIdSchema.parse('central:read-only');
/** Origin of central's epoch allocation records. */
const ALLOCATION: TxOrigin = { kind: 'lifecycle', peer: 'central' };
/** Messages kept while the document loads (bounded in count and, by `maxBufferedBytes`, in bytes). */
const MAX_QUEUED_BEFORE_READY = 64;

/** Limits of a session. */
export interface SessionLimits {
  preAuthMs: number;
  maxBufferedBytes: number;
  instanceId: string;
  version: string;
  /** Clock skew of a gateway beyond which central warns, ms (`sync.maxClockSkewMs`; default 30 000). */
  maxClockSkewMs?: number;
}

/** The protocol state of one sync socket. */
export class SyncSession implements SyncPeer {
  readonly id: string;
  private host: VenueHost | undefined;
  /** Frames received before the document was ready, with their arrival times (ms, central's clock). */
  private queued: Array<{ data: Uint8Array; at: number }> = [];
  private queuedBytes = 0;
  private closed = false;
  /** Set after an accepted hello; fridgesync app messages are sent only then. */
  private helloed = false;
  private upgraded = false;
  private replica: ReplicaId | undefined;
  private clients = new Set<number>();
  private preAuthTimer: NodeJS.Timeout | undefined;

  constructor(
    id: string,
    private readonly ws: WebSocket,
    private readonly principal: Principal,
    private readonly venueId: string,
    private readonly limits: SessionLimits,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly presence: GatewayPresence,
  ) {
    this.id = id;
    if (principal.role === 'gateway') {
      this.preAuthTimer = setTimeout(() => {
        if (!this.helloed) this.close('HANDSHAKE_TIMEOUT', 'no hello in time');
      }, limits.preAuthMs);
    }
  }

  /** Feeds one received frame (queued until the document is ready). */
  receive(data: Uint8Array): void {
    if (this.closed) return;
    // The arrival time, not the time the frame is handled: a hello queued behind a document load
    // would otherwise read the gateway's clock as behind by the load time (docs/operations.md "Clock skew").
    const at = Date.now();
    if (this.host === undefined) {
      this.queuedBytes += data.byteLength;
      if (this.queued.length >= MAX_QUEUED_BEFORE_READY || this.queuedBytes > this.limits.maxBufferedBytes) return this.close('HANDSHAKE_TIMEOUT', 'too much sent before the document was ready');
      this.queued.push({ data, at });
      return;
    }
    this.handle(data, at);
  }

  /** The document is loaded: register, send sync-step1, process what was queued. */
  ready(host: VenueHost): void {
    if (this.closed) return;
    this.host = host;
    host.peers.set(this.id, this);
    this.send(encodeSyncStep1(Y.encodeStateVector(host.doc.ydoc)));
    const q = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    for (const m of q) if (!this.closed) this.handle(m.data, m.at);
  }

  /** The socket closed (either side): unregister. */
  closedBySocket(): void {
    this.closed = true;
    clearTimeout(this.preAuthTimer);
    this.host?.peers.delete(this.id);
    if (this.replica !== undefined && this.host?.replicaPeers.get(this.replica) === this.id) this.host.replicaPeers.delete(this.replica);
    if (this.principal.gatewayId !== undefined && this.helloed) this.presence.disconnected(this.venueId, this.principal.gatewayId, this.id);
  }

  /** Closes with a named code. */
  close(name: CloseCodeName, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.metrics.syncCloses.inc({ reason: name });
    if (name !== 'NORMAL' && name !== 'GOING_AWAY') this.log.warn({ code: CLOSE_CODES[name], reason }, 'closing sync socket');
    this.closedBySocket();
    this.ws.close(CLOSE_CODES[name], reason.slice(0, 120));
    // A slow consumer may never drain the close frame: do not wait for it forever.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  /** Sends one message unless the peer is too far behind (then 4429). */
  send(message: Uint8Array): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    // One message larger than the bound may go out alone; a backlog beyond it is a slow consumer.
    if (this.ws.bufferedAmount > 0 && this.ws.bufferedAmount + message.byteLength > this.limits.maxBufferedBytes) return this.close('SLOW_CONSUMER', 'send buffer exceeded');
    this.ws.send(message);
    this.metrics.syncRelayedBytes.inc(message.byteLength);
  }

  /** An update from this peer is durable: send the durable-ack (only to fridgesync peers). */
  durable(stateVector: Uint8Array): void {
    crashPoint('central-before-durable-ack');
    if (this.helloed) this.send(encodeDurableAck(stateVector));
    if (this.principal.gatewayId !== undefined) this.presence.durable(this.venueId, this.principal.gatewayId);
  }

  private handle(data: Uint8Array, at: number): void {
    const host = this.host!;
    if (this.principal.gatewayId !== undefined && this.helloed) this.presence.seen(this.venueId, this.principal.gatewayId);
    let msg;
    try {
      msg = decodeMessage(data);
    } catch (e) {
      this.metrics.syncRejected.inc({ code: 'MALFORMED' });
      return this.close('UPDATE_REJECTED', e instanceof ProtocolError ? e.message : 'malformed message');
    }
    this.metrics.syncMessages.inc({ type: msg.type });
    if (this.principal.role === 'gateway' && !this.helloed && msg.type !== 'hello') return this.close('HANDSHAKE_TIMEOUT', 'a writer must send hello first');
    switch (msg.type) {
      case 'hello':
        return this.hello(host, msg.hello, at);
      case 'sync-step1': {
        // The diff is taken now but sent once everything in it is durable: a peer never holds
        // state central could lose in a crash (updates after this point are relayed when durable).
        const reply = encodeSyncStep2(Y.encodeStateAsUpdate(host.doc.ydoc, msg.stateVector));
        if (host.pending === 0) return this.send(reply);
        void host.whenDurable().then(
          () => this.send(reply),
          () => this.close('GOING_AWAY', 'storage failed'),
        );
        return;
      }
      case 'sync-step2':
      case 'update':
        return this.update(host, msg.update);
      default:
        // Awareness is not part of the venue state; acks and welcomes are central's to send.
        return;
    }
  }

  private hello(host: VenueHost, hello: Hello, at: number): void {
    const p = this.principal;
    // A connection says hello once, and may upgrade once: from joining (read-only) to its new
    // replica, or from a stale epoch to a later one of the same gateway (docs/sync-protocol.md §2).
    if (this.helloed) {
      if (this.upgraded) return this.close('UPDATE_REJECTED', 'only one hello upgrade per connection');
      this.upgraded = true;
    }
    if (hello.replica === undefined) {
      if (this.helloed || (p.role === 'gateway' && hello.joining !== true)) return this.close('UPDATE_REJECTED', 'unexpected hello');
      return this.welcome(host, hello, at);
    }
    if (p.role !== 'gateway') return this.close('UPDATE_REJECTED', `${p.role} tokens are read-only`);
    const parts = replicaParts(hello.replica);
    if (parts.kind !== 'gateway' || parts.gatewayId !== p.gatewayId) return this.close('UPDATE_REJECTED', `replica ${hello.replica} is not gateway ${p.gatewayId}`);
    if (this.replica !== undefined) {
      const prev = replicaParts(this.replica);
      if (prev.kind !== 'gateway' || parts.epoch <= prev.epoch) return this.close('UPDATE_REJECTED', 'a connection may only move to a later epoch');
    }
    if (isRetired(host.doc, hello.replica)) {
      // Name who retired it: a gateway retired by a later epoch of its own id it did not start
      // learns that another process joined with its token (docs/operations.md, "Trust").
      const by = [...(host.doc.index.retirements.get(hello.replica)?.keys() ?? [])].filter((a) => mayRetire(a as ReplicaId, hello.replica!));
      return this.close('REPLICA_RETIRED', `${hello.replica} is retired by ${by.join(', ')}`);
    }
    const other = host.replicaPeers.get(hello.replica);
    if (other !== undefined && other !== this.id) return this.close('DUPLICATE_REPLICA', `${hello.replica} is already connected`);
    for (const c of hello.clientIds) {
      const owner = host.doc.ownerOfClient(c);
      if (owner !== undefined && owner !== hello.replica) return this.close('UPDATE_REJECTED', `client ${c} belongs to ${owner}`);
    }
    const allocate = this.admission(host, hello.replica, parts.gatewayId, parts.epoch);
    if (allocate === false) return;
    if (this.replica !== undefined && host.replicaPeers.get(this.replica) === this.id) host.replicaPeers.delete(this.replica);
    this.replica = hello.replica;
    this.clients = new Set(hello.clientIds);
    host.replicaPeers.set(hello.replica, this.id);
    if (!allocate) return this.welcome(host, hello, at);
    // The allocation record is written in central's own structures and durable before the welcome:
    // a crash after the welcome can never forget an epoch a gateway was told it owns. Updates the
    // peer sends meanwhile are validated against the document that already holds the record.
    const previous = this.previousEpoch(host, parts.gatewayId, parts.epoch);
    host.doc.transact(ALLOCATION, (w) => allocateEpoch(w, parts.gatewayId, parts.epoch, Date.now()));
    this.metrics.epochsAllocated.inc({ previous: previous.state });
    if (previous.state === 'live') {
      // The join will retire a replica that never retired itself: a wiped or restored store, or
      // another process holding this gateway's token (docs/operations.md, "Trust").
      this.log.warn(
        { replica: hello.replica, previous: previous.replica },
        `allocated ${hello.replica} while ${previous.replica} had not retired: the gateway lost its store, or another process joined with this gateway's token`,
      );
    } else {
      this.log.info({ replica: hello.replica, previous: previous.replica }, 'allocated a new gateway epoch');
    }
    void host.whenDurable().then(
      () => this.welcome(host, hello, at),
      () => this.close('GOING_AWAY', 'storage failed'),
    );
  }

  /**
   * Central accepts a gateway replica only at an epoch it allocated (docs/sync-protocol.md, "Epoch
   * allocation"). Returns `true` when this hello allocates the epoch (the upgrade of a joined
   * connection to an epoch no one has used), `undefined` when the replica is admitted as it is,
   * `false` when the connection was closed.
   */
  private admission(host: VenueHost, replica: ReplicaId, gatewayId: GatewayId, epoch: number): boolean | undefined {
    const doc = host.doc;
    // Replicas the document knows from before allocation records existed stay admitted, so an
    // existing deployment keeps syncing across the upgrade of central.
    const known = epochAllocated(doc, gatewayId, epoch) || doc.index.replicaEntryCount.has(replica) || doc.clientsOf(replica).size > 0;
    // Only the one upgrade of an admitted connection allocates: after a join (read-only, with the
    // full state, so the peer computed the epoch from what central has) or from a stale epoch. It
    // allocates exactly the next epoch: a token that could take any larger one could take the
    // largest, after which the real gateway's next epoch would not parse.
    // The next epoch walks the document: worked out only for a replica it does not know.
    const next = known ? undefined : nextEpoch(doc, gatewayId);
    if (!known && (!this.helloed || epoch !== next)) {
      this.close('EPOCH_NOT_ALLOCATED', `epoch ${epoch} of gateway ${gatewayId} was never allocated (the next is ${next}); a new epoch is taken only by joining`);
      return false;
    }
    // A later epoch may not start while an earlier live replica of the gateway is connected: the
    // fold would hand it that gateway's fridges (docs/sync-protocol.md, "Epoch allocation"). This holds for allocated epochs too,
    // so an epoch allocated to a join that never wrote cannot be used to bypass it later.
    for (const [r, peer] of host.replicaPeers) {
      if (peer === this.id || !r.startsWith(`gw:${gatewayId}:`) || isRetired(doc, r)) continue;
      const other = replicaParts(r);
      if (other.kind !== 'gateway' || other.epoch >= epoch) continue;
      this.close('GATEWAY_CONNECTED', `gateway ${gatewayId} is connected as ${r}; a later epoch is admitted only while no earlier live replica of it is connected`);
      return false;
    }
    return known ? undefined : true;
  }

  /** The gateway's clock minus central's, from the time its hello carries and the hello's arrival time (docs/operations.md "Clock skew"). */
  private measureClock(gatewayId: string, gatewayNow: number, at: number): void {
    const skewMs = gatewayNow - at;
    this.presence.clock(this.venueId, gatewayId, skewMs);
    this.metrics.gatewayClockSkew.set({ venue: this.venueId, gateway: gatewayId }, skewMs / 1000);
    const max = this.limits.maxClockSkewMs ?? 30_000;
    if (Math.abs(skewMs) > max) {
      this.log.warn({ gateway: gatewayId, skewMs, maxClockSkewMs: max }, "gateway clock skewed beyond sync.maxClockSkewMs: fix its time sync (holds are still judged by the clock of the replica that took each order)");
    }
  }

  /**
   * The gateway's latest epoch below `epoch` the document knows of (entries, retirements or an
   * allocation record), and whether it is retired (by itself on shutdown, by an operator or a
   * successor) or live: a join retiring a live epoch is worth a warning.
   */
  private previousEpoch(host: VenueHost, gatewayId: GatewayId, epoch: number): { state: 'none' | 'retired' | 'live'; replica: ReplicaId | undefined } {
    const prev = nextEpoch(host.doc, gatewayId) - 1;
    if (prev < 1 || prev >= epoch) return { state: 'none', replica: undefined };
    const replica = ReplicaIdSchema.parse(`gw:${gatewayId}:${prev}`);
    return { state: isRetired(host.doc, replica) ? 'retired' : 'live', replica };
  }

  /**
   * Accepts a hello. Only here, after every check, does its clock count: a hello refused (another
   * connection holds the replica, a foreign epoch) must not overwrite the measurement of the
   * gateway that is connected. A joining hello is read-only and measures nothing; the same
   * connection's upgrade hello does.
   */
  private welcome(host: VenueHost, hello: Hello, at: number): void {
    this.helloed = true;
    clearTimeout(this.preAuthTimer);
    const gatewayId = this.principal.gatewayId;
    if (gatewayId !== undefined) this.presence.connected(this.venueId, gatewayId, this.id, this.replica);
    if (gatewayId !== undefined && this.replica !== undefined && hello.now !== undefined) this.measureClock(gatewayId, hello.now, at);
    // `now` only to a peer that sent one: a gateway older than the field refuses unknown keys
    // (docs/sync-protocol.md "Compatibility").
    const welcome: Welcome = { venueId: host.venueId, instance: this.limits.instanceId, version: this.limits.version };
    if (hello.now !== undefined) welcome.now = Date.now();
    this.send(encodeWelcome(welcome));
  }

  private update(host: VenueHost, update: Uint8Array): void {
    const doc = host.doc;
    const stateVector = () => Y.encodeStateVector(doc.ydoc);
    if (this.replica === undefined) {
      // Read-only peers may send only updates that change nothing (an empty diff, known deletions).
      const v = validateUpdate(doc, update, { replica: READ_ONLY_SENDER, clients: new Set() });
      if (!v.ok) return this.reject(v.code, v.reason);
      if (this.helloed) void host.whenDurable().then(() => this.durable(stateVector()), () => undefined);
      return;
    }
    const clients = new Set([...this.clients, ...doc.clientsOf(this.replica)]);
    const v = validateUpdate(doc, update, { replica: this.replica, clients });
    if (!v.ok) return this.reject(v.code, v.reason);
    const before = host.appendSeq;
    doc.applyUpdate(update, peerOrigin(this.id));
    if (v.flags.length > 0) this.flagged(host, v.flags);
    // Nothing new (a replay): acknowledge once what is already stored is durable.
    if (host.appendSeq === before) {
      const sv = stateVector();
      void host.whenDurable().then(() => this.durable(sv), () => undefined);
    }
  }

  /**
   * Increments accepted beyond what central expects of this replica (docs/sync-protocol.md, "Rights
   * creation beyond stock"): accepted, because an honest gateway sends them after a partition and a
   * refusal would stop it syncing; counted, logged and listed in the venue detail, because a
   * gateway token can send them to mint stock. Central's own order taking never reserves beyond
   * what the fridge holds as central sees it, so such rights do not become oversold orders here.
   */
  private flagged(host: VenueHost, flags: RightsFlag[]): void {
    const gatewayId = this.principal.gatewayId;
    for (const f of flags) {
      this.metrics.rightsFlagged.inc({ venue: host.venueId, code: f.code });
      this.log.warn({ code: f.code, replica: this.replica, fridge: f.fridge, meal: f.meal, reason: f.reason }, 'increment accepted beyond what this replica should create: rights above stock, or not the reconciler');
      if (gatewayId !== undefined) this.presence.flagged(host.venueId, gatewayId, { fridgeId: f.fridge, mealId: f.meal, code: f.code, replica: this.replica!, reason: f.reason });
    }
  }

  private reject(code: string, reason: string): void {
    this.metrics.syncRejected.inc({ code });
    this.log.warn({ code, reason, replica: this.replica }, 'update rejected');
    this.close('UPDATE_REJECTED', `${code}: ${reason}`);
  }
}
