/**
 * Failed MQTT CONNECTs, counted per source address and per fridge id in fixed windows, so that
 * guessing and CONNECT floods cost the gateway almost nothing while a real fridge keeps connecting:
 *
 * - An address with `maxFailuresPerAddress` failures in the current window is blocked until the
 *   window ends: its CONNECTs are refused without a verification, and its new connections are
 *   closed as they are accepted.
 * - A fridge id with `maxFailuresPerFridge` failures in the window (someone guessing its secret
 *   from many addresses) is verified only for addresses without a failure in the window; the real
 *   fridge, whose address has none, still connects with its secret.
 *
 * Addresses are keyed as IPv4, and IPv6 by their first `ipv6PrefixLength` bits: 128 (the whole
 * address) by default, because a venue LAN is one /64 and every link-local address falls in
 * fe80::/64, so a shorter key would let one host lock out every fridge. Both maps are bounded
 * ({@link MAX_TRACKED} keys, oldest dropped first), so a flood from ever new addresses cannot grow
 * them whatever the key.
 */
import { isIPv6 } from 'node:net';
import { WindowedCounts } from '@fridgesync/shared';

/** Most addresses, and most fridge ids, tracked at once. */
export const MAX_TRACKED = 10_000;

/** Options of {@link AuthThrottle}. */
export interface AuthThrottleOptions {
  /** Length of a counting window, ms. */
  windowMs: number;
  /** Failures an address may have in a window before it is blocked for the rest of it. */
  maxFailuresPerAddress: number;
  /** Failures a fridge id may have in a window before only clean addresses are verified for it. */
  maxFailuresPerFridge: number;
  /** Bits of an IPv6 address that form its key (see {@link addressKey}). Default 128. */
  ipv6PrefixLength?: number;
  /** Clock, ms (tests). */
  now?: () => number;
}

/** Why an attempt is refused before verification. */
export type ThrottleReason = 'throttled-address' | 'throttled-fridge';

/**
 * The key an address is counted under: IPv4 (and IPv4-mapped IPv6) as is, IPv6 by its first
 * `ipv6PrefixLength` bits (default 128, the whole address), written as `groups/length`.
 */
export function addressKey(address: string | undefined, ipv6PrefixLength = 128): string {
  if (address === undefined) return '?';
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  // A zone (`fe80::1%eth0`) names the interface, not the host.
  const bare = address.split('%')[0]!;
  if (!isIPv6(bare)) return address;
  // Expand `::` to all eight groups, then keep the prefix bits.
  const [head = '', tail = ''] = bare.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = bare.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  const masked = groups.map((g, i) => {
    const keep = Math.min(16, Math.max(0, ipv6PrefixLength - 16 * i));
    const v = Number.parseInt(g, 16) & (keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff);
    return v.toString(16);
  });
  return `${masked.join(':')}/${ipv6PrefixLength}`;
}

/** The failure counts of one broker. */
export class AuthThrottle {
  private readonly byAddress: WindowedCounts;
  private readonly byFridge: WindowedCounts;
  private readonly key: (address: string) => string;

  constructor(private readonly opts: AuthThrottleOptions) {
    const now = opts.now ?? Date.now;
    this.byAddress = new WindowedCounts(opts.windowMs, MAX_TRACKED, now);
    this.byFridge = new WindowedCounts(opts.windowMs, MAX_TRACKED, now);
    this.key = (address) => addressKey(address, opts.ipv6PrefixLength);
  }

  /** Whether connections from `address` are refused for now. */
  blocked(address: string): boolean {
    return this.byAddress.get(this.key(address)) >= this.opts.maxFailuresPerAddress;
  }

  /** Whether a CONNECT for `fridgeId` from `address` may be verified; the reason it may not otherwise. */
  admit(fridgeId: string, address: string): ThrottleReason | undefined {
    const failures = this.byAddress.get(this.key(address));
    if (failures >= this.opts.maxFailuresPerAddress) return 'throttled-address';
    if (failures > 0 && this.byFridge.get(fridgeId) >= this.opts.maxFailuresPerFridge) return 'throttled-fridge';
    return undefined;
  }

  /**
   * Counts a failed or refused CONNECT. `fridgeId` only for configured fridges: ids nobody
   * configured are not tracked (they would only fill the map).
   */
  failed(address: string, fridgeId: string | undefined): void {
    this.byAddress.add(this.key(address));
    if (fridgeId !== undefined) this.byFridge.add(fridgeId);
  }

  /** Addresses with failures in their current window (a gauge). */
  get trackedAddresses(): number {
    return this.byAddress.size;
  }
}
