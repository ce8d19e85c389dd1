/**
 * Opens the domain event log as the config asks (docs/operations.md "Event log"): its own LevelDB
 * database under the data directory, or an in-memory one with the `memory` storage engine; the
 * {@link FactDeriver} that feeds it; and the retention timer.
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import type { Logger } from 'pino';
import type { CentralConfig } from '../config-schema.ts';
import type { Metrics } from '../metrics.ts';
import type { DomainEventLog } from './event-log-port.ts';
import { createLevelEventLog, type LevelLike } from './level-event-log.ts';
import { FactDeriver } from './fact-deriver.ts';

/** An attached event log. */
export interface AttachedEventLog {
  log: DomainEventLog;
  deriver: FactDeriver;
  /** Stops retention and the deriver, waits for appends in flight, closes the database. */
  close(): Promise<void>;
}

/** Options of {@link openEventLog}. */
export interface OpenEventLogOptions {
  config: CentralConfig;
  log: Logger;
  metrics: Metrics;
  deliveryBaseline?: (venue: string, deliveryId: string) => Record<string, number> | undefined;
}

/** Opens the event log, or returns undefined when `eventLog.enabled` is false. */
export async function openEventLog(o: OpenEventLogOptions): Promise<AttachedEventLog | undefined> {
  const c = o.config.eventLog;
  if (!c.enabled) return undefined;
  let db: LevelLike;
  if (o.config.storage.engine === 'level') {
    const dir = c.dataDir ?? join(o.config.storage.dataDir, 'event-log');
    await mkdir(dir, { recursive: true });
    db = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as LevelLike;
  } else db = new MemoryLevel<string, string>({ keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as LevelLike;
  const log = createLevelEventLog({ db, limits: { maxGroups: c.maxGroups, maxPending: c.maxPending, maxAttempts: c.maxAttempts }, retention: c.retention });
  await log.open();
  const deriver = new FactDeriver({
    log,
    deliveryBaseline: o.deliveryBaseline,
    onAppended: (events) => {
      for (const e of events) o.metrics.eventLogAppended.inc({ kind: e.fact.kind });
    },
    onError: (err, venueId) => o.log.error({ err, venueId }, 'event log: deriving or appending facts failed'),
  });
  o.metrics.observeGroups(() => log.groups());
  let pruning = Promise.resolve();
  const prune = setInterval(() => {
    pruning = log.prune(Date.now()).then(
      (r) => {
        o.metrics.eventLogPruned.inc({ acked: 'true' }, r.dropped - r.droppedUnacked);
        o.metrics.eventLogPruned.inc({ acked: 'false' }, r.droppedUnacked);
        if (r.droppedUnacked > 0) o.log.warn({ dropped: r.droppedUnacked }, 'event log: dropped events a consumer group had not acknowledged (eventLog.retention.hardMaxEvents)');
      },
      (err: unknown) => o.log.error({ err }, 'event log: retention failed'),
    );
  }, c.pruneEveryMs);
  prune.unref();
  return {
    log,
    deriver,
    async close() {
      clearInterval(prune);
      await pruning;
      await deriver.close();
      await log.close();
    },
  };
}
