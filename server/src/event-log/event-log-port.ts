/**
 * The port of the domain event log (docs/design.md "Domain event log"): an ordered, durable log of
 * domain facts with deterministic ids, read by position, and handed out to consumer groups with
 * acknowledgement, redelivery after a visibility timeout and a dead-letter list. Implementation:
 * LevelDB (level-event-log.ts, over a classic-level or memory-level database); every
 * implementation runs the contract suite in server/test/event-log/event-log-contract.ts.
 *
 * Durability: when `append`, `claim` or `ack` resolves, what it changed survives `kill -9`
 * (synced writes).
 */
import type { DomainFactData } from '@fridgesync/shared';

/** A fact to append: its id is derived from what identifies it (fact-ids.ts), never random. */
export interface DomainFact {
  id: string;
  venueId: string;
  fact: DomainFactData;
  /**
   * An incident this fact opens or closes (a shortage of one fridge and meal): the log keeps the
   * open ones per venue with the id of the fact that opened them, so the closing fact can be
   * derived after a restart too ({@link DomainEventLog.openIncidents}).
   */
  incident?: { key: string; open: boolean };
}

/** A fact as the log holds it. */
export interface LoggedEvent extends DomainFact {
  /** Place in the log: grows by one per appended fact, never reused. */
  position: number;
  /** When it was appended, ms since the epoch. */
  at: number;
}

/** One page of the log. */
export interface LogPage {
  events: LoggedEvent[];
  /** Position of the oldest retained event, 0 when empty. */
  oldest: number;
  /** Position of the newest event, 0 when empty. */
  latest: number;
  /** True when events after `after` were dropped by retention (the reader missed some). */
  gap: boolean;
}

/** An event handed to a consumer group. */
export interface ClaimedEvent extends LoggedEvent {
  /** Deliveries of this event to the group so far, this one included. */
  attempts: number;
}

/** A dead-lettered event of a group. */
export interface DeadEvent extends LoggedEvent {
  attempts: number;
  deadAt: number;
}

/** What a consumer group looks like from outside (metrics, operations). */
export interface GroupInfo {
  name: string;
  /** Highest position ever handed to the group. */
  cursor: number;
  /** Events handed out and not acknowledged yet. */
  pending: number;
  /** Events after the cursor plus pending ones: what the group still has to work through. */
  lag: number;
  dead: number;
}

/** Bounds of consumer groups (the `eventLog` config section). */
export interface GroupLimits {
  /** Most groups the log keeps; a claim that would create one more is refused (TOO_MANY_GROUPS). */
  maxGroups: number;
  /** Most unacknowledged events per group; a claim hands out only redeliveries beyond it. */
  maxPending: number;
  /** Deliveries of one event before it moves to the group's dead-letter list. */
  maxAttempts: number;
}

/** Retention (the `eventLog.retention` config section). */
export interface Retention {
  /** Events older than this may be dropped, ms; 0 keeps them by age. */
  maxAgeMs: number;
  /** Events beyond this count (oldest first) may be dropped; 0 keeps them by count. */
  maxEvents: number;
  /** Events beyond this count are dropped even if a group has not acknowledged them. */
  hardMaxEvents: number;
}

/** What one retention pass did. */
export interface PruneResult {
  dropped: number;
  /** Of those, events some group had not acknowledged (only past `hardMaxEvents`). */
  droppedUnacked: number;
}

/** The domain event log. */
export interface DomainEventLog {
  /** Opens the store and learns the head and tail positions. Idempotent. */
  open(): Promise<void>;
  /**
   * Appends the facts whose ids the log does not hold yet, in the given order; resolves to those
   * appended (a fact seen before, in this call or earlier, is skipped). Concurrent calls are
   * serialised: positions follow the order of the calls.
   */
  append(facts: readonly DomainFact[]): Promise<LoggedEvent[]>;
  /** The venue's open incidents: incident key → id of the fact that opened it. */
  openIncidents(venueId: string): Promise<Map<string, string>>;
  /** Up to `limit` events after position `after`, of one venue when `venueId` is given. */
  read(after: number, limit: number, venueId?: string): Promise<LogPage>;
  /**
   * Hands the group its next batch: events whose visibility timed out (attempts + 1; those past
   * `maxAttempts` move to the dead-letter list instead), then events after its cursor, at most
   * `limit` in all, ordered by position. Creates the group on first use (TOO_MANY_GROUPS beyond
   * `maxGroups`); a new group starts at the oldest retained event.
   */
  claim(group: string, limit: number, visibilityMs: number, now: number): Promise<ClaimedEvent[]>;
  /** Acknowledges events of a group by id (UNKNOWN_GROUP for a group that does not exist). */
  ack(group: string, ids: readonly string[]): Promise<{ acked: string[]; notPending: string[] }>;
  /** The group's dead-letter list, oldest first (UNKNOWN_GROUP for a group that does not exist). */
  dead(group: string, limit: number): Promise<DeadEvent[]>;
  /** Removes a group with its pending and dead entries (UNKNOWN_GROUP if it does not exist). */
  deleteGroup(group: string): Promise<void>;
  /** Every group with its lag. */
  groups(): Promise<GroupInfo[]>;
  /** Applies retention once. */
  prune(now: number): Promise<PruneResult>;
  /** Waits for writes in flight, then closes. */
  close(): Promise<void>;
}
