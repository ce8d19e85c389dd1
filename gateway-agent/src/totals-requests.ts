/**
 * Asking fridges for their current totals (the `resend-inventory` command, README "Contracts"):
 * when a fridge comes online (`presence.resendInventoryOnConnect`), and after the store was
 * rebuilt from central (local-replica.ts `rebuild`), which may have lost snapshots central never
 * got. After a rebuild, once the kept entries are written again, every configured fridge is asked,
 * again every {@link RESEND_AFTER_REBUILD_MS} while it is connected, until a snapshot of it is
 * written under the new epoch (a fridge coming back may not have subscribed to its commands yet
 * when the first request goes out), at most {@link RESEND_AFTER_REBUILD_TRIES} times.
 */
import type { Logger } from 'pino';
import { configIds, keys, type FridgeId } from '@fridgesync/shared';
import type { FridgeBroker } from './fridge-broker.ts';
import type { LocalReplica } from './local-replica.ts';
import type { AgentMetrics } from './metrics.ts';

/** After a rebuild, pause between requests for a fridge's totals, ms. */
export const RESEND_AFTER_REBUILD_MS = 1_000;
/** After a rebuild, most requests for a fridge's totals. */
export const RESEND_AFTER_REBUILD_TRIES = 30;

/** Options of {@link TotalsRequests}. */
export interface TotalsRequestsOptions {
  replica: LocalReplica;
  broker: FridgeBroker;
  logger: Logger;
  metrics: AgentMetrics;
}

/** Sends `resend-inventory` to fridges. */
export class TotalsRequests {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: TotalsRequestsOptions) {}

  /** Asks one fridge for its totals; a failure is logged at debug (the fridge may have just left). */
  ask(fridge: FridgeId): Promise<void> {
    return this.opts.broker.sendCommand(fridge, { type: 'resend-inventory' }).then(
      () => this.opts.metrics.commands.inc({ type: 'resend-inventory' }),
      (e: unknown) => this.opts.logger.debug({ fridge, err: (e as Error).message }, 'could not ask the fridge for its totals'),
    );
  }

  /** The store was rebuilt and the kept entries written again: asks every fridge until a snapshot of it is written. */
  afterRebuild(): void {
    const { replica, broker } = this.opts;
    const self = replica.replica;
    if (self === undefined) return;
    const owed = new Map((configIds(replica.doc, 'fridge') as FridgeId[]).map((f) => [f, replica.doc.get(self, keys.snapshot(f))]));
    let tries = 0;
    const ask = () => {
      if (replica.replica !== self || !replica.writable) return;
      for (const [f, before] of owed) if (replica.doc.get(self, keys.snapshot(f)) !== before) owed.delete(f);
      if (owed.size === 0 || tries++ >= RESEND_AFTER_REBUILD_TRIES) return;
      for (const f of owed.keys()) if (broker.fridgeConnected(f) !== false) void this.ask(f);
      this.timer = setTimeout(ask, RESEND_AFTER_REBUILD_MS);
      this.timer.unref();
    };
    clearTimeout(this.timer);
    ask();
  }

  /** Stops asking (shutdown). */
  stop(): void {
    clearTimeout(this.timer);
  }
}
