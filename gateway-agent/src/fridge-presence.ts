/**
 * What this process last decided to write about each fridge's presence (online, door), and the
 * rule that keeps presence writes at a bounded rate (README of the gateway agent, "Presence at a
 * bounded rate"): an online or door change is written at once; the same presence again only after
 * `minIntervalMs`. Shared by the status and telemetry handlers; decided on what this process last
 * decided to write, so messages applied in one turn see each other.
 */
import type { FridgeId, StatusPayload } from '@fridgesync/shared';

/** One presence decision. */
export interface PresenceSeen {
  on: boolean;
  door: string | undefined;
  /** When it was decided, ms (the handlers' clock). */
  at: number;
}

/** Options of {@link FridgePresence}. */
export interface FridgePresenceOptions {
  /** Least time between two writes of the same presence of one fridge, ms. */
  minIntervalMs: number;
  /** Called when a fridge comes online as far as this process knows (first heard, or after offline). */
  onOnline?: (fridge: FridgeId) => void;
}

/** Presence decisions per fridge (bounded by the number of fridges). */
export class FridgePresence {
  private readonly last = new Map<string, PresenceSeen>();

  constructor(private readonly opts: FridgePresenceOptions) {}

  /**
   * A status message at `now`: the decision to write it, or `undefined` when it repeats the last
   * one within the interval. A status naming a firmware version is always written.
   */
  status(fridge: FridgeId, status: StatusPayload, now: number): PresenceSeen | undefined {
    const last = this.last.get(fridge);
    const door = status.door ?? last?.door;
    if (last !== undefined && last.on === status.online && last.door === door && status.firmware === undefined && now - last.at < this.opts.minIntervalMs) return undefined;
    const seen = { on: status.online, door, at: now };
    this.last.set(fridge, seen);
    if (status.online && last?.on !== true) this.opts.onOnline?.(fridge);
    return seen;
  }

  /** A telemetry message at `now` (the fridge is online): whether its presence is to be written. */
  telemetry(fridge: FridgeId, door: string | undefined, now: number): boolean {
    const last = this.last.get(fridge);
    if (last !== undefined && last.on && last.door === door && now - last.at < this.opts.minIntervalMs) return false;
    this.last.set(fridge, { on: true, door, at: now });
    if (last?.on !== true) this.opts.onOnline?.(fridge);
    return true;
  }

  /** `seen` was not stored (the replica stopped writing): the fridge's next status counts as new. */
  notWritten(fridge: FridgeId, seen: PresenceSeen): void {
    if (this.last.get(fridge) === seen) this.last.delete(fridge);
  }

  /** Forgets every fridge: the next status or telemetry of each counts as coming online. */
  forget(): void {
    this.last.clear();
  }
}
