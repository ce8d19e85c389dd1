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
 * This module is the wiring: it opens the websocket, hands each connection to an
 * {@link UpstreamSession} (the handshake and session state machine, with its outbox of durable
 * local updates, upstream-outbox.ts), tracks what central has not yet stored (pending-central.ts),
 * judges central's closes (central-refusal.ts), counts acceptance (central-acceptance.ts) and
 * reconnects after {@link ReconnectBackoff} (full jitter; every reconnect resyncs by state vectors,
 * so hours offline converge in one exchange).
 *
 * Refusals: a close by central that refuses this gateway or what it sent (central-refusal.ts; a
 * first 4411 for an epoch whose allocation was interrupted rejoins instead) puts the client in a
 * refused state ({@link SyncClient.refusal}: `/readyz` 503, the
 * `fridgesync_gateway_central_refused` gauge, an error log with central's reason), and the backoff
 * keeps growing across refusals. Both end once central accepts this gateway again
 * (central-acceptance.ts: the welcome of the hello naming our replica, a durable-ack of this
 * connection's own diff, and after refusals a session that lasted {@link ACCEPTED_AFTER_REFUSAL_MS};
 * docs/sync-protocol.md "When central refuses a gateway"). A refusal that says the store
 * contradicts central (it goes backwards, deletes or depends on what central never had, or spends
 * rights it does not hold) rebuilds the store from central under a new epoch (docs/operations.md
 * "Durability and recovery").
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import * as Y from 'yjs';
import type { Logger } from 'pino';
import { CLOSE_CODES, GATEWAY_ID_HEADER, isOrigin, type Hello } from '@fridgesync/shared';
import type { LocalReplica, RebuildReason } from './local-replica.ts';
import type { AgentMetrics } from './metrics.ts';
import type { ClockSkew } from './clock-skew.ts';
import { CentralRefusal, closeVerdict, isRefusal, upgradeRefusalReason, type SyncRefusal } from './central-refusal.ts';
import { ACCEPTED_AFTER_REFUSAL_MS, RefusalSettling } from './central-acceptance.ts';
import { PendingCentral } from './pending-central.ts';
import { ReconnectBackoff } from './reconnect-backoff.ts';
import { UpstreamSession } from './upstream-session.ts';
import { startHeartbeat } from './ws-heartbeat.ts';

export type { SyncRefusal } from './central-refusal.ts';

/**
 * Where the sync client is. `refused`: central refused this gateway (central-refusal.ts); the
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

/** The sync client. Events: `state(state)`, `synced()`. */
export class SyncClient extends EventEmitter<{ state: [SyncState]; synced: [] }> {
  private ws: WebSocket | undefined;
  /** The protocol state of the current connection. */
  private session: UpstreamSession | undefined;
  private current: SyncState = 'closed';
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
  /** True when the current connection's first hello joined although the replica is active. */
  private connJoinedFirst = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private lastSyncAt: number | undefined;
  private readonly pending = new PendingCentral();
  private readonly backoff: ReconnectBackoff;
  private readonly refusals: CentralRefusal;
  private readonly settling: RefusalSettling;
  private readonly offDurable: () => void;

  constructor(private readonly options: SyncClientOptions) {
    super();
    this.backoff = new ReconnectBackoff({ minMs: options.backoffMinMs, maxMs: options.backoffMaxMs, ...(options.random ? { random: options.random } : {}) });
    this.refusals = new CentralRefusal(options.logger, options.metrics);
    this.settling = new RefusalSettling(
      Math.min(ACCEPTED_AFTER_REFUSAL_MS, options.backoffMaxMs),
      () => this.refusals.refusal !== undefined,
      () => {
        this.backoff.reset();
        this.joinFirst = false;
        this.refusals.accepted();
      },
    );
    const onDurable = (update: Uint8Array, origin: unknown, end: [number, number] | undefined) => this.onDurable(update, origin, end);
    options.replica.on('durable', onDurable);
    this.offDurable = () => options.replica.off('durable', onDurable);
  }

  get state(): SyncState {
    return this.current;
  }

  /** Local updates durable here but not yet acknowledged durable by central. */
  pendingCentral(): number {
    return this.pending.count;
  }

  /** For `/status`. */
  status() {
    const lastAckAt = this.pending.lastAckAt;
    return {
      state: this.current,
      url: this.options.url,
      pendingUpdates: this.pending.count,
      lastDurableAckAt: lastAckAt === undefined ? undefined : new Date(lastAckAt).toISOString(),
      lastSyncAt: this.lastSyncAt === undefined ? undefined : new Date(this.lastSyncAt).toISOString(),
      reconnectAttempt: this.backoff.attempt,
      refusal: this.refusals.refusal,
    };
  }

  /** Why central refuses this gateway, while it does. */
  get refusal(): SyncRefusal | undefined {
    return this.refusals.refusal;
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
    this.settling.cancel();
    this.session?.end();
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
    while (this.pending.count > 0 && Date.now() < deadline && this.current === 'synced') await new Promise((r) => setTimeout(r, 20));
    return this.pending.count === 0;
  }

  private setState(s: SyncState): void {
    if (this.current === s) return;
    this.current = s;
    this.options.metrics.centralConnected.set(s === 'synced' ? 1 : 0);
    this.emit('state', s);
  }

  private connect(): void {
    if (this.stopped) return;
    const { url, token, venueId, maxMessageBytes, connectTimeoutMs, logger, metrics } = this.options;
    this.setState('connecting');
    const ws = new WebSocket(`${url.replace(/\/$/, '')}/sync/${encodeURIComponent(venueId)}`, {
      headers: { Authorization: `Bearer ${token}`, [GATEWAY_ID_HEADER]: this.options.gatewayId },
      maxPayload: maxMessageBytes,
      handshakeTimeout: connectTimeoutMs,
    });
    ws.binaryType = 'nodebuffer';
    this.ws = ws;
    const joinFirst = this.joinFirst && this.options.replica.writable;
    this.connJoinedFirst = joinFirst;
    const isCurrent = () => this.ws === ws && this.session === session;
    const session = new UpstreamSession(
      {
        send: (m) => ws.send(m),
        close: (code, reason) => ws.close(code, reason),
        terminate: () => ws.terminate(),
        open: () => this.ws === ws && ws.readyState === WebSocket.OPEN,
      },
      {
        replica: this.options.replica,
        logger,
        metrics,
        ...(this.options.clock ? { clock: this.options.clock } : {}),
        ...(this.options.syncTimeoutMs !== undefined ? { syncTimeoutMs: this.options.syncTimeoutMs } : {}),
        joinFirst,
        hello: (join) => this.hello(join),
        acked: (acked) => this.onAck(acked),
        diffSent: (ends) => {
          for (const end of ends) this.pending.durable(end);
          this.options.metrics.pendingCentral.set(this.pending.count);
        },
        accepted: () => {
          if (isCurrent()) this.settling.accepted();
        },
        synced: () => {
          this.lastSyncAt = Date.now();
          this.setState('synced');
          this.emit('synced');
        },
        rebuild: (reason, sv) => this.rebuild(reason, sv),
      },
    );
    this.session = session;
    let stopHeartbeat: (() => void) | undefined;
    ws.on('open', () => {
      this.setState('handshaking');
      stopHeartbeat = startHeartbeat(ws, this.options.pingIntervalMs ?? 15_000, () => {
        metrics.syncErrors.inc({ reason: 'ping-timeout' });
        logger.warn('central answered nothing for two ping intervals (a silent link); reconnecting');
        ws.terminate();
      });
      session.opened();
    });
    ws.on('message', (data: Buffer) => session.receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
    ws.on('error', (e) => {
      metrics.syncErrors.inc({ reason: 'socket' });
      logger.debug({ err: e.message }, 'sync connection error');
    });
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      metrics.syncErrors.inc({ reason: `http-${status}` });
      // Central's error body says why ({statusCode, code, message}).
      void upgradeRefusalReason(res).then((reason) => {
        if (isRefusal({ status })) this.refuse({ status, reason });
        else logger.warn({ status, reason }, 'central refused the sync connection');
        ws.terminate();
      });
    });
    ws.on('close', (code: number, reason: Buffer) => {
      stopHeartbeat?.();
      session.end();
      this.onClose(ws, code, reason.toString(), session.centralStateVector).catch((e: unknown) => logger.error({ err: e }, 'could not rebuild the store'));
    });
  }

  private hello(join: boolean): Hello {
    const r = this.options.replica;
    const h: Hello = { clientIds: r.ownClients(), version: this.options.version };
    if (!this.legacyCentral) h.now = Math.round((this.options.now ?? Date.now)());
    if (!join && r.writable && r.replica !== undefined) h.replica = r.replica;
    else h.joining = true;
    return h;
  }

  private async rebuild(reason: RebuildReason, centralSv: Uint8Array | undefined): Promise<void> {
    this.options.metrics.storeRebuilds.inc({ reason });
    await this.options.replica.rebuild(reason, centralSv === undefined ? new Map() : Y.decodeStateVector(centralSv));
  }

  /** Central refused this gateway or what it sent: not ready, alert, and the backoff keeps growing. */
  private refuse(r: { code?: number; status?: number; reason: string }): void {
    this.settling.cancel();
    this.refusals.refused(r, this.backoff.attempt + 1);
  }

  private onDurable(update: Uint8Array, origin: unknown, end: [number, number] | undefined): void {
    if (isOrigin(origin, 'upstream')) return; // never echo what central sent
    // The update's own end clock (it may be older than the document's current clock); none when
    // it only deletes.
    this.pending.durable(end);
    this.options.metrics.pendingCentral.set(this.pending.count);
    this.session?.localUpdate(update, end); // before the own diff, the next diff carries it
  }

  private onAck(acked: Map<number, number>): void {
    this.pending.acked(acked, new Set(this.options.replica.ownClients()));
    this.options.metrics.pendingCentral.set(this.pending.count);
  }

  private onClose(ws: WebSocket, code: number, reason: string, centralSv: Uint8Array | undefined): Promise<void> {
    if (this.ws !== ws) return Promise.resolve();
    this.ws = undefined;
    this.session = undefined;
    // A wait for this session to count as accepted ends with it (the next session starts its own).
    this.settling.cancel();
    const { logger, replica } = this.options;
    let recovering: Promise<void> = Promise.resolve();
    const verdict = closeVerdict(code, reason, { gatewayId: this.options.gatewayId, replica: replica.replica, writable: replica.writable, legacyCentral: this.legacyCentral, joinedFirst: this.connJoinedFirst });
    switch (verdict.kind) {
      case 'retired':
        if (verdict.successor !== undefined) {
          // A later epoch of this gateway id retired us, and this process never joined as it: the
          // refused state (error log, gauge, /readyz) lasts until central accepts our new epoch.
          this.refuse({ code, reason: `this replica was retired by ${verdict.successor} (another process joined with this gateway's token?)` });
        } else {
          logger.warn({ code, reason }, 'central says this replica is retired; rejoining under a new epoch');
        }
        replica.markRetired().catch((e: unknown) => logger.error({ err: e }, 'could not record in the store that this replica is retired'));
        break;
      case 'legacy-hello':
        // Speak the older central's dialect so the venue syncs during a rolling upgrade, and say
        // which side to upgrade.
        this.legacyCentral = true;
        logger.warn({ code, reason }, "central predates this gateway's hello (it refuses the clock field): retrying without it; upgrade central (docs/sync-protocol.md \"Compatibility\"); central's clock stays unmeasured until then");
        break;
      case 'join-first':
        // An epoch taken locally whose allocation central never stored: join again and upgrade to it.
        this.joinFirst = true;
        logger.warn({ code, reason, replica: replica.replica }, 'central never allocated this epoch (its upgrade was interrupted); joining again to have it allocated');
        break;
      case 'refused':
        this.refuse({ code, reason });
        if (code === CLOSE_CODES.DUPLICATE_REPLICA) logger.error({ code, reason }, 'another live connection speaks for this replica (cloned gateway?)');
        if (verdict.rebuild && !this.stopped) recovering = this.rebuild('refused', centralSv);
        break;
      case 'closed':
        if (code >= 4000) logger.warn({ code, reason }, 'central closed the sync connection');
        else logger.debug({ code, reason }, 'sync connection closed');
        break;
    }
    if (code >= 4000) this.options.metrics.syncErrors.inc({ reason: `close-${code}` });
    if (this.stopped) return recovering;
    this.setState(this.refusals.refusal !== undefined ? 'refused' : 'backoff');
    const delay = this.backoff.next();
    // A rebuild replaces the document: the next session starts once it is done.
    return recovering.finally(() => {
      if (!this.stopped) this.timer = setTimeout(() => this.connect(), delay);
    });
  }
}
