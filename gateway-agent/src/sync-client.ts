/**
 * The gateway's sync client to central, speaking docs/sync-protocol.md over `ws`.
 *
 * Why not y-websocket's `WebsocketProvider`: it cannot set an `Authorization` header (only URL
 * params, which end up in proxy logs), it has no hook to send `hello` before its own sync-step1 or
 * to re-hello on the same connection after taking an epoch, it answers sync-step1 with the *whole*
 * document (central's validator rejects others' structs: we must send `encodeOwnDiff`), it would
 * send every local transaction at once (we send only what is durable in the local store, see
 * local-replica.ts), and it ignores the type-100 `durable-ack` we track for `/status`. The protocol
 * is small, so this client owns it end to end.
 *
 * Session: open → `hello` → `sync-step1`; apply central's `sync-step2` and `update`s (origin
 * `upstream`, never echoed); once central's state is in, check that this store may go on as its
 * replica (local-replica.ts `staleness`), and only then answer central's `sync-step1` with our own
 * diff; after the first full sync a joining replica takes its epoch and says `hello` again.
 * Reconnects use full-jitter exponential backoff; every reconnect resyncs by state vectors, so
 * hours offline converge in one exchange.
 *
 * Refusals: a close by central that refuses this gateway or what it sent (central-refusal.ts; a
 * first 4411 for an epoch whose allocation was interrupted rejoins instead) puts the client in a
 * refused state ({@link SyncClient.refusal}: `/readyz` 503, the
 * `fridgesync_gateway_central_refused` gauge, an error log with central's reason), and the backoff
 * keeps growing across refusals. Both end by `accepted`: central welcomed the hello naming our
 * replica and acknowledged this connection's own diff, and, after refusals, the session lasted
 * ACCEPTED_AFTER_REFUSAL_MS (docs/sync-protocol.md "When central refuses a gateway"). A refusal
 * that says the store contradicts central (it goes
 * backwards, deletes or depends on what central never had, or spends rights it does not hold)
 * rebuilds the store from central under a new epoch (docs/operations.md "Durability and
 * recovery").
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import * as Y from 'yjs';
import type { Logger } from 'pino';
import {
  CLOSE_CODES,
  GATEWAY_ID_HEADER,
  decodeMessage,
  encodeHello,
  encodeOwnDiff,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeUpdate,
  isOrigin,
  type Hello,
  type TxOrigin,
} from '@fridgesync/shared';
import type { LocalReplica } from './local-replica.ts';
import type { AgentMetrics } from './metrics.ts';
import type { ClockSkew } from './clock-skew.ts';
import { CentralRefusal, isRefusal, retiredBySuccessor, upgradeRefusalReason, type SyncRefusal } from './central-refusal.ts';
import { UpstreamOutbox } from './upstream-outbox.ts';
import { startHeartbeat } from './ws-heartbeat.ts';

export type { SyncRefusal } from './central-refusal.ts';

/**
 * Where the sync session is. `refused`: central refused this gateway (central-refusal.ts); the
 * client keeps retrying with growing backoff, and the agent is not ready meanwhile.
 */
export type SyncState = 'disabled' | 'connecting' | 'handshaking' | 'synced' | 'backoff' | 'refused' | 'closed';

/** Options of {@link SyncClient}. */
export interface SyncClientOptions {
  /** Base URL (`ws://host:port`); the client connects to `/sync/{venueId}`. */
  url: string;
  token: string;
  /** This gateway's id, sent with the upgrade so central can refuse a token bound to another id. */
  gatewayId: string;
  venueId: string;
  replica: LocalReplica;
  logger: Logger;
  metrics: AgentMetrics;
  version: string;
  backoffMinMs: number;
  backoffMaxMs: number;
  maxMessageBytes: number;
  connectTimeoutMs: number;
  /** Time from open to the first full exchange before the session is abandoned, ms. Default 60 000. */
  syncTimeoutMs?: number;
  /** Interval of the gateway's own pings; two silent intervals end the connection, ms. Default 15 000. */
  pingIntervalMs?: number;
  random?: () => number;
  /** This gateway's clock (ms since the epoch); default `Date.now`. */
  now?: () => number;
  /** Where the clock offset measured at each handshake goes. */
  clock?: ClockSkew;
}

const UPSTREAM: TxOrigin = { kind: 'upstream', peer: 'central' };


