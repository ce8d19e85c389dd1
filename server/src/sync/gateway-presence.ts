/**
 * What central knows about each gateway's sync connection, for `GET /v1/venues/{id}`: connected,
 * since when, last message, last durable-ack, and (with the host) updates not yet durable.
 */

/** Presence of one gateway. */
export interface GatewayLink {
  connected: boolean;
  replica: string | undefined;
  peerId: string | undefined;
  connectedAt: number | undefined;
  lastMessageAt: number | undefined;
  lastDurableAt: number | undefined;
  disconnectedAt: number | undefined;
  /** The gateway's clock minus central's at its last hello, ms (within one network latency); undefined if it sent none. */
  clockSkewMs: number | undefined;
  /**
   * Increments of this gateway central accepted and flagged since it started (docs/sync-protocol.md,
   * "Rights creation beyond stock"), the latest per fridge and meal.
   */
  rightsFlagged: Map<string, RightsFlagRecord>;
}

/** A flagged increment as the venue detail lists it. */
export interface RightsFlagRecord {
  fridgeId: string;
  mealId: string;
  code: string;
  replica: string;
  reason: string;
  at: number;
}

/** Per venue and gateway link state. */
export class GatewayPresence {
  private readonly links = new Map<string, Map<string, GatewayLink>>();
  constructor(
    private readonly now: () => number = Date.now,
    /** Told when a gateway's link goes up or down (the event log's `gateway.online` / `gateway.offline`). */
    private readonly onLink?: (venue: string, gateway: string, link: Readonly<GatewayLink>) => void,
  ) {}

  private link(venue: string, gw: string): GatewayLink {
    let m = this.links.get(venue);
    if (m === undefined) this.links.set(venue, (m = new Map()));
    let l = m.get(gw);
    if (l === undefined) {
      l = { connected: false, replica: undefined, peerId: undefined, connectedAt: undefined, lastMessageAt: undefined, lastDurableAt: undefined, disconnectedAt: undefined, clockSkewMs: undefined, rightsFlagged: new Map() };
      m.set(gw, l);
    }
    return l;
  }

  connected(venue: string, gw: string, peerId: string, replica: string | undefined): void {
    const l = this.link(venue, gw);
    // A connection says hello twice when it joins first (read-only, then its replica): one link.
    const fresh = !l.connected || l.peerId !== peerId;
    Object.assign(l, { connected: true, peerId, replica, lastMessageAt: this.now() });
    if (!fresh) return;
    l.connectedAt = this.now();
    this.onLink?.(venue, gw, l);
  }
  /** Records the skew measured from a gateway's hello. */
  clock(venue: string, gw: string, skewMs: number): void {
    this.link(venue, gw).clockSkewMs = skewMs;
  }
  /** Records a flagged increment of a gateway's replica. */
  flagged(venue: string, gw: string, flag: Omit<RightsFlagRecord, 'at'>): void {
    this.link(venue, gw).rightsFlagged.set(`${flag.fridgeId}/${flag.mealId}`, { ...flag, at: this.now() });
  }
  seen(venue: string, gw: string): void {
    this.link(venue, gw).lastMessageAt = this.now();
  }
  durable(venue: string, gw: string): void {
    this.link(venue, gw).lastDurableAt = this.now();
  }
  disconnected(venue: string, gw: string, peerId: string): void {
    const l = this.link(venue, gw);
    if (l.peerId !== peerId) return; // a newer connection took over
    l.connected = false;
    l.disconnectedAt = this.now();
    this.onLink?.(venue, gw, l);
  }

  /** The link of a gateway, if it ever connected since this process started. */
  get(venue: string, gw: string): GatewayLink | undefined {
    return this.links.get(venue)?.get(gw);
  }
}
