import { describe, expect, it } from 'vitest';
import { decodeIntakeRecord, encodeIntakeRecord, ID_LENGTH_BYTES, PAYLOAD_LENGTH_BYTES } from '../src/intake-record.ts';

const TS = '2026-01-01T00:00:00.000Z';
const snap = (seq: number) => ({ boot: 1, seq, ts: TS, items: { m1: seq } });

describe('intake records', () => {
  it('decode to the snapshots encoded, in order, whatever the ids; a truncated record decodes to nothing', () => {
    const ids = ['f1', 'fridge-with-a-much-longer-id.0123456789', 'kühl-1'] as const;
    const entries = ids.map((id, i) => ({ fridge: id as never, payload: Buffer.from(JSON.stringify(snap(i + 1))) }));
    const record = encodeIntakeRecord(entries);
    expect(decodeIntakeRecord(record)).toEqual(ids.map((id, i) => ({ fridge: id, snapshot: snap(i + 1) })));
    expect(decodeIntakeRecord(record.subarray(0, record.length - 1))).toBeUndefined();
  });
});

describe('intake record grammar', () => {
  it('lays out each entry as u16 id length, id, u32 payload length, payload', () => {
    const payload = Buffer.from(JSON.stringify(snap(1)));
    const record = Buffer.from(encodeIntakeRecord([{ fridge: 'f1' as never, payload }]));
    expect(record.length).toBe(ID_LENGTH_BYTES + 2 + PAYLOAD_LENGTH_BYTES + payload.length);
    expect(record.readUInt16BE(0)).toBe(2);
    expect(record.toString('utf8', 2, 4)).toBe('f1');
    expect(record.readUInt32BE(4)).toBe(payload.length);
    expect(record.subarray(8).equals(payload)).toBe(true);
  });

  it('decodes a record whose payload breaks the inventory schema, or holds nothing, to nothing', () => {
    const bad = Buffer.from(JSON.stringify({ boot: 1, seq: 1, ts: TS, items: { m1: -1 } }));
    expect(decodeIntakeRecord(encodeIntakeRecord([{ fridge: 'f1' as never, payload: bad }]))).toBeUndefined();
    expect(decodeIntakeRecord(encodeIntakeRecord([{ fridge: 'f1' as never, payload: Buffer.from('{oops') }]))).toBeUndefined();
    expect(decodeIntakeRecord(new Uint8Array(0))).toBeUndefined();
  });
});
