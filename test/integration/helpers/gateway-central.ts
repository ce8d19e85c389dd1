/**
 * The real central (server `buildApp`, memory storage, listening on loopback) for the gateway
 * agent's tests that sync with one: venue `v1` offering meals m1–m3, fridge `f1` reconciled by
 * `gw1`, gateways `gw1` and `gw2` with the sync tokens `tok-<gatewayId>`. Central seeds that
 * configuration into the venue document and declares itself an order taker when it loads the venue
 * (docs/design.md "Replicas and the venue document"), and answers the recalls addressed to it.
 */
import { type ReplicaId, type VenueDoc, type VenueId } from '@fridgesync/shared';
import { hashToken } from '@fridgesync/server';
import { startCentral } from '../../../server/test/helpers/central.ts';

const ADMIN = 'tok-admin-gateway-tests';

/** A running central serving venue `v1`. */
export interface VenueCentral {
  /** `ws://127.0.0.1:<port>`: the gateway's `central.url`. */
  readonly url: string;
  /** Central's replica of the venue (`central:c1`), the order taker the reconciler grants rights. */
  readonly replica: ReplicaId;
  /** Central's venue document, as central holds it. */
  readonly doc: VenueDoc;
  /** Updates central's validator refused, by reason code (`fridgesync_sync_rejected_updates_total`). */
  rejected(): Promise<Record<string, number>>;
  /** Declares `replica` dead through the operator API: central retires it and closes its connection with 4410. */
  retire(replica: string): Promise<void>;
}

/** Starts central and registers its shutdown with `defer`. */
export async function startVenueCentral(defer: (fn: () => unknown) => void): Promise<VenueCentral> {
  const gateways = ['gw1', 'gw2'];
  const t = await startCentral({
    listen: true,
    over: {
      tokens: [
        ...gateways.map((g) => ({ role: 'gateway' as const, name: `gw-${g}`, venueId: 'v1' as never, gatewayId: g as never, hash: hashToken(`tok-${g}`) })),
        { role: 'admin', name: 'admin', hash: hashToken(ADMIN) },
      ],
      registry: {
        meals: ['m1', 'm2', 'm3'].map((m) => ({ id: m as never, name: `Meal ${m}`, priceCents: 500 })),
        venues: [
          {
            id: 'v1' as never,
            name: 'Venue v1',
            city: 'Berlin' as never,
            timezone: 'Europe/Berlin',
            gateways: gateways.map((g) => ({ id: g as never })),
            fridges: [{ id: 'f1' as never, reconciler: 'gw1' as never }],
          },
        ],
      },
    },
  });
  defer(() => t.close());
  const host = () => {
    const h = t.central.registry.peek('v1' as VenueId);
    if (h === undefined) throw new Error('central has not loaded venue v1');
    return h;
  };
  return {
    url: t.wsUrl,
    replica: t.central.writer.replica,
    get doc() {
      return host().doc;
    },
    async rejected() {
      const m = await t.central.metrics.syncRejected.get();
      return Object.fromEntries(m.values.filter((v) => v.value > 0).map((v) => [String(v.labels.code), v.value]));
    },
    async retire(replica) {
      const res = await fetch(`${t.url}/v1/admin/venues/v1/replicas/${encodeURIComponent(replica)}/retire`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
      if (res.status !== 200) throw new Error(`retire ${replica}: HTTP ${res.status} ${await res.text()}`);
    },
  };
}
