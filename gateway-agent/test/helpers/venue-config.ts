/**
 * Operator configuration for a gateway's store in tests that need no central: a venue document
 * written by a central replica (`central:test`), as central's operator API and seed write it, to
 * seed a store with before the agent starts. Tests that sync with a central run against the real
 * one in `test/integration/` (a package's tests may not start the other package: README "How it
 * fits together", scripts/check-deps.ts).
 */
import { Hlc, configRecord, ORIGINS, VenueDoc, centralReplicaId, keys, type FridgeRecord, type InstanceId } from '@fridgesync/shared';

/** A document of the replica `central:test` (operator data has one writer, central: docs/design.md "Replicas and the venue document"). */
export function centralDoc(): VenueDoc {
  return new VenueDoc({ replica: centralReplicaId('test' as InstanceId) });
}

/** Meals every test venue offers (`cfg/meal/<id>`): what the fridges of the tests hold and the kiosk sells. */
export const TEST_MEALS = ['m1', 'm2', 'm3'] as const;

/**
 * Writes `cfg/fridge/<id>` into a central document, as central's operator API does, with what
 * central's seed writes beside a venue's fridges when the document lacks it: the venue's record
 * and the {@link TEST_MEALS} (the order taker sells only configured meals of a configured venue).
 */
export function writeFridgeConfig(doc: VenueDoc, id: string, record: Omit<FridgeRecord, 'par' | 'maxTemperatureC'> & Partial<FridgeRecord>): void {
  const hlc = new Hlc(doc.replica!);
  doc.transact(ORIGINS.test, (w) => {
    if (configRecord(doc, 'venue', record.venueId) === undefined) w.set(keys.config('venue', record.venueId), { h: hlc.tick(), v: { name: `Venue ${record.venueId}`, city: 'Berlin', timezone: 'Europe/Berlin' } });
    for (const m of TEST_MEALS) if (configRecord(doc, 'meal', m) === undefined) w.set(keys.config('meal', m), { h: hlc.tick(), v: { name: `Meal ${m}`, priceCents: 500, allergens: [] } });
    w.set(keys.config('fridge', id), { h: hlc.tick(), v: { par: {}, maxTemperatureC: 5, ...record } });
  });
}
