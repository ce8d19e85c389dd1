/**
 * Forged variants of real traffic, built from the simulation's current state: central must reject
 * each with the expected code and without touching its document, and accept the honest control.
 * Increments beyond what the sender should create are accepted and flagged, not rejected
 * (docs/sync-protocol.md, "Rights creation beyond stock").
 */
import * as Y from 'yjs';
import { ORIGINS, cellView, currentReconciler, keys, observedSnapshot, rightsFold, validateUpdate, type EntryWriter } from '@fridgesync/shared';
import { C1, F1, M1, newDoc } from './fixtures.ts';
import type { SimNetwork, SimNode } from './sim-network.ts';

const fail = (msg: string): never => {
  throw new Error(msg);
};

/** Checks forged updates against central `c1` of `net`; throws on the first unexpected verdict. */
export function checkForgeries(net: SimNetwork): void {
  /** Writes a snapshot newer than any (a later boot) reporting one meal more than `S + R` at c1. */
  const stockOneMore = (w: EntryWriter) => {
    const snap = observedSnapshot(c1, F1);
    const cell = cellView(c1, F1, M1);
    w.set(keys.snapshot(F1), { b: (snap?.b ?? 0) + 1, e: 0, q: 1, ts: snap?.ts ?? 0, i: { ...(snap?.i ?? {}), [M1]: cell.S + cell.R + 1 } });
  };
  const c1 = net.node('c1').doc;
  const g2 = net.node('g2');
  const g1 = net.node('g1');
  const sv = Y.encodeStateVector(c1.ydoc);
  const verdict = (u: Uint8Array, sender: SimNode, clients: Set<number>) => validateUpdate(c1, u, { replica: sender.replica, clients });
  const expectReject = (what: string, v: ReturnType<typeof verdict>, codes: string[]) => {
    if (v.ok || !codes.includes(v.code)) fail(`forgery "${what}" got ${JSON.stringify(v)}, expected ${codes.join('|')}`);
  };
  const expectFlag = (what: string, v: ReturnType<typeof verdict>, code: string) => {
    if (!v.ok || !v.flags.some((f) => f.code === code && f.fridge === F1 && f.meal === M1)) fail(`forgery "${what}" got ${JSON.stringify(v)}, expected accepted and flagged ${code}`);
  };
  const g1Clients = net.registered.get(g1.replica)!;
  const g2Clients = net.registered.get(g2.replica)!;
  // g2 writes into g1's root, in a scratch copy of central's state.
  const scratch = newDoc(g2.replica, [...g2Clients][0]!, Y.encodeStateAsUpdate(c1.ydoc));
  const cap: Uint8Array[] = [];
  scratch.ydoc.on('update', (u: Uint8Array) => cap.push(u));
  scratch.ydoc.getArray(`r:${g1.replica}`).push([[keys.counter(F1, M1), [999, 0]]]);
  expectReject('write into another root', verdict(cap.pop()!, g2, g2Clients), ['FOREIGN_STRUCTURE']);
  // g1 (its own client id) shrinks its counter, or decrements beyond its rights.
  const g1scratch = () => {
    const d = newDoc(g1.replica, [...g1Clients].at(-1)!, Y.encodeStateAsUpdate(c1.ydoc));
    const cap1: Uint8Array[] = [];
    d.ydoc.on('update', (u: Uint8Array) => cap1.push(u));
    return { d, cap1 };
  };
  const own = c1.get(g1.replica, keys.counter(F1, M1)) as [number, number] | undefined;
  {
    // A new, honest increment by g1 (a newer snapshot reports one more meal than S + R): accepted
    // from g1, rejected when g2 claims it.
    const { d, cap1 } = g1scratch();
    d.transact(ORIGINS.test, (w) => {
      stockOneMore(w);
      w.set(keys.counter(F1, M1), [(own?.[0] ?? 0) + 1, own?.[1] ?? 0]);
    });
    const u = cap1.pop()!;
    const honest = verdict(u, g1, g1Clients);
    if (!honest.ok) fail(`honest control update rejected: ${JSON.stringify(honest)}`);
    expectReject("g1's update sent as g2", verdict(u, g2, g2Clients), ['FOREIGN_CLIENT']);
  }
  if (currentReconciler(c1, F1) === g1.replica) {
    // The reconciler creating a million rights: more than any history ever delivers (at most six
    // meals a step), so beyond any stock a snapshot could report, whatever the bound's details.
    const { d, cap1 } = g1scratch();
    const cur = own ?? [0, 0];
    d.transact(ORIGINS.test, (w) => w.set(keys.counter(F1, M1), [cur[0] + 1_000_000, cur[1]]));
    expectFlag('increment beyond stock', verdict(cap1.pop()!, g1, g1Clients), 'OVER_STOCK');
  }
  if (currentReconciler(c1, F1) !== g2.replica) {
    // The standby creating rights for a fridge it does not reconcile, even within stock.
    const s2 = newDoc(g2.replica, [...g2Clients][0]!, Y.encodeStateAsUpdate(c1.ydoc));
    const cap2: Uint8Array[] = [];
    s2.ydoc.on('update', (u: Uint8Array) => cap2.push(u));
    const own2 = c1.get(g2.replica, keys.counter(F1, M1)) as [number, number] | undefined;
    s2.transact(ORIGINS.test, (w) => {
      stockOneMore(w);
      w.set(keys.counter(F1, M1), [(own2?.[0] ?? 0) + 1, own2?.[1] ?? 0]);
    });
    expectFlag('increment by a replica that is not the reconciler', verdict(cap2.pop()!, g2, g2Clients), 'NOT_RECONCILER');
  }
  if (own !== undefined && own[0] > 0) {
    const { d, cap1 } = g1scratch();
    d.transact(ORIGINS.test, (w) => w.set(keys.counter(F1, M1), [own[0] - 1, own[1]]));
    expectReject('shrinking counter', verdict(cap1.pop()!, g1, g1Clients), ['NOT_FORWARD']);
  }
  {
    const { d, cap1 } = g1scratch();
    const cur = own ?? [0, 0];
    const rights = rightsFold(c1, F1, M1).rights.get(g1.replica) ?? 0;
    d.transact(ORIGINS.test, (w) => w.set(keys.counter(F1, M1), [cur[0], cur[1] + rights + 1]));
    expectReject('decrement beyond rights', verdict(cap1.pop()!, g1, g1Clients), ['RIGHTS_NEGATIVE']);
  }
  // g2 deletes c1's live items.
  const liveOfC1 = [...(c1.entriesOf(C1).keys())];
  if (liveOfC1.length > 0) {
    const del = newDoc(g2.replica, [...g2Clients][0]!, Y.encodeStateAsUpdate(c1.ydoc));
    const capd: Uint8Array[] = [];
    del.ydoc.on('update', (u: Uint8Array) => capd.push(u));
    del.ydoc.transact(() => del.ydoc.getArray(`r:${C1}`).delete(0, 1));
    if (capd.length > 0) expectReject('deleting another replica\'s items', verdict(capd.pop()!, g2, g2Clients), ['FOREIGN_DELETE']);
  }
  if (Buffer.compare(Buffer.from(sv), Buffer.from(Y.encodeStateVector(c1.ydoc))) !== 0) fail('validation changed the live document');
}
