/**
 * Connections that have not sent their CONNECT yet, bounded apart from the fridges' slots so that
 * a flood of idle TCP connections cannot take them:
 *
 * - at most `maxPerAddress` from one address (IPv4, IPv6 by `ipv6PrefixLength` bits, see auth-throttle.ts): a further one is closed as it is
 *   accepted;
 * - at most `maxPending` in all: a further one closes the oldest pending connection. A fridge sends
 *   CONNECT right after its TCP handshake, so the oldest is the one least likely to be a fridge,
 *   and a flood would have to open `maxPending` connections faster than a fridge sends one packet
 *   to push it out;
 * - each for at most the broker's `connectTimeoutMs` (aedes closes it then).
 *
 * A connection leaves the set when its CONNECT arrives (aedes `preConnect`) or when it closes.
 */
import { addressKey } from './auth-throttle.ts';

/** What {@link PendingConnections} needs of a connection. */
export interface Closable {
  destroy(): void;
}

/** Why a pending connection was closed by the bounds. */
export type PendingRefusal = 'pending-per-address' | 'pending-evicted';

/** Options of {@link PendingConnections}. */
export interface PendingConnectionsOptions {
  maxPending: number;
  maxPerAddress: number;
  /** Bits of an IPv6 address that form its key ({@link addressKey}). Default 128. */
  ipv6PrefixLength?: number;
  /** Called for every connection closed by a bound. */
  onRefused: (reason: PendingRefusal, address: string) => void;
}

/** The pending connections of one broker. */
export class PendingConnections {
  /** Pending connections in accept order (Map keeps insertion order), with their address key. */
  private readonly pending = new Map<Closable, string>();
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly opts: PendingConnectionsOptions) {}

  /** Registers a new connection; false (the caller closes it) when its address has too many pending. */
  admit(conn: Closable, address: string | undefined): boolean {
    const key = addressKey(address, this.opts.ipv6PrefixLength);
    if ((this.perAddress.get(key) ?? 0) >= this.opts.maxPerAddress) {
      this.opts.onRefused('pending-per-address', key);
      return false;
    }
    if (this.pending.size >= this.opts.maxPending) {
      const [oldest, oldestKey] = this.pending.entries().next().value!;
      this.leave(oldest);
      this.opts.onRefused('pending-evicted', oldestKey);
      oldest.destroy();
    }
    this.pending.set(conn, key);
    this.perAddress.set(key, (this.perAddress.get(key) ?? 0) + 1);
    return true;
  }

  /** The connection sent CONNECT, or closed: it no longer counts. */
  leave(conn: Closable): void {
    const key = this.pending.get(conn);
    if (key === undefined) return;
    this.pending.delete(conn);
    const n = (this.perAddress.get(key) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(key);
    else this.perAddress.set(key, n);
  }

  /** Connections waiting for their CONNECT now. */
  get size(): number {
    return this.pending.size;
  }
}