/**
 * After refusals, how long a session central accepted must last before the gateway counts as
 * accepted again (ready, backoff reset), ms; at most `backoffMaxMs`.
 */
const ACCEPTED_AFTER_REFUSAL_MS = 5_000;

/** Validator codes (shared/src/validator.ts) that say this store contradicts central: rebuild it. */
const STALE_STORE_CODES = new Set(['NOT_FORWARD', 'FOREIGN_DELETE', 'MISSING_DEPENDENCY', 'RIGHTS_NEGATIVE']);

/** The sync client. Events: `state(state)`, `synced()`. */
export class SyncClient extends EventEmitter<{ state: [SyncState]; synced: [] }> {
  private ws: WebSocket | undefined;
  private s: SyncState = 'closed';
  private attempt = 0;
  /**
   * Central refused our hello for its `now`: it predates the field (docs/sync-protocol.md
   * "Compatibility"). Later hellos go without it; the skew is then not measured.
   */
  private legacyCentral = false;
  /**
   * Central answered our replica's hello with 4411: it never allocated that epoch (an upgrade
   * hello lost to a dropped link, a 4412 or central's crash before it stored the allocation).
   * Connections then join first and upgrade to the same epoch after the full sync, which central
   * allocates when it is still the gateway's next one (docs/sync-protocol.md, "Epoch
   * allocation"). A 4411 on such a connection is a refusal. Cleared once central accepts us.
   */
  private joinFirst = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  /**
   * `[client, clock]` after each durable local update not yet durable at central, oldest first
   * (one entry per update: a few bytes each, so even days offline stay small).
   */
  private unacked: Array<[number, number]> = [];
  private lastAckAt: number | undefined;
  private lastSyncAt: number | undefined;
  private readonly refusals: CentralRefusal;
  private readonly random: () => number;
  private readonly offDurable: () => void;
  /** Settles the refusal once a session central accepted after refusals has lasted a while. */
  private acceptTimer: NodeJS.Timeout | undefined;
  /** Durable local updates on their way to central, one message in flight. */
  private readonly outbox: UpstreamOutbox;

  constructor(private readonly o: SyncClientOptions) {
    super();
    this.outbox = new UpstreamOutbox({
      canSend: () => this.streaming && this.ws?.readyState === WebSocket.OPEN,
      send: (update) => this.ws!.send(encodeUpdate(update)),
    });
    this.random = o.random ?? Math.random;
    this.refusals = new CentralRefusal(o.logger, o.metrics);
    const onDurable = (update: Uint8Array, origin: unknown, end: [number, number] | undefined) => this.onDurable(update, origin, end);
    o.replica.on('durable', onDurable);
    this.offDurable = () => o.replica.off('durable', onDurable);
  }

  get state(): SyncState {
    return this.s;
  }

  /** Local updates durable here but not yet acknowledged durable by central. */
  pendingCentral(): number {
    return this.unacked.length;
  }

  /** For `/status`. */
  status() {
    return {
      state: this.s,
      url: this.o.url,
      pendingUpdates: this.unacked.length,
      lastDurableAckAt: this.lastAckAt === undefined ? undefined : new Date(this.lastAckAt).toISOString(),
      lastSyncAt: this.lastSyncAt === undefined ? undefined : new Date(this.lastSyncAt).toISOString(),
      reconnectAttempt: this.attempt,
      refusal: this.refusals.refusal,
    };
  }

  /** Why central refuses this gateway, while it does. */
  get refusal(): SyncRefusal | undefined {
    return this.refusals.refusal;
  }

  /**
   * Central stored this connection's own diff (a durable-ack covering it, after the welcome of the
   * hello naming our replica): the backoff starts over and any refusal is settled. Not at the
   * welcome: central validates the full-state diff after it and may still close with 4403, and a
   * gateway refused after every welcome would otherwise reconnect at the shortest delay forever.
   * After refusals, only once the session has also lasted a while without one, so a session that
   * is accepted and then refused again (a refused update streamed after the diff) still backs off
   * and is never reported ready in between.
   */
  private accepted(): void {
    const settle = () => {
      this.attempt = 0;
      this.joinFirst = false;
      this.refusals.accepted();
    };
    if (this.refusals.refusal === undefined) return settle();
    if (this.acceptTimer !== undefined) return;
    const ws = this.ws;
    this.acceptTimer = setTimeout(() => {
      this.acceptTimer = undefined;
      if (this.ws === ws && this.refusals.refusal !== undefined) settle();
    }, Math.min(ACCEPTED_AFTER_REFUSAL_MS, this.o.backoffMaxMs));
    this.acceptTimer.unref();
  }

