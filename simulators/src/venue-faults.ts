/**
 * Venue-wide faults (link cuts, gateway kills) through the caller's {@link FaultHooks}: every
 * `everyMs` one venue, in turn from a seeded start, is affected for `forMs`. Each fault opens a
 * window in the oversell check (the system cannot know about walk-ins it could not hear of).
 */
import type { FaultHooks, PeriodicFault } from './faults.ts';
import type { OversellCheck } from './oversell-check.ts';
import type { Prng } from './prng.ts';
import type { RunStats } from './stats.ts';

/** Faults that hit a whole venue. */
export type VenueFaultKind = 'link-cut' | 'gateway-kill';

/** One fault as it goes into the report. */
export interface FaultEvent {
  kind: VenueFaultKind;
  venueId: string;
  at: string;
  endedAt: string | undefined;
}

/** Options of {@link VenueFaults}. */
export interface VenueFaultsOptions {
  venues: readonly string[];
  hooks: FaultHooks;
  oversell: OversellCheck;
  stats: RunStats;
  prng: Prng;
  /** The fleet's cancellable timer. */
  later: (ms: number, fn: () => void) => void;
  /** False once the run is quiescing: no new faults. */
  running: () => boolean;
}

/** Schedules venue faults and records them (see the module doc). */
export class VenueFaults {
  /** Faults so far (the first 200). */
  readonly events: FaultEvent[] = [];
  private readonly active = new Map<string, () => Promise<void>>();

  constructor(private readonly opts: VenueFaultsOptions) {}

  /** Starts the periodic schedule of one fault kind. */
  schedule(kind: VenueFaultKind, f: PeriodicFault): void {
    const venues = this.opts.venues;
    if (venues.length === 0) return;
    let turn = this.opts.prng.fork(kind).int(0, venues.length - 1);
    const fire = () => {
      if (!this.opts.running()) return;
      void this.begin(kind, venues[turn++ % venues.length]!, f.forMs);
      this.opts.later(f.everyMs, fire);
    };
    this.opts.later(f.everyMs, fire);
  }

  /** Starts one fault now; it ends after `forMs` or at {@link endAll}. */
  async begin(kind: VenueFaultKind, venueId: string, forMs: number): Promise<void> {
    const key = `${kind}:${venueId}`;
    if (this.active.has(key)) return;
    const h = this.opts.hooks;
    const [start, stop] = kind === 'link-cut' ? [h.cutLink, h.restoreLink] : [h.killGateway, h.restartGateway];
    const close = this.note(kind, venueId);
    let ended = false;
    const finish = async () => {
      if (ended) return;
      ended = true;
      this.active.delete(key);
      await this.call(stop, venueId, `${kind} end`);
      close();
    };
    this.active.set(key, finish);
    await this.call(start, venueId, kind);
    this.opts.later(forMs, () => void finish());
  }

  /** Records a fault the caller causes itself; returns the function that ends it. */
  note(kind: VenueFaultKind, venueId: string): () => void {
    const startedAt = Date.now();
    const close = this.opts.oversell.venueFault(venueId, startedAt);
    this.opts.stats.inc('faultsInjected');
    const event: FaultEvent = { kind, venueId, at: new Date(startedAt).toISOString(), endedAt: undefined };
    if (this.events.length < 200) this.events.push(event);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const at = Date.now();
      close(at);
      event.endedAt = new Date(at).toISOString();
    };
  }

  /** Ends every active fault (restores links, restarts gateways). */
  async endAll(): Promise<void> {
    await Promise.all([...this.active.values()].map((finish) => finish()));
  }

  private async call(hook: ((v: string) => void | Promise<void>) | undefined, venueId: string, what: string): Promise<void> {
    if (!hook) return;
    try {
      await hook(venueId);
    } catch (e) {
      this.opts.stats.inc('faultHookErrors');
      this.opts.stats.error(`fault hook ${what} ${venueId}: ${(e as Error).message}`);
    }
  }
}
