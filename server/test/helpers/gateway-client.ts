/**
 * A gateway-like sync client for tests, written against the shared codec (not the gateway agent):
 * a VenueDoc replica (e.g. `gw:g1:1`) that says hello, syncs, sends its own transactions as
 * updates and records durable-acks. Like a gateway, it joins read-only first and then says hello
 * for its replica on the same connection (central admits only epochs it allocated, or replicas the
 * document already knows); `direct` skips the join, to forge a claim. It can also send raw bytes.
 */
import WebSocket from 'ws';
import * as Y from 'yjs';
import {
  ORIGINS,
  VenueDoc,
  decodeMessage,
  encodeHello,
  encodeOwnDiff,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeUpdate,
  isOrigin,
  type Hello,
  type ReplicaId,
  type Welcome,
} from '@fridgesync/shared';
import { waitFor } from '@fridgesync/shared/test-harness';

/** Options of {@link GatewayClient}. */
export interface GatewayClientOptions {
  wsUrl: string;
  venue: string;
  token: string;
  /** Replica to announce; omit with `joining` for a read-only join. */
  replica?: ReplicaId;
  joining?: boolean;
  /** Use this document (e.g. to reconnect with the same state). */
  doc?: VenueDoc;
  /** Do not send hello automatically. */
  noHello?: boolean;
  /** Say hello for `replica` at once instead of joining first (a forged claim of an epoch). */
  direct?: boolean;
  /** Answer central's pings (default true); false plays a half-open peer that stopped answering. */
  autoPong?: boolean;
  /** Extra hello fields (e.g. the optional `now`, or keys of a later version); none by default, as an older gateway sends. */
  helloExtra?: () => Record<string, unknown>;
}

/** A test sync client. */
export class GatewayClient {
  readonly doc: VenueDoc;
  readonly ws: WebSocket;
  welcome: Welcome | undefined;
  /** Welcomes received (a join and its upgrade are welcomed twice). */
  welcomes = 0;
  /** Joined read-only and waiting for the full state before the hello for `replica`. */
  private upgradeTo: ReplicaId | undefined;
  /** Central's state vector, answered with our own diff once our replica is admitted. */
  private centralSv: Uint8Array | undefined;
  /** State vector of the latest durable-ack. */
  ackedSv: Map<number, number> = new Map();
  acks = 0;
  synced = false;
  closeCode: number | undefined;
  closeReason = '';
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;
  private readonly opts: GatewayClientOptions;

  constructor(opts: GatewayClientOptions) {
    this.opts = opts;
    this.doc = opts.doc ?? new VenueDoc(opts.replica !== undefined ? { replica: opts.replica } : {});
    this.ws = new WebSocket(`${opts.wsUrl}/sync/${opts.venue}`, { headers: { authorization: `Bearer ${opts.token}` }, autoPong: opts.autoPong ?? true });
    this.ws.binaryType = 'nodebuffer';
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) =>
      this.ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve(code);
      }),
    );
    this.ws.on('open', () => {
      if (!opts.noHello && opts.replica !== undefined && !opts.direct && !opts.joining) {
        this.upgradeTo = opts.replica;
        this.sendHello(undefined, true);
      } else if (!opts.noHello) this.hello();
      this.ws.send(encodeSyncStep1(Y.encodeStateVector(this.doc.ydoc)));
    });
    this.ws.on('message', (data: Buffer) => this.onMessage(new Uint8Array(data)));
    this.doc.ydoc.on('update', (u: Uint8Array, origin: unknown) => {
      if (isOrigin(origin, 'upstream') || this.ws.readyState !== WebSocket.OPEN) return;
      this.ws.send(encodeUpdate(u));
    });
  }

  /** Sends hello for the configured replica. */
  hello(replica = this.opts.replica, joining = this.opts.joining): void {
    this.sendHello(replica, joining);
  }

  private sendHello(replica: ReplicaId | undefined, joining: boolean | undefined): void {
    this.ws.send(encodeHello({ replica, clientIds: [this.doc.ydoc.clientID], version: 'test', ...(joining ? { joining } : {}), ...this.opts.helloExtra?.() } as Hello));
  }

  private onMessage(bytes: Uint8Array): void {
    const m = decodeMessage(bytes);
    switch (m.type) {
      case 'sync-step1':
        if (this.upgradeTo !== undefined) {
          // Joining: read-only until the upgrade, so nothing of ours goes yet.
          this.centralSv = m.stateVector;
          this.ws.send(encodeSyncStep2(Y.encodeStateAsUpdate(new Y.Doc())));
        } else this.ws.send(encodeSyncStep2(encodeOwnDiff(this.doc.ydoc, m.stateVector, new Set([this.doc.ydoc.clientID]))));
        break;
      case 'sync-step2':
        this.doc.applyUpdate(m.update, ORIGINS.upstream);
        if (this.upgradeTo !== undefined) {
          const replica = this.upgradeTo;
          this.upgradeTo = undefined;
          this.sendHello(replica, false);
          if (this.centralSv !== undefined) this.ws.send(encodeSyncStep2(encodeOwnDiff(this.doc.ydoc, this.centralSv, new Set([this.doc.ydoc.clientID]))));
        }
        this.synced = true;
        break;
      case 'update':
        this.doc.applyUpdate(m.update, ORIGINS.upstream);
        break;
      case 'durable-ack':
        this.ackedSv = Y.decodeStateVector(m.stateVector);
        this.acks++;
        break;
      case 'welcome':
        this.welcome = m.welcome;
        this.welcomes++;
        break;
      default:
        break;
    }
  }

  /** Resolves once hello was answered and the initial state arrived. */
  async ready(timeoutMs = 5000): Promise<this> {
    await this.opened;
    const joinsFirst = this.opts.replica !== undefined && !this.opts.direct && !this.opts.joining;
    await waitFor(() => this.synced && (this.opts.noHello || this.welcomes >= (joinsFirst ? 2 : 1)), timeoutMs, 'welcome and sync-step2');
    return this;
  }

  /** True when central acknowledged every struct this client wrote. */
  allDurable(): boolean {
    const mine = Y.getState(this.doc.ydoc.store, this.doc.ydoc.clientID);
    return (this.ackedSv.get(this.doc.ydoc.clientID) ?? 0) >= mine;
  }

  /** Waits until everything written so far is durably acknowledged. */
  async durable(timeoutMs = 5000): Promise<void> {
    await waitFor(() => this.allDurable(), timeoutMs, 'durable-ack');
  }

  /** Sends raw bytes (forged messages). */
  sendRaw(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  /** Closes the socket and waits for the close. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await this.closed;
  }
}
