/**
 * A history of what clients of the real processes attempted and what they were told, in the
 * style of Jepsen: every operation is recorded when it is invoked and completed with its outcome
 * (`ok`, `fail`, or `unknown` when the client timed out or the connection dropped, so it may or
 * may not have taken effect). The checker (checker.ts) reads a history together with the final
 * state each replica reports once the faults have healed (docs/reliability.md "Checker").
 */

/** What the client learned: done, refused, or it cannot tell. */
export type Outcome = 'ok' | 'fail' | 'unknown';

/** A fridge's full-total snapshot over MQTT (QoS 1); `ok` means PUBACKed. */
export interface SnapshotOp {
  kind: 'snapshot';
  fridge: string;
  boot: number;
  seq: number;
  items: Record<string, number>;
  outcome: Outcome;
  at: number;
  doneAt?: number;
}

/** A reservation attempt (`ok` = confirmed 200/201, `fail` = refused 4xx, `unknown` = timeout/5xx/reset). */
export interface OrderOp {
  kind: 'order';
  orderId: string;
  /** Who was asked: `central` or a gateway's kiosk (`kiosk:<gatewayId>`). */
  taker: string;
  fridge: string;
  items: Record<string, number>;
  outcome: Outcome;
  /** HTTP status, when one came back. */
  status?: number;
  at: number;
  doneAt?: number;
}

/** Any recorded operation. */
export type Op = SnapshotOp | OrderOp;

/** An order as one replica reports it at the end. */
export interface OrderRead {
  state: 'reserved' | 'cancelled' | 'expired' | 'picked_up';
  /** Every variant's items (one without a contents conflict). */
  variants: Array<Record<string, number>>;
  conflicts: string[];
}

/** One fridge/meal cell as one replica folds it. */
export interface CellRead {
  T: number;
  R: number;
  S: number;
}

/** What one replica reports after healing. */
export interface ReplicaRead {
  replica: string;
  /** fridge → meal → cell. */
  cells: Record<string, Record<string, CellRead>>;
  /** Orders by id (those the history names; an id the replica lacks is absent). */
  orders: Record<string, OrderRead>;
}

/** Records operations as a test performs them. */
export class History {
  readonly ops: Op[] = [];

  /** Records an invocation now; call the returned function with the outcome when it completes. */
  invoke<T extends Op>(op: Omit<T, 'outcome' | 'at' | 'doneAt'>): (outcome: Outcome, extra?: Partial<T>) => void {
    const rec = { ...op, outcome: 'unknown', at: Date.now() } as T;
    this.ops.push(rec);
    return (outcome, extra) => {
      Object.assign(rec, extra, { outcome, doneAt: Date.now() });
    };
  }

  /** Snapshots of one fridge, in (boot, seq) order. */
  snapshots(fridge?: string): SnapshotOp[] {
    return this.ops.filter((o): o is SnapshotOp => o.kind === 'snapshot' && (fridge === undefined || o.fridge === fridge)).sort((a, b) => a.boot - b.boot || a.seq - b.seq);
  }

  orders(): OrderOp[] {
    return this.ops.filter((o): o is OrderOp => o.kind === 'order');
  }

  /** Counts by kind and outcome, for the report. */
  summary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const o of this.ops) out[`${o.kind}:${o.outcome}`] = (out[`${o.kind}:${o.outcome}`] ?? 0) + 1;
    return out;
  }
}

/** Interprets an HTTP answer to an order attempt: 2xx confirmed, 4xx refused, anything else unknown. */
export function orderOutcome(status: number | undefined): Outcome {
  if (status === undefined) return 'unknown';
  if (status >= 200 && status < 300) return 'ok';
  // 429 (rate limit) and 503 (not ready) refuse before anything is stored; other 5xx may not.
  if (status >= 400 && status < 500) return 'fail';
  return status === 503 ? 'fail' : 'unknown';
}
