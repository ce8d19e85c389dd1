/**
 * Kitchen deliveries and the refill plan. A delivery is an
 * announced restock written by central as `dl/<deliveryId>`; it shows as `incoming` until a fridge
 * snapshot newer than the announcement arrives, then as `observed` with the discrepancy between what
 * was announced and what the fridge reports. The refill plan says per fridge and meal what to bring
 * next: up to par, after open orders and what is already on its way.
 */
import { FridgesyncError, ORIGINS, deliveryJson, keys, type DeliveryBody, type DeliveryJson, type DeliveryValue, type VenueId } from '@fridgesync/shared';
import type { DocRegistry } from './doc-registry.ts';
import type { DeliveryModel, ReadModel, VenueModel } from './read-model.ts';
import { stableJson } from './stable-json.ts';

/** The API view of one delivery against the read model's view of its fridge. */
export function deliveryOf(vm: VenueModel, d: DeliveryModel): DeliveryJson {
  return deliveryJson(vm.venueId, d.deliveryId, d.value, d.before, vm.fridges.get(d.value.f)?.view);
}

/** Deliveries and refill plans. */
export class KitchenService {
  constructor(
    private readonly registry: DocRegistry,
    private readonly model: ReadModel,
    private readonly now: () => number = Date.now,
  ) {}

  /** Announces a delivery; idempotent by delivery id (same contents → 200, other contents → 409). */
  async announce(body: DeliveryBody): Promise<{ status: 200 | 201; delivery: DeliveryJson }> {
    const vm = this.model.require(body.venueId);
    if (vm.fridges.get(body.fridgeId)?.view.config?.venueId !== body.venueId) throw new FridgesyncError('UNKNOWN_FRIDGE');
    for (const m of Object.keys(body.items)) if (!vm.meals.has(m)) throw new FridgesyncError('UNKNOWN_MEAL', `no such meal: ${m}`);
    const host = await this.registry.acquire(body.venueId);
    const existing = vm.deliveries.get(body.deliveryId);
    if (existing !== undefined) {
      if (existing.value.f !== body.fridgeId || stableJson(existing.value.i) !== stableJson(body.items)) {
        throw new FridgesyncError('ORDER_CONFLICT', 'A delivery with this id exists with different contents.');
      }
      return { status: 200, delivery: deliveryOf(vm, existing) };
    }
    const value: DeliveryValue = { f: body.fridgeId, i: { ...body.items }, at: this.now() };
    host.doc.transact(ORIGINS.api, (w) => w.set(keys.delivery(body.deliveryId), value));
    this.model.noteDeliveryBaseline(body.venueId, body.deliveryId, body.fridgeId);
    await host.whenDurable();
    const d = this.model.get(body.venueId)!.deliveries.get(body.deliveryId)!;
    return { status: 201, delivery: deliveryOf(vm, d) };
  }

  /** Deliveries of a venue (all venues without one), newest first. */
  list(venue?: VenueId) {
    const out: Array<DeliveryJson> = [];
    for (const vm of this.model.venuesIn()) if (venue === undefined || vm.venueId === venue) for (const d of vm.deliveries.values()) out.push(deliveryOf(vm, d));
    return out.sort((a, b) => (a.announcedAt < b.announcedAt ? 1 : -1));
  }

  /** What to bring next, per venue, fridge and meal of a city. */
  refillPlan(city?: string) {
    return {
      city: city ?? null,
      at: new Date(this.now()).toISOString(),
      fridges: this.model.venuesIn(city).flatMap((vm) =>
        this.model.fridgesOf(vm).map(([fridgeId, f]) => {
          const incoming = new Map<string, number>();
          for (const d of vm.deliveries.values()) {
            if (d.value.f !== fridgeId || deliveryOf(vm, d).status !== 'incoming') continue;
            for (const [m, n] of Object.entries(d.value.i)) incoming.set(m, (incoming.get(m) ?? 0) + n);
          }
          const par = f.view.config?.par ?? {};
          const meals = new Set([...Object.keys(par), ...f.view.cells.map((c) => c.meal as string)]);
          return {
            venueId: vm.venueId,
            fridgeId,
            lines: [...meals].sort().map((mealId) => {
              const c = f.view.cells.find((x) => x.meal === mealId);
              const Teff = c?.Teff ?? 0;
              const R = c?.R ?? 0;
              const p = (par as Record<string, number>)[mealId] ?? 0;
              const inc = incoming.get(mealId) ?? 0;
              // Reserved meals leave the fridge; what is on its way counts as there.
              const bring = Math.max(0, p - Math.max(0, Teff - R) - inc);
              return { mealId, par: p, Teff, R, incoming: inc, recentSales: f.recentSales[mealId] ?? 0, bring };
            }),
          };
        }),
      ),
    };
  }
}
