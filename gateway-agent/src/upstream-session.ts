/**
 * One connection of the gateway to central, from its first message to its close: the handshake
 * and session state machine of docs/sync-protocol.md "Session", independent of the socket (the
 * sync client gives it a {@link SessionLink} and feeds it central's frames).
 *
 * ```
 * exchanging ──central's sync-step2──▶ checking ──store may go on──▶ synced (own diff sent: streaming)
 *      │                                   └──store contradicts central──▶ abandoned (rebuild, close)
 *      └── no full exchange within syncTimeoutMs: terminated
 * ```
 * On open: `hello` (joining, or naming our replica), then our `sync-step1`. Central's `sync-step2`
 * and `update`s are applied with origin `upstream` (never echoed). Once central's state is in, the
 * store is checked (local-replica.ts `staleness`); only then does central's `sync-step1` get our
 * own diff, and after the first full sync a joining replica takes its epoch and says `hello` again
 * (the one upgrade per connection). Durable local updates then stream through this connection's
 * {@link UpstreamOutbox}.
 */
import * as Y from 'yjs';
import type { Logger } from 'pino';
import { CLOSE_CODES, decodeMessage, encodeHello, encodeOwnDiff, encodeSyncStep1, encodeSyncStep2, encodeUpdate, type Hello, type TxOrigin } from '@fridgesync/shared';
import type { LocalReplica, RebuildReason } from './local-replica.ts';
import type { AgentMetrics } from './metrics.ts';
import type { ClockSkew } from './clock-skew.ts';
import { ConnectionAcceptance } from './central-acceptance.ts';
import { UpstreamOutbox } from './upstream-outbox.ts';

/** Time from open to the first full exchange before a session is abandoned, ms (`central.syncTimeoutMs` default). */
export const SYNC_TIMEOUT_MS = 60_000;

/** Longest wait for the store's pending writes before the own diff goes anyway: 400 polls of 5 ms. */
const DURABLE_WAIT_POLLS = 400;

const UPSTREAM: TxOrigin = { kind: 'upstream', peer: 'central' };

/** The connection a session speaks over. */
export interface SessionLink {
  send(message: Uint8Array): void;
  /** Closes with a close frame. */
  close(code: number, reason: string): void;
  /** Drops the connection without a close frame. */
  terminate(): void;
  /** True while the connection is open and still the sync client's current one. */
  open(): boolean;
}

/** What a session needs from the sync client. */
export interface UpstreamSessionOptions {
  replica: LocalReplica;
  logger: Logger;
  metrics: AgentMetrics;
  /** Where the clock offset measured at the handshake goes. */
  clock?: ClockSkew;
  /** Time from open to the first full exchange, ms; default {@link SYNC_TIMEOUT_MS}. */
  syncTimeoutMs?: number;
  /** The hello to send; `join` asks for a joining hello although the replica is active. */
  hello(join: boolean): Hello;
  /**
   * This connection's first hello joins although the replica is active: its epoch was never
   * allocated (docs/sync-protocol.md "An interrupted upgrade").
   */
  joinFirst: boolean;
  /** Central acknowledged `acked` (a decoded state vector) as durable. */
  acked(acked: Map<number, number>): void;
  /**
   * The own diff went out carrying structs central lacks, up to `ends` (`[client, clock]` per own
   * client): central has not stored them until a durable-ack covers them.
   */
  diffSent(ends: Array<[number, number]>): void;
  /** Central accepted this connection (central-acceptance.ts). */
  accepted(): void;
  /** The first full sync is done and the store goes on as its replica. */
  synced(): void;
  /** The store contradicts central: rebuild it from central's state (`centralSv`, if known) under a new epoch. */
  rebuild(reason: Extract<RebuildReason, 'lost-writes' | 'foreign-writes'>, centralSv: Uint8Array | undefined): Promise<void>;
}

/** Where a session is (see the diagram in the module comment). */
export type SessionPhase = 'exchanging' | 'checking' | 'synced' | 'abandoned';

