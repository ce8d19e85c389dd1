/**
 * What central knows about each gateway's sync connection, for `GET /v1/venues/{id}`: connected,
 * since when, last message, last durable-ack, and (with the host) updates not yet durable. Its
 * watchers hear of every change (`gateway-feed.ts` publishes the `gateway` events from them).
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

/**
 * What changed on a link: `link` it connected or disconnected, `alert` a measurement the venue
 * detail flags (clock skew, a flagged increment), `activity` a message or a durable write.
 */
export type LinkChange = 'link' | 'alert' | 'activity';

/** Told of every change of a link (`gateway-feed.ts` turns them into `gateway` events). */
export type LinkListener = (venue: string, gw: string, change: LinkChange) => void;

/** Per venue and gateway link state. */
export class GatewayPresence {
  private readonly links = new Map<string, Map<string, GatewayLink>>();
  private readonly listeners = new Set<LinkListener>();
  constructor(private readonly now: () => number = Date.now) {}

  /** Calls `l` after every change of a link (on the hot path: `l` must only mark work); returns an unsubscribe function. */
  watch(l: LinkListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private tell(venue: string, gw: string, change: LinkChange): void {
    for (const l of this.listeners) l(venue, gw, change);
  }

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
    if (fresh && l.connected) {
      // Another connection of this gateway takes over: the one it replaces has ended.
      Object.assign(l, { connected: false, disconnectedAt: this.now() });
      this.tell(venue, gw, 'link');
    }
    const moved = l.replica !== replica;
    Object.assign(l, { connected: true, peerId, replica, lastMessageAt: this.now() });
    if (fresh) l.connectedAt = this.now();
    if (fresh || moved) this.tell(venue, gw, 'link');
  }
  /** Records the skew measured from a gateway's hello. */
  clock(venue: string, gw: string, skewMs: number): void {
    this.link(venue, gw).clockSkewMs = skewMs;
    this.tell(venue, gw, 'alert');
  }
  /** Records a flagged increment of a gateway's replica. */
  flagged(venue: string, gw: string, flag: Omit<RightsFlagRecord, 'at'>): void {
    this.link(venue, gw).rightsFlagged.set(`${flag.fridgeId}/${flag.mealId}`, { ...flag, at: this.now() });
    this.tell(venue, gw, 'alert');
  }
  seen(venue: string, gw: string): void {
    this.link(venue, gw).lastMessageAt = this.now();
    this.tell(venue, gw, 'activity');
  }
  durable(venue: string, gw: string): void {
    this.link(venue, gw).lastDurableAt = this.now();
    this.tell(venue, gw, 'activity');
  }
  disconnected(venue: string, gw: string, peerId: string): void {
    const l = this.link(venue, gw);
    if (l.peerId !== peerId) return; // a newer connection took over
    l.connected = false;
    l.disconnectedAt = this.now();
    this.tell(venue, gw, 'link');
  }

  /** The link of a gateway, if it ever connected since this process started. */
  get(venue: string, gw: string): GatewayLink | undefined {
    return this.links.get(venue)?.get(gw);
  }
}
