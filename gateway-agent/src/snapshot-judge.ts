/**
 * Judging snapshots the snapshot intake holds (snapshot-intake.ts): each is judged when it
 * arrives, against the document as it is then, with the newest snapshot judged applied and not yet
 * seen written counting as written ({@link snapshotRun}). Its outcome and era are those that
 * writing it into the document at once would give (docs/design.md "Observed totals").
 */
import { snapshotRun, type FridgeId, type InventoryPayload, type ReplicaId, type SnapshotRun, type SnapshotValue, type VenueDoc } from '@fridgesync/shared';

/** How one fridge's snapshots are judged, kept across folds. */
interface Judging {
  /** Valid while the document's observations of the fridge and the replica id are these. */
  run: SnapshotRun | undefined;
  observations: number;
  replica: ReplicaId | undefined;
  /** The newest snapshot judged applied: held, being folded, or written (then also in the document). */
  unwritten: SnapshotValue | undefined;
}

/** Judges the snapshots of every fridge against the replica's document. */
export class SnapshotJudge {
  private readonly judging = new Map<FridgeId, Judging>();

  /** `source.doc` is read at every judgement: the replica replaces its document when it is rebuilt. */
  constructor(private readonly source: { readonly doc: VenueDoc }) {}

  /**
   * Judges one snapshot of `fridge`: the value to write when it is applied (the newest judged so
   * far), `undefined` when it is stale.
   */
  judge(fridge: FridgeId, snapshot: InventoryPayload): SnapshotValue | undefined {
    const j = this.judgingOf(fridge);
    if (j.run!.judge(snapshot) !== 'applied') return undefined;
    return (j.unwritten = j.run!.newest);
  }

  /**
   * `value` (returned by {@link judge}) is in the document now, or was superseded by a newer one
   * that is: the document alone judges the fridge's next snapshots again, unless a newer one was
   * judged applied meanwhile.
   */
  written(fridge: FridgeId, value: SnapshotValue | undefined): void {
    const j = this.judging.get(fridge);
    if (j !== undefined && j.unwritten === value) j.unwritten = undefined;
  }

  /** The fridge's judging state, its run started afresh if the document's observations of it changed. */
  private judgingOf(fridge: FridgeId): Judging {
    let j = this.judging.get(fridge);
    if (j === undefined) {
      j = { run: undefined, observations: -1, replica: undefined, unwritten: undefined };
      this.judging.set(fridge, j);
    }
    const doc = this.source.doc;
    const observations = doc.index.observations(fridge);
    if (j.run === undefined || j.observations !== observations || j.replica !== doc.replica) {
      j.run = snapshotRun(doc, doc.replica, fridge, j.unwritten);
      j.observations = observations;
      j.replica = doc.replica;
    }
    return j;
  }
}
