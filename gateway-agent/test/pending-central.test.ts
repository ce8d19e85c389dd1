import { describe, expect, it } from 'vitest';
import { PendingCentral } from '../src/pending-central.ts';

describe('PendingCentral', () => {
  it('drops what a durable-ack covers, per client, and keeps the rest', () => {
    let now = 1_000;
    const p = new PendingCentral(() => now);
    p.durable([7, 3]);
    p.durable(undefined); // a deletion only: nothing to wait for
    p.durable([7, 5]);
    p.durable([8, 2]);
    expect(p.count).toBe(3);
    expect(p.lastAckAt).toBeUndefined();
    now = 2_000;
    p.acked(new Map([[7, 3]]), new Set([7, 8]));
    expect(p.count).toBe(2);
    expect(p.lastAckAt).toBe(2_000);
    p.acked(new Map([[7, 9], [8, 2]]), new Set([7, 8]));
    expect(p.count).toBe(0);
  });

  it('forgets updates of a client this process no longer writes with (a retired epoch)', () => {
    const p = new PendingCentral();
    p.durable([7, 3]);
    p.durable([9, 1]);
    p.acked(new Map(), new Set([9]));
    expect(p.count).toBe(1);
  });
});
