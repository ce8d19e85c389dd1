/**
 * The live change feed behind `GET /v1/events`. Events get ids `<boot>-<seq>`: `seq` grows by one
 * per event, `boot` names this process start, so an id from before a restart is recognised and
 * answered with `refetch` instead of a silent gap. A bounded ring keeps recent events (by count and
 * age) for `Last-Event-ID` resume.
 */
import { randomBytes } from 'node:crypto';
import type { VenueLiveEvent } from '@fridgesync/shared';

/** One change event. */
export interface ChangeEvent {
  id: string;
  seq: number;
  at: number;
  /** What is sent: its `type` is the SSE event name (`fridge`, `order`, `delivery`, `gateway`, `venue`). */
  data: VenueLiveEvent;
}

/** A subscriber; returns false when it should be dropped. */
export type EventListener = (e: ChangeEvent) => void;

/** What a resuming client gets. */
export type Resume = { ok: true; events: ChangeEvent[] } | { ok: false };

/** Options of {@link EventHub}. */
export interface EventHubOptions {
  /** Events kept for resume (bounded ring: memory stays flat whatever the rate). */
  retainEvents: number;
  /** Age limit of kept events, ms. */
  retainMs: number;
  now?: () => number;
}

/** Publishes change events to subscribers and keeps a resume window. */
export class EventHub {
  readonly boot = randomBytes(4).toString('hex');
  private seq = 0;
  private ring: ChangeEvent[] = [];
  private readonly listeners = new Set<EventListener>();
  private readonly now: () => number;

  constructor(private readonly opts: EventHubOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The id of the latest event (or of "nothing yet"). */
  lastId(): string {
    return `${this.boot}-${this.seq}`;
  }

  /** Publishes one event. */
  publish(data: VenueLiveEvent): ChangeEvent {
    const seq = ++this.seq;
    const e: ChangeEvent = { id: `${this.boot}-${seq}`, seq, at: this.now(), data };
    this.ring.push(e);
    const cutoff = e.at - this.opts.retainMs;
    let drop = Math.max(0, this.ring.length - this.opts.retainEvents);
    while (drop < this.ring.length && this.ring[drop]!.at < cutoff) drop++;
    if (drop > 0) this.ring = this.ring.slice(drop);
    for (const l of this.listeners) l(e);
    return e;
  }

  /** Subscribes; returns an unsubscribe function. */
  subscribe(l: EventListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Number of subscribers. */
  get subscribers(): number {
    return this.listeners.size;
  }

  /** Events after `lastEventId`, or `{ok:false}` when the gap cannot be filled (refetch). */
  since(lastEventId: string): Resume {
    const m = /^([0-9a-f]+)-(\d+)$/.exec(lastEventId);
    if (m === null || m[1] !== this.boot) return { ok: false };
    const seq = Number(m[2]);
    if (seq > this.seq) return { ok: false };
    if (seq === this.seq) return { ok: true, events: [] };
    const first = this.ring[0];
    // Resumable only if the very next event is still kept.
    if (first === undefined || first.seq > seq + 1) return { ok: false };
    return { ok: true, events: this.ring.filter((e) => e.seq > seq) };
  }
}
