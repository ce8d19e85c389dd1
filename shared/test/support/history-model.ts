/**
 * The records of the sequential model that `history.ts` plays histories against: fridge messages in
 * flight, what is known of each order, and the counts a run reports.
 */
import type { MealId } from '@fridgesync/shared';
import type { NodeName } from './sim-network.ts';

/** A fridge message on its way to a gateway. */
export interface MqttMsg {
  to: 'g1' | 'g2';
  kind: 'inv' | 'pick';
  boot: number;
  seq: number;
  ts: number;
  items: Record<string, number>;
  orderId?: string;
}

/** What the sequential model knows of one order. */
export interface OrderModel {
  id: string;
  lines: Array<[MealId, number]>;
  /** Every contents a taker confirmed under this id (canonical lines JSON → lines): more than one is a contents conflict. */
  variants: Map<string, Array<[MealId, number]>>;
  /** Replicas where a reservation was confirmed (`created`). */
  createdAt: Set<NodeName>;
  states: Set<'reserved' | 'cancelled' | 'expired' | 'picked_up'>;
  pickedPhysically: boolean;
  /**
   * A retry created the order again after it had settled: the creating replica never saw it, and
   * pruning may have removed the settled entries everywhere (the id is only idempotent within the
   * retention horizon). The order then folds either to its settled state (some settled entry
   * survives) or to the new reservation.
   */
  recreated?: boolean;
  /**
   * A replica pruned its entry of the order. It prunes when every entry it sees is terminal and
   * past the retention horizon; an entry of the same id it has not seen yet (a retry created the
   * order at a partitioned replica too) may arrive later and settle differently, and the state
   * only the pruned entry carried is then forgotten (ids meet only within the retention horizon).
   * The order then folds to a terminal state some replica recorded, not necessarily the lattice's
   * winner.
   */
  pruned?: boolean;
}

/** Outcome counters of one history (for the report line). */
export interface HistoryStats {
  steps: number;
  reserved: number;
  soldOut: number;
  /** Orders at a central taker that held rights above `T_eff − R` (capped: docs/sync-protocol.md, "Rights creation beyond stock"). */
  rightsAboveStock: number;
  replayed: number;
  conflicts: number;
  /** Orders that two takers confirmed with different contents (a contents conflict). */
  contentConflicts: number;
  recalls: number;
  epochChanges: number;
  validated: number;
  deferred: number;
}