/** One connection's protocol state. */
export class UpstreamSession {
  private phase: SessionPhase = 'exchanging';
  private ended = false;
  /** Central's state vector from its sync-step1. */
  private centralSv: Uint8Array | undefined;
  /** This gateway's monotonic clock when the last hello went out (the welcome answering it measures the offset). */
  private helloAt: number | undefined;
  private hellosSent = 0;
  /** True once this connection carried our own diff: durable local updates are then streamed. */
  private streamingUpdates = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private readonly acceptance = new ConnectionAcceptance();
  /** Durable local updates on their way to central, one message in flight. */
  private readonly outbox: UpstreamOutbox;

  constructor(
    private readonly link: SessionLink,
    private readonly opts: UpstreamSessionOptions,
  ) {
    this.outbox = new UpstreamOutbox({
      canSend: () => this.streamingUpdates && !this.ended && link.open(),
      send: (update) => link.send(encodeUpdate(update)),
    });
  }

  /** Where the session is. */
  get state(): SessionPhase {
    return this.phase;
  }

  /** True once the own diff went: durable local updates are sent as they come. */
  get streaming(): boolean {
    return this.streamingUpdates;
  }

  /** Central's state vector (its sync-step1), if it arrived: what a rebuild keeps of the old replica. */
  get centralStateVector(): Uint8Array | undefined {
    return this.centralSv;
  }

  /** The connection is open: hello, then our sync-step1; the full exchange must complete in time. */
  opened(): void {
    this.syncTimer = setTimeout(() => {
      if (this.phase !== 'exchanging' || this.ended) return;
      this.opts.metrics.syncErrors.inc({ reason: 'sync-timeout' });
      this.opts.logger.warn('central did not complete the sync exchange in time; reconnecting');
      this.link.terminate();
    }, this.opts.syncTimeoutMs ?? SYNC_TIMEOUT_MS);
    this.announce();
    this.link.send(encodeSyncStep1(Y.encodeStateVector(this.opts.replica.doc.ydoc)));
  }

  /** A durable local update ending at `end`: streamed once the own diff went (the diff carries the ones before). */
  localUpdate(update: Uint8Array, end: [number, number] | undefined): void {
    if (this.streamingUpdates && !this.ended) this.outbox.push(update, end);
  }

  /** The connection closed: nothing of it counts any more. */
  end(): void {
    this.ended = true;
    this.streamingUpdates = false;
    clearTimeout(this.syncTimer);
    this.outbox.drop();
  }

  /** One frame from central. */
  receive(bytes: Uint8Array): void {
    if (this.ended || this.phase === 'abandoned') return;
    let msg;
    try {
      msg = decodeMessage(bytes);
    } catch (e) {
      this.opts.metrics.syncErrors.inc({ reason: 'malformed' });
      this.opts.logger.warn({ err: (e as Error).message }, 'malformed message from central; reconnecting');
      this.link.close(CLOSE_CODES.UPDATE_REJECTED, 'malformed message');
      return;
    }
    const r = this.opts.replica;
    switch (msg.type) {
      case 'sync-step1':
        this.centralSv = msg.stateVector;
        // Our structs go only on a connection whose hello named the replica writing them, and
        // only once central's state has shown that this store may go on (afterFullSync).
        if (this.acceptance.replica !== undefined && this.acceptance.replica === r.replica && r.writable) {
          if (this.phase === 'synced') void this.sendOwnDiff(msg.stateVector);
        } else {
          this.link.send(encodeSyncStep2(Y.encodeStateAsUpdate(new Y.Doc()))); // joining: nothing of ours yet
        }
        break;
      case 'sync-step2':
        r.doc.applyUpdate(msg.update, UPSTREAM);
        if (this.phase === 'exchanging') {
          this.phase = 'checking';
          clearTimeout(this.syncTimer);
          void this.afterFullSync();
        }
        break;
      case 'update':
        r.doc.applyUpdate(msg.update, UPSTREAM);
        break;
      case 'durable-ack': {
        let acked: Map<number, number>;
        try {
          acked = Y.decodeStateVector(msg.stateVector);
        } catch {
          this.opts.metrics.syncErrors.inc({ reason: 'bad-ack' });
          return;
        }
        this.opts.acked(acked);
        this.outbox.acked(acked);
        if (this.acceptance.durableAck(acked)) this.opts.accepted();
        break;
      }
      case 'welcome':
        this.opts.logger.debug({ welcome: msg.welcome }, 'central welcomed this gateway');
        if (msg.welcome.now !== undefined && this.helloAt !== undefined) this.opts.clock?.record(this.helloAt, this.opts.clock.monoNow(), msg.welcome.now);
        this.helloAt = undefined;
        // Not accepted by the welcome alone: central may still refuse the own diff (central-acceptance.ts).
        if (this.acceptance.welcomed()) this.opts.accepted();
        break;
      case 'auth-denied':
        this.opts.logger.error({ reason: msg.reason }, 'central denied access');
        break;
      default:
        break; // awareness is not used by gateways; hellos are central's to receive
    }
  }

