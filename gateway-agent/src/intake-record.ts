/**
 * The intake record codec: pure `encode…`/`decode…` of the records the snapshot intake writes to
 * the store's intake log (snapshot-intake.ts). One record holds the snapshots accepted in one
 * event-loop turn, each with its payload exactly as the fridge sent it. Nothing but this gateway's
 * own store holds these records; central never sees them. Grammar (big-endian):
 *
 * ```
 * record   = 1*entry
 * entry    = u16(idLength) utf8(fridgeId) u32(payloadLength) payload
 * payload  = the MQTT inventory payload as received (JSON; README "Contracts")
 * ```
 * Decoding validates each payload with the shared inventory schema: a record that does not parse
 * in full decodes to nothing (the intake then removes it and says so).
 */
import { INBOUND_SCHEMAS, type FridgeId, type InventoryPayload } from '@fridgesync/shared';

/** Bytes of an entry's fridge id length (u16). */
export const ID_LENGTH_BYTES = 2;
/** Bytes of an entry's payload length (u32). */
export const PAYLOAD_LENGTH_BYTES = 4;

/** One snapshot as written: its fridge and the payload as received. */
export interface IntakeEntry {
  fridge: FridgeId;
  payload: Uint8Array;
}

/** One snapshot as read back: its fridge and the validated payload. */
export interface IntakeSnapshot {
  fridge: FridgeId;
  snapshot: InventoryPayload;
}

/** Encodes the snapshots of one intake record (grammar in the module comment). */
export function encodeIntakeRecord(entries: readonly IntakeEntry[]): Uint8Array {
  // Runs for every turn of a flood: ids are written in place, not copied through a buffer each.
  let size = 0;
  for (const e of entries) size += ID_LENGTH_BYTES + PAYLOAD_LENGTH_BYTES + Buffer.byteLength(e.fridge, 'utf8') + e.payload.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const { fridge, payload } of entries) {
    const idLength = out.write(fridge, at + ID_LENGTH_BYTES, 'utf8');
    out.writeUInt16BE(idLength, at);
    at = out.writeUInt32BE(payload.length, at + ID_LENGTH_BYTES + idLength);
    out.set(payload, at);
    at += payload.length;
  }
  return out;
}

/** Decodes an intake record; `undefined` when it is not one written by {@link encodeIntakeRecord}. */
export function decodeIntakeRecord(record: Uint8Array): IntakeSnapshot[] | undefined {
  const b = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  const out: IntakeSnapshot[] = [];
  let at = 0;
  try {
    while (at < b.length) {
      const idLength = b.readUInt16BE(at);
      const fridge = b.toString('utf8', at + ID_LENGTH_BYTES, at + ID_LENGTH_BYTES + idLength);
      at += ID_LENGTH_BYTES + idLength;
      const length = b.readUInt32BE(at);
      const start = at + PAYLOAD_LENGTH_BYTES;
      if (start + length > b.length) return undefined;
      const parsed = INBOUND_SCHEMAS.inventory.safeParse(JSON.parse(b.toString('utf8', start, start + length)));
      if (!parsed.success) return undefined;
      out.push({ fridge: fridge as FridgeId, snapshot: parsed.data as InventoryPayload });
      at = start + length;
    }
  } catch {
    return undefined;
  }
  return out.length > 0 ? out : undefined;
}
