/**
 * A kitchen delivery's announcement as central reads it from a venue document: central's own
 * latest entry (deliveries are written by central only; docs/design.md "Domain event log" and the
 * read model both read them this way).
 */
import type { DeliveryValue } from '@fridgesync/shared';

/** Central's latest entry among a delivery's entries by replica, or undefined. */
export function announcedDelivery(byReplica: ReadonlyMap<string, DeliveryValue>): DeliveryValue | undefined {
  let value: DeliveryValue | undefined;
  for (const [r, v] of byReplica) if (r.startsWith('central:') && (value === undefined || v.at > value.at)) value = v;
  return value;
}
