/**
 * The gateway's durable local updates on their way to central, one message in flight
 * (docs/sync-protocol.md, "Session" step 4). An idle link sends each update at once; under load,
 * everything that became durable while central stored the last message goes in the next one, so
 * central validates, applies and stores a few large updates instead of a stream of small ones (it
 * keeps up instead of falling behind and taking the cores the gateway needs). A missing durable-ack
 * holds the outbox {@link ACK_WAIT_MS} at most.
 */
import * as Y from 'yjs';
import { crashPoint } from '@fridgesync/shared';

/** Longest wait for central's durable-ack of the message in flight before the outbox goes anyway, ms. */
export const ACK_WAIT_MS = 1_000;

/** Where the outbox sends: whether a message can go now, and the sending itself. */
export interface OutboxLink {
  /** True while the connection streams local updates (after its own diff). */
  canSend(): boolean;
  send(update: Uint8Array): void;
}

/** Durable local updates waiting for central, paced by its durable-acks. */
export class UpstreamOutbox {
  /** Durable local updates waiting for the message in flight to be acknowledged. */
  private queued: Uint8Array[] = [];
  /** End clocks of the queued updates, per client. */
  private queuedTo = new Map<number, number>();
  /** End clocks of the message in flight (undefined: none). */
  private inFlight: Map<number, number> | undefined;
  private inFlightTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly link: OutboxLink,
    private readonly ackWaitMs = ACK_WAIT_MS,
  ) {}

  /** Queues a durable local update ending at `end` (`[client, clock]`; none when it only deletes). */
  push(update: Uint8Array, end: [number, number] | undefined): void {
    this.queued.push(update);
    if (end !== undefined) this.queuedTo.set(end[0], Math.max(end[1], this.queuedTo.get(end[0]) ?? 0));
    this.pump();
  }

  /** Central acknowledged `acked` (a decoded state vector): the message in flight may be done. */
  acked(acked: Map<number, number>): void {
    const flying = this.inFlight;
    if (flying === undefined || ![...flying].every(([client, clock]) => clock <= (acked.get(client) ?? 0))) return;
    clearTimeout(this.inFlightTimer);
    this.inFlight = undefined;
    this.pump();
  }

  /** Forgets everything (the connection is gone: the next session's own diff carries it all). */
  drop(): void {
    clearTimeout(this.inFlightTimer);
    this.queued = [];
    this.queuedTo = new Map();
    this.inFlight = undefined;
  }

  /** Sends what is queued as one update, unless a message is in flight or the link cannot send. */
  private pump(): void {
    if (this.queued.length === 0 || this.inFlight !== undefined || !this.link.canSend()) return;
    const update = this.queued.length === 1 ? this.queued[0]! : Y.mergeUpdates(this.queued);
    this.inFlight = this.queuedTo;
    this.queued = [];
    this.queuedTo = new Map();
    this.link.send(update);
    crashPoint('mid-sync');
    this.inFlightTimer = setTimeout(() => {
      this.inFlight = undefined;
      this.pump();
    }, this.ackWaitMs);
  }
}