  private announce(): void {
    const h = this.opts.hello(this.opts.joinFirst && this.hellosSent++ === 0);
    this.acceptance.helloSent(h.replica);
    this.helloAt = this.opts.clock?.monoNow();
    this.link.send(encodeHello(h));
  }

  private live(): boolean {
    return !this.ended && this.link.open();
  }

  /** Sends our own structs central lacks, once every local transaction so far is durable. */
  private async sendOwnDiff(sv: Uint8Array): Promise<void> {
    const r = this.opts.replica;
    // Only durable structs should leave (local-replica.ts): encode when nothing is pending, in the
    // same synchronous block as the check. Under constant load give up waiting after ~2 s and
    // encode anyway; the structs not yet durable then are milliseconds from their fsync.
    for (let i = 0; i < DURABLE_WAIT_POLLS && r.store.pending() > 0; i++) await new Promise((res) => setTimeout(res, 5));
    if (!this.live()) return;
    // The diff carries everything durable so far, including what waited in the outbox.
    this.outbox.drop();
    this.link.send(encodeSyncStep2(encodeOwnDiff(r.doc.ydoc, sv, new Set(r.ownClients()))));
    const clocks = new Map(r.ownClients().map((c) => [c, Y.getState(r.doc.ydoc.store, c)]));
    this.acceptance.ownDiffSent(clocks);
    // What earlier processes of this replica wrote and central lacks is pending at central like a
    // local update until acknowledged (`/status` pendingUpdates, a graceful shutdown's drain).
    const central = Y.decodeStateVector(sv);
    this.opts.diffSent([...clocks].filter(([c, clock]) => clock > (central.get(c) ?? 0)));
    // From here on every durable local update is streamed; the ones before are in the diff.
    this.streamingUpdates = true;
  }

  /** Central's state is in: go on as this replica (taking an epoch if joining), or rebuild. */
  private async afterFullSync(): Promise<void> {
    const r = this.opts.replica;
    try {
      const stale = r.staleness();
      if (stale !== undefined) {
        // Central holds writes of our replica this store never made (restored from a backup or
        // cloned), or writes this store lost (a damaged log). What we would send contradicts
        // central: rebuild from central's state under a new epoch, keeping what central lacks.
        this.opts.logger.error(
          { replica: r.replica, reason: stale },
          stale === 'foreign-writes'
            ? 'central holds writes of this replica that this store never made (restored backup or clone); rebuilding from central under a new epoch'
            : 'central holds writes of this replica that this store lost (damaged store); rebuilding from central under a new epoch',
        );
        this.opts.metrics.syncErrors.inc({ reason: 'stale-store' });
        this.phase = 'abandoned';
        await this.opts.rebuild(stale, this.centralSv);
        this.link.close(CLOSE_CODES.GOING_AWAY, 'rebuilding under a new epoch');
        return;
      }
      if (r.state === 'joining') await r.becomeActive();
      if (!this.live()) return;
      // The one hello upgrade per connection: from joining (or a stale epoch) to the new replica.
      if (r.writable && this.acceptance.replica !== r.replica) this.announce();
      // Our lifecycle entries became durable before the upgrade; the own diff carries them.
      if (r.writable && this.centralSv !== undefined) await this.sendOwnDiff(this.centralSv);
      if (!this.live()) return;
    } catch (e) {
      this.opts.logger.error({ err: e }, 'could not take a new epoch after the first full sync');
      this.link.close(CLOSE_CODES.GOING_AWAY, 'epoch failed');
      return;
    }
    this.phase = 'synced';
    this.opts.synced();
  }
}
