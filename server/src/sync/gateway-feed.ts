/**
 * The `gateway` events of `GET /v1/events`: each carries one gateway exactly as the venue detail
 * lists it (`gatewayJson` in venue-views.ts), so a dashboard follows link state and lag without
 * reading venues again (README "Read views and live events").
 *
 * When: a gateway connecting or disconnecting, or moving its connection to another replica (a
 * joining gateway's upgrade to its new epoch), publishes at once (at the end of the current task,
 * so a hello's clock measurement rides along with its connect). Everything else publishes at most
 * once per {@link MIN_INTERVAL_MS} per gateway and only when the view changed: sync state and
 * pending updates move with every update a busy gateway sends (syncing, then synced a few ms later
 * once durable), and an event per update would flood the feed and its resume window. A burst of
 * messages is looked at once, {@link MIN_INTERVAL_MS} after its first message; what settled back
 * (synced again, nothing pending) publishes nothing. Left out of the comparison: the times of the
 * last message and durable write (they move with every message), and the lag of a disconnected
 * gateway (it is the time since `lastMessageAt` and grows with the clock; a reader counts it
 * from that time rather than central publishing one event a second per offline gateway).
 *
 * Only gateways that connected since central started are watched: the view of the others comes
 * from the document alone and carries no link state.
 */
import type { GatewayJson } from '@fridgesync/shared';
import type { EventHub } from '../event-hub.ts';
import type { ReadModel } from '../read-model.ts';
import type { DocRegistry } from '../doc-registry.ts';
import { gatewayJson } from '../venue-views.ts';
import type { GatewayPresence, LinkChange } from './gateway-presence.ts';

/** Least time between two `gateway` events of one gateway that do not change its connection, ms. */
export const MIN_INTERVAL_MS = 1000;

/** What {@link GatewayFeed} reads and publishes to. */
export interface GatewayFeedDeps {
  model: ReadModel;
  presence: GatewayPresence;
  registry: DocRegistry;
  hub: EventHub;
  /** `sync.maxClockSkewMs` (the view's `clockSkewAlert`). */
  maxClockSkewMs: number;
  now?: () => number;
}

/** The last event of one gateway, and the check waiting for its next. */
interface Published {
  /** {@link fingerprint} of the view last published; `undefined` before the first. */
  fingerprint: string | undefined;
  /** Its connection and the replica on it: a change of either publishes at once. */
  link: string;
  /** When it was published, ms (0 before the first). */
  at: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The view without what moves with every message or with the clock alone (see the module
 * comment): two views with the same fingerprint make no event.
 */
function fingerprint(g: GatewayJson): string {
  const { lastMessageAt: _m, lastDurableAckAt: _d, syncLagMs, ...rest } = g;
  return JSON.stringify([rest, g.connected ? syncLagMs : null]);
}

/** Publishes `gateway` events from link changes and from the fold (lost reconcilership). */
export class GatewayFeed {
  /** `<venue>\n<gateway>` → its last event; one entry per gateway that connected since start. */
  private readonly published = new Map<string, Published>();
  /** Gateways to look at in the microtask already queued. */
  private readonly soon = new Set<string>();
  private readonly now: () => number;
  private readonly unsubscribe: Array<() => void>;
  private closed = false;

  constructor(private readonly deps: GatewayFeedDeps) {
    this.now = deps.now ?? Date.now;
    this.unsubscribe = [
      deps.presence.watch((venue, gw, change) => this.changed(venue, gw, change)),
      // A fold can hand a connected gateway's fridges to another replica (`reconcilerLost`), and a
      // venue's configuration can rename or remove a gateway.
      deps.hub.subscribe((e) => {
        if (e.data.type === 'fridge' || e.data.type === 'venue') this.venueChanged(e.data.venueId);
      }),
    ];
  }

  /** Stops publishing (central's shutdown). */
  close(): void {
    this.closed = true;
    for (const u of this.unsubscribe) u();
    for (const p of this.published.values()) clearTimeout(p.timer);
    this.soon.clear();
  }

  private changed(venue: string, gw: string, change: LinkChange): void {
    const key = `${venue}\n${gw}`;
    if (change !== 'activity') return this.checkSoon(key);
    // A burst of messages is looked at once, after it had time to become durable.
    const p = this.entry(key);
    if (p.timer === undefined) this.schedule(key, p, this.now() + MIN_INTERVAL_MS);
  }

  private venueChanged(venue: string): void {
    const vm = this.deps.model.venues.get(venue);
    if (vm === undefined) return;
    for (const gw of vm.gateways.keys()) if (this.published.has(`${venue}\n${gw}`)) this.checkSoon(`${venue}\n${gw}`);
  }

  private entry(key: string): Published {
    let p = this.published.get(key);
    if (p === undefined) this.published.set(key, (p = { fingerprint: undefined, link: '', at: 0, timer: undefined }));
    return p;
  }

  /**
   * Looks at a gateway once the current task is done: never from inside a publish (subscribers
   * after this one would get the `gateway` event before the event that caused it, out of id order).
   */
  private checkSoon(key: string): void {
    if (this.soon.size === 0) {
      queueMicrotask(() => {
        const keys = [...this.soon];
        this.soon.clear();
        for (const k of keys) this.check(k);
      });
    }
    this.soon.add(key);
  }

  private schedule(key: string, p: Published, at: number): void {
    clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      p.timer = undefined;
      this.check(key);
    }, Math.max(0, at - this.now()));
    p.timer.unref();
  }

  /** Publishes the gateway's view if it changed, now or (within {@link MIN_INTERVAL_MS} of the last) later. */
  private check(key: string): void {
    if (this.closed) return;
    const [venue, gw] = key.split('\n') as [string, string];
    const p = this.entry(key);
    const vm = this.deps.model.venues.get(venue);
    const now = this.now();
    // Built from the model as it is folded now: a check never forces a fold (reads do that).
    const view = vm?.record === undefined ? undefined : gatewayJson(this.deps.model, vm, gw, this.deps.presence, this.deps.registry.peek(vm.venueId), now, this.deps.maxClockSkewMs);
    if (view === undefined) return;
    const fp = fingerprint(view);
    if (fp === p.fingerprint) return;
    const link = `${view.connected}/${view.replica}`;
    if (link === p.link && now - p.at < MIN_INTERVAL_MS) {
      if (p.timer === undefined) this.schedule(key, p, p.at + MIN_INTERVAL_MS);
      return;
    }
    clearTimeout(p.timer);
    p.timer = undefined;
    Object.assign(p, { fingerprint: fp, link, at: now });
    this.deps.hub.publish({ type: 'gateway', venueId: venue, gateway: view });
  }
}