  /** Starts connecting (and reconnecting) until {@link close}. */
  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Closes the session with `code` (default 1001 going away) and stops reconnecting. */
  async close(code: number = CLOSE_CODES.GOING_AWAY): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.acceptTimer);
    this.outbox.drop();
    this.offDurable();
    const ws = this.ws;
    this.setState('closed');
    if (ws === undefined || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2_000);
      ws.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      ws.close(code, 'gateway stopping');
    });
  }

  /** Resolves once central acknowledged every local update as durable, or after `ms`. */
  async drained(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.unacked.length > 0 && Date.now() < deadline && this.s === 'synced') await new Promise((r) => setTimeout(r, 20));
    return this.unacked.length === 0;
  }

  private setState(s: SyncState): void {
    if (this.s === s) return;
    this.s = s;
    this.o.metrics.centralConnected.set(s === 'synced' ? 1 : 0);
    this.emit('state', s);
  }

  private connect(): void {
    if (this.stopped) return;
    const { url, token, venueId, maxMessageBytes, connectTimeoutMs, logger } = this.o;
    this.setState('connecting');
    const ws = new WebSocket(`${url.replace(/\/$/, '')}/sync/${encodeURIComponent(venueId)}`, {
      headers: { Authorization: `Bearer ${token}`, [GATEWAY_ID_HEADER]: this.o.gatewayId },
      maxPayload: maxMessageBytes,
      handshakeTimeout: connectTimeoutMs,
    });
    ws.binaryType = 'nodebuffer';
    this.ws = ws;
    this.streaming = false;
    this.acceptAt = undefined;
    this.diffAcked = false;
    let fullSync = false;
    /** Set once central's state is in and this store may go on: our own diff may go. */
    let checked = false;
    /** Set when this store is given up: nothing more from this connection goes into the new document. */
    let abandoned = false;
    let remoteSv: Uint8Array | undefined;
    /** The replica this connection's last hello spoke for (undefined: joining, read-only). */
    let announced: string | undefined;
    /** This gateway's monotonic clock when the last hello went out (the welcome answering it measures the offset). */
    let helloAt: number | undefined;
    /** Hellos on this connection central has not welcomed yet. */
    let unwelcomed = 0;
    /** This connection's first hello joins although the replica is active (see `joinFirst`). */
    const joiningFirst = this.joinFirst && this.o.replica.writable;
    this.connJoinedFirst = joiningFirst;
    let hellosSent = 0;
    const announce = () => {
      const h = this.hello(joiningFirst && hellosSent++ === 0);
      announced = h.replica;
      helloAt = this.o.clock?.monoNow();
      unwelcomed++;
      ws.send(encodeHello(h));
    };
    let stuck: NodeJS.Timeout | undefined;
    let stopHeartbeat: (() => void) | undefined;
    ws.on('open', () => {
      this.setState('handshaking');
      stopHeartbeat = startHeartbeat(ws, this.o.pingIntervalMs ?? 15_000, () => {
        this.o.metrics.syncErrors.inc({ reason: 'ping-timeout' });
        logger.warn('central answered nothing for two ping intervals (a silent link); reconnecting');
        ws.terminate();
      });
      stuck = setTimeout(() => {
        if (fullSync) return;
        this.o.metrics.syncErrors.inc({ reason: 'sync-timeout' });
        logger.warn('central did not complete the sync exchange in time; reconnecting');
        ws.terminate();
      }, this.o.syncTimeoutMs ?? 60_000);
      announce();
      ws.send(encodeSyncStep1(Y.encodeStateVector(this.o.replica.doc.ydoc)));
    });
    ws.on('message', (data: Buffer) => {
      if (abandoned) return;
      let msg;
      try {
        msg = decodeMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      } catch (e) {
        this.o.metrics.syncErrors.inc({ reason: 'malformed' });
        logger.warn({ err: (e as Error).message }, 'malformed message from central; reconnecting');
        ws.close(CLOSE_CODES.UPDATE_REJECTED, 'malformed message');
        return;
      }
      switch (msg.type) {
        case 'sync-step1':
          remoteSv = msg.stateVector;
          // Our structs go only on a connection whose hello named the replica writing them, and
          // only once central's state has shown that this store may go on (afterFullSync).
          if (announced !== undefined && announced === this.o.replica.replica && this.o.replica.writable) {
            if (checked) void this.answerStep1(ws, msg.stateVector);
          } else {
            ws.send(encodeSyncStep2(Y.encodeStateAsUpdate(new Y.Doc()))); // joining: nothing of ours yet
          }
          break;
        case 'sync-step2':
          this.o.replica.doc.applyUpdate(msg.update, UPSTREAM);
          if (!fullSync) {
            fullSync = true;
            void this.afterFullSync(ws, () => remoteSv, () => announced, announce, () => (abandoned = true)).then((ok) => (checked = ok));
          }
          break;
        case 'update':
          this.o.replica.doc.applyUpdate(msg.update, UPSTREAM);
          break;
        case 'durable-ack':
          this.onAck(msg.stateVector);
          // The ack of the own diff may overtake the welcome of the hello it followed (central sends
          // both once the allocation is durable): acceptance waits for both.
          if (ws === this.ws && this.acceptedIfCovered(msg.stateVector) && unwelcomed === 0 && announced !== undefined) this.accepted();
          break;
        case 'welcome':
          logger.debug({ welcome: msg.welcome }, 'central welcomed this gateway');
          if (msg.welcome.now !== undefined && helloAt !== undefined) this.o.clock?.record(helloAt, this.o.clock.monoNow(), msg.welcome.now);
          helloAt = undefined;
          // Not accepted by the welcome alone: central may still refuse the own diff (see `accepted`).
          if (--unwelcomed === 0 && announced !== undefined && ws === this.ws && this.diffAcked) this.accepted();
          break;
        case 'auth-denied':
          logger.error({ reason: msg.reason }, 'central denied access');
          break;
        default:
          break; // awareness is not used by gateways
      }
    });
    ws.on('error', (e) => {
      this.o.metrics.syncErrors.inc({ reason: 'socket' });
      logger.debug({ err: e.message }, 'sync connection error');
    });
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      this.o.metrics.syncErrors.inc({ reason: `http-${status}` });
      // Central's error body says why ({statusCode, code, message}).
      void upgradeRefusalReason(res).then((reason) => {
        if (isRefusal({ status })) this.refuse({ status, reason });
        else logger.warn({ status, reason }, 'central refused the sync connection');
        ws.terminate();
      });
    });
    ws.on('close', (code: number, reason: Buffer) => {
      clearTimeout(stuck);
      stopHeartbeat?.();
      this.onClose(ws, code, reason.toString(), remoteSv).catch((e: unknown) => logger.error({ err: e }, 'could not rebuild the store'));
    });
  }

  private clockNow(): number {
    return (this.o.now ?? Date.now)();
  }

  /** True when the current connection's first hello joined although the replica is active. */
  private connJoinedFirst = false;

  private hello(join = false): Hello {
    const r = this.o.replica;
    const h: Hello = { clientIds: r.ownClients(), version: this.o.version };
    if (!this.legacyCentral) h.now = Math.round(this.clockNow());
    if (!join && r.writable && r.replica !== undefined) h.replica = r.replica;
    else h.joining = true;
    return h;
  }

  /** Sends our own structs central lacks, once every local transaction so far is durable. */
  private async answerStep1(ws: WebSocket, sv: Uint8Array): Promise<void> {
    const r = this.o.replica;
    // Only durable structs should leave (local-replica.ts): encode when nothing is pending, in the
    // same synchronous block as the check. Under constant load give up waiting after ~2 s and
    // encode anyway; the structs not yet durable then are milliseconds from their fsync.
    for (let i = 0; i < 400 && r.store.pending() > 0; i++) await new Promise((res) => setTimeout(res, 5));
    if (ws !== this.ws || ws.readyState !== WebSocket.OPEN) return;
    // The diff carries everything durable so far, including what waited in the outbox.
    this.outbox.drop();
    ws.send(encodeSyncStep2(encodeOwnDiff(r.doc.ydoc, sv, new Set(r.ownClients()))));
    this.acceptAt = new Map(r.ownClients().map((c) => [c, Y.getState(r.doc.ydoc.store, c)]));
    this.diffAcked = false;
    // From here on every durable local update is streamed; the ones before are in the diff.
    this.streaming = true;
  }
  /**
   * Our own clients' clocks when this connection's own diff went out: a durable-ack covering them
   * shows central validated and stored the diff (see `accepted`). Undefined before the diff and
   * once accepted.
   */
  private acceptAt: Map<number, number> | undefined;

  /** True once a durable-ack on this connection covered its own diff. */
  private diffAcked = false;

  /** Records whether `sv` (a durable-ack) covers this connection's own diff; returns the record. */
  private acceptedIfCovered(sv: Uint8Array): boolean {
    if (this.diffAcked || this.acceptAt === undefined) return this.diffAcked;
    let acked: Map<number, number>;
    try {
      acked = Y.decodeStateVector(sv);
    } catch {
      return false;
    }
    for (const [c, clock] of this.acceptAt) if ((acked.get(c) ?? 0) < clock) return false;
    this.acceptAt = undefined;
    this.diffAcked = true;
    return true;
  }
  /** True once this connection carried our own diff: durable local updates are then sent as they come. */
  private streaming = false;

  /** Resolves true when this store may go on and our diff went (or goes when central's sync-step1 arrives). */
  private async afterFullSync(ws: WebSocket, remoteSv: () => Uint8Array | undefined, announced: () => string | undefined, announce: () => void, abandon: () => void): Promise<boolean> {
    const r = this.o.replica;
    try {
      const stale = r.staleness();
      if (stale !== undefined) {
        // Central holds writes of our replica this store never made (restored from a backup or
        // cloned), or writes this store lost (a damaged log). What we would send contradicts
        // central: rebuild from central's state under a new epoch, keeping what central lacks.
        this.o.logger.error(
          { replica: r.replica, reason: stale },
          stale === 'foreign-writes'
            ? 'central holds writes of this replica that this store never made (restored backup or clone); rebuilding from central under a new epoch'
            : 'central holds writes of this replica that this store lost (damaged store); rebuilding from central under a new epoch',
        );
        this.o.metrics.syncErrors.inc({ reason: 'stale-store' });
        abandon();
        await this.rebuild(stale, remoteSv());
        ws.close(CLOSE_CODES.GOING_AWAY, 'rebuilding under a new epoch');
        return false;
      }
      if (r.state === 'joining') await r.becomeActive();
      if (ws !== this.ws || ws.readyState !== WebSocket.OPEN) return false;
      if (r.writable && announced() !== r.replica) {
        // The one hello upgrade per connection: from joining (or a stale epoch) to the new replica.
        announce();
      }
      // Our lifecycle entries became durable before the upgrade; the own diff carries them.
      const sv = remoteSv();
      if (r.writable && sv !== undefined) await this.answerStep1(ws, sv);
    } catch (e) {
      this.o.logger.error({ err: e }, 'could not take a new epoch after the first full sync');
      ws.close(CLOSE_CODES.GOING_AWAY, 'epoch failed');
      return false;
    }
    // The backoff restarts only once central stored our own diff (see `accepted`): a gateway
    // central refuses after each full sync must not reconnect at the shortest delay forever.
    this.lastSyncAt = Date.now();
    this.setState('synced');
    this.emit('synced');
    return true;
  }

  private async rebuild(reason: 'lost-writes' | 'foreign-writes' | 'refused', remoteSv: Uint8Array | undefined): Promise<void> {
    this.o.metrics.storeRebuilds.inc({ reason });
    await this.o.replica.rebuild(reason, remoteSv === undefined ? new Map() : Y.decodeStateVector(remoteSv));
  }

  /** Central refused this gateway or what it sent: not ready, alert, and the backoff keeps growing. */
  private refuse(r: { code?: number; status?: number; reason: string }): void {
    clearTimeout(this.acceptTimer);
    this.acceptTimer = undefined;
    this.refusals.refused(r, this.attempt + 1);
  }


  private onDurable(update: Uint8Array, origin: unknown, end: [number, number] | undefined): void {
    if (isOrigin(origin, 'upstream')) return; // never echo what central sent
    // The update's own end clock (it may be older than the document's current clock); none when
    // it only deletes.
    if (end !== undefined) this.unacked.push(end);
    this.o.metrics.pendingCentral.set(this.unacked.length);
    if (!this.streaming) return; // the own diff of the next session carries it
    this.outbox.push(update, end);
  }

  private onAck(sv: Uint8Array): void {
    let acked: Map<number, number>;
    try {
      acked = Y.decodeStateVector(sv);
    } catch {
      this.o.metrics.syncErrors.inc({ reason: 'bad-ack' });
      return;
    }
    this.lastAckAt = Date.now();
    // Central stores a client's structs in order, so the acknowledged entries are a prefix per
    // client; entries of a client this process no longer writes with (an earlier epoch central
    // retired) can never be acknowledged and are dropped.
    const own = new Set(this.o.replica.ownClients());
    this.unacked = this.unacked.filter(([client, clock]) => own.has(client) && clock > (acked.get(client) ?? 0));
    this.o.metrics.pendingCentral.set(this.unacked.length);
    this.outbox.acked(acked);
  }

  private onClose(ws: WebSocket, code: number, reason: string, remoteSv: Uint8Array | undefined): Promise<void> {
    if (this.ws !== ws) return Promise.resolve();
    this.ws = undefined;
    // A wait for this session to count as accepted ends with it (the next session starts its own).
    clearTimeout(this.acceptTimer);
    this.acceptTimer = undefined;
    this.streaming = false;
    this.outbox.drop();
    const { logger } = this.o;
    let recovering: Promise<void> = Promise.resolve();
    if (code === CLOSE_CODES.REPLICA_RETIRED) {
      const successor = retiredBySuccessor(reason, this.o.gatewayId, this.o.replica.replica);
      if (successor !== undefined) {
        // A later epoch of this gateway id retired us, and this process never joined as it: the
        // refused state (error log, gauge, /readyz) lasts until central accepts our new epoch.
        this.refuse({ code, reason: `this replica was retired by ${successor} (another process joined with this gateway's token?)` });
      } else {
        logger.warn({ code, reason }, 'central says this replica is retired; rejoining under a new epoch');
      }
      void this.o.replica.markRetired();
    } else if (code === CLOSE_CODES.UPDATE_REJECTED && !this.legacyCentral && /^hello: Unrecognized key.*"now"/.test(reason)) {
      // A central released before the optional `now` refuses unknown keys: speak its dialect so
      // the venue syncs during a rolling upgrade, and say which side to upgrade.
      this.legacyCentral = true;
      logger.warn({ code, reason }, "central predates this gateway's hello (it refuses the clock field): retrying without it; upgrade central (docs/sync-protocol.md \"Compatibility\"); central's clock stays unmeasured until then");
    } else if (code === CLOSE_CODES.EPOCH_NOT_ALLOCATED && !this.connJoinedFirst && this.o.replica.writable) {
      // An epoch taken locally whose allocation central never stored: join again and upgrade to it.
      this.joinFirst = true;
      logger.warn({ code, reason, replica: this.o.replica.replica }, 'central never allocated this epoch (its upgrade was interrupted); joining again to have it allocated');
    } else if (code === CLOSE_CODES.DUPLICATE_REPLICA) {
      this.refuse({ code, reason });
      logger.error({ code, reason }, 'another live connection speaks for this replica (cloned gateway?)');
    } else if (code === CLOSE_CODES.UPDATE_REJECTED) {
      this.refuse({ code, reason });
      // `<validator code>: <detail>` (server/src/sync/sync-session.ts).
      const rejected = /^([A-Z_]+):/.exec(reason)?.[1];
      if (rejected !== undefined && STALE_STORE_CODES.has(rejected) && this.o.replica.writable && !this.stopped) recovering = this.rebuild('refused', remoteSv);
    } else if (isRefusal({ code })) {
      this.refuse({ code, reason });
    } else if (code >= 4000) {
      logger.warn({ code, reason }, 'central closed the sync connection');
    } else {
      logger.debug({ code, reason }, 'sync connection closed');
    }
    if (code >= 4000) this.o.metrics.syncErrors.inc({ reason: `close-${code}` });
    if (this.stopped) return recovering;
    this.setState(this.refusals.refusal !== undefined ? 'refused' : 'backoff');
    // Full jitter (AWS architecture blog): uniform in [0, min(max, min·2^attempt)].
    const cap = Math.min(this.o.backoffMaxMs, this.o.backoffMinMs * 2 ** Math.min(this.attempt, 30));
    const delay = Math.max(this.o.backoffMinMs / 2, this.random() * cap);
    this.attempt++;
    // A rebuild replaces the document: the next session starts once it is done.
    return recovering.finally(() => {
      if (!this.stopped) this.timer = setTimeout(() => this.connect(), delay);
    });
  }
}
