/**
 * Deterministic ids of domain facts (docs/design.md "Domain event log"): a hash of the venue, the
 * kind and the values that identify the fact (an order's id; a fridge with its snapshot's boot, era
 * and seq; …). Whoever derives the same fact from the same state gets the same id, so the log
 * appends it once.
 */
import { createHash } from 'node:crypto';
import type { FactKind } from '@fridgesync/shared';

/** Length of a fact id: 32 hex digits (128 bits of SHA-256; collisions are not a concern). */
export const FACT_ID_LENGTH = 32;

/** The id of a fact of `kind` in `venue` identified by `parts`. */
export function factId(venue: string, kind: FactKind, parts: ReadonlyArray<string | number>): string {
  // JSON keeps the parts apart (no separator a part could contain).
  return createHash('sha256').update(JSON.stringify([venue, kind, ...parts])).digest('hex').slice(0, FACT_ID_LENGTH);
}
