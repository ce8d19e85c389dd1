/**
 * The operator data central seeds into a venue document from its config's `registry` (the venue,
 * its fridges and gateways, every meal), and the shape of one config write.
 */
import type { ConfigRecord, ConfigSection, VenueId } from '@fridgesync/shared';
import type { CentralConfig } from './config-schema.ts';

/** One config record to place in a venue document. */
export interface ConfigWrite<S extends ConfigSection = ConfigSection> {
  section: S;
  id: string;
  /** The record, or `null` to delete it. */
  record: ConfigRecord<S> | null;
}

/** The seed records of one venue document: the venue, its fridges and gateways, every meal. */
export function seedRecords(config: CentralConfig, venue: VenueId): ConfigWrite[] {
  const out: ConfigWrite[] = [];
  const v = config.registry.venues.find((x) => x.id === venue);
  if (v !== undefined) {
    out.push({ section: 'venue', id: v.id, record: { name: v.name, city: v.city, timezone: v.timezone } });
    for (const { id, ...f } of v.fridges) out.push({ section: 'fridge', id, record: { ...f, venueId: v.id } });
    for (const { id, ...g } of v.gateways) out.push({ section: 'gateway', id, record: { ...g, venueId: v.id } });
  }
  for (const { id, ...m } of config.registry.meals) out.push({ section: 'meal', id, record: m });
  return out;
}
