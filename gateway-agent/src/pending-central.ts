/**
 * Which durable local updates central has not yet stored (docs/sync-protocol.md "Session" step 6):
 * the end clock of each update as it becomes durable here, and of each own client whose structs a
 * connection's first own diff carried (what an earlier process stored and central lacks), dropped
 * once a durable-ack covers it.
 * `/status` shows the count (`pendingUpdates`), the gauge `fridgesync_gateway_updates_pending_central`
 * follows it, and a graceful shutdown waits for it to reach zero.
 */

/** Durable local updates not yet acknowledged durable by central. */
export class PendingCentral {
  /**
   * `[client, clock]` after each durable local update, oldest first (one entry per update: a few
   * bytes each, so even days offline stay small).
   */
  private unacked: Array<[number, number]> = [];
  private lastAck: number | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** Updates central has not acknowledged yet. */
  get count(): number {
    return this.unacked.length;
  }

  /** When the last durable-ack arrived (ms since the epoch), if any did. */
  get lastAckAt(): number | undefined {
    return this.lastAck;
  }

  /** A local update ending at `end` (`[client, clock]`) is durable here; none when it only deletes. */
  durable(end: [number, number] | undefined): void {
    if (end !== undefined) this.unacked.push(end);
  }

  /**
   * Central acknowledged `acked` (a decoded state vector) as durable. `own` are the client ids this
   * process writes with.
   */
  acked(acked: ReadonlyMap<number, number>, own: ReadonlySet<number>): void {
    this.lastAck = this.now();
    // Central stores a client's structs in order, so the acknowledged entries are a prefix per
    // client; entries of a client this process no longer writes with (an earlier epoch central
    // retired) can never be acknowledged and are dropped.
    this.unacked = this.unacked.filter(([client, clock]) => own.has(client) && clock > (acked.get(client) ?? 0));
  }
}
