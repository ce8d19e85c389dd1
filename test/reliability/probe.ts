/**
 * What the hostile-input scenarios read from the outside of the processes: a Prometheus counter's
 * value from a `/metrics` page, a venue whose fridges have reported and whose rights central holds,
 * and the totals central folds for each fridge (docs/reliability.md "Results").
 */
import { waitFor } from '@fridgesync/shared/test-harness';
import { MEALS, Rig, type Defer, type Fridge, type GatewayOptions } from './rig.ts';

/**
 * Sum of the samples of counter `name` on the `/metrics` page at `url` whose labels include
 * `labels` (every sample when none are given).
 */
export async function metricSum(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(url)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => want.every((w) => l.slice(0, l.lastIndexOf(' ')).includes(w)))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** Each fridge's first report in {@link readyVenue}: fridge `fN` holds `10·N` of the first meal and `N` of the second. */
export function firstTotals(fridge: string): Record<string, number> {
  const n = Number(fridge.slice(1));
  return { [MEALS[0]]: 10 * n, [MEALS[1]]: n };
}

/**
 * Central and a gateway, ready (fridges with their own `secrets`, the rig's shared one otherwise), with `fridgeCount` fridges connected that have each reported
 * {@link firstTotals}; returns once central holds the rights of every fridge and the gateway is
 * synced with nothing pending.
 */
export async function readyVenue(defer: Defer, seed: number, fridgeCount: number, gateway: GatewayOptions = {}, secrets: Record<string, string> = {}): Promise<{ rig: Rig; fridges: Fridge[] }> {
  const rig = new Rig(defer, seed, fridgeCount);
  Object.assign(rig.secrets, secrets);
  await rig.start({ gateway });
  const fridges: Fridge[] = [];
  for (const id of rig.fridges) {
    const f = await rig.fridge(id);
    await f.snapshot(firstTotals(id));
    fridges.push(f);
  }
  await waitFor(async () => {
    const cells = (await rig.centralRead()).cells;
    return rig.fridges.every((id) => cells[id]?.[MEALS[0]]?.S === firstTotals(id)[MEALS[0]]);
  }, 30_000, 'central holds every fridge rights');
  await rig.quiesced();
  return { rig, fridges };
}

/** The totals (T) central folds per fridge and meal. */
export async function centralTotals(rig: Rig): Promise<Record<string, Record<string, number>>> {
  const cells = (await rig.centralRead()).cells;
  return Object.fromEntries(Object.entries(cells).map(([f, meals]) => [f, Object.fromEntries(Object.entries(meals).map(([m, c]) => [m, c.T]))]));
}
