/**
 * Yjs 13.6's `encodeStateAsUpdate` appends the document's *pending* structs and delete set to every
 * diff, unfiltered by the target state vector. A gateway holding pending foreign structs (it received
 * updates out of causal order) would send a sync step 2 carrying another replica's structs, and
 * central would reject it (FOREIGN_CLIENT). `encodeOwnDiff` leaves pending content out; this test
 * keeps it that way. (Over one FIFO websocket a gateway rarely holds pending structs, which is why
 * the convergence simulation with FIFO links does not meet this; reordering inside a link does.)
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ORIGINS, encodeOwnDiff, requestRights, validateUpdate } from '@fridgesync/shared';
import { C1, C2, F1, GW1, M1, captureUpdates, configureFridge, newDoc, syncInto } from './support/fixtures.ts';

describe('encodeOwnDiff with pending foreign structs', () => {
  it('carries only the sender’s own structs even while foreign structs are pending', () => {
    const c1 = newDoc(C1, 1);
    configureFridge(c1, F1, 'g1');
    const c2 = newDoc(C2, 2);
    syncInto(c2, c1);
    const fromC2 = captureUpdates(c2);
    c2.transact(ORIGINS.api, (w) => requestRights(w, F1, M1, 1));
    c2.transact(ORIGINS.api, (w) => requestRights(w, F1, M1, 1));
    const g = newDoc(GW1, 11);
    syncInto(g, c1);
    g.applyUpdate(fromC2[1]!, ORIGINS.upstream); // the second before the first: pending at g
    expect(g.ydoc.store.pendingStructs).not.toBeNull();
    const diff = encodeOwnDiff(g.ydoc, Y.encodeStateVector(c1.ydoc), new Set([11]));
    expect(Y.decodeUpdate(diff).structs.every((s) => s.id.client === 11)).toBe(true);
    expect(validateUpdate(c1, diff, { replica: GW1, clients: new Set([11]) })).toMatchObject({ ok: true });
  });
});
