/**
 * Per-fridge MQTT secrets, stored only as scrypt hashes: `scrypt$<logN>$<r>$<p>$<salt b64>$<hash b64>`.
 * `fridgesync gateway hash-secret` prints one for the config; the broker verifies CONNECT passwords
 * against it. Verification is async (libuv thread pool) so a reconnect storm never blocks ingest,
 * and a successful verification is remembered by SHA-256 of the secret so a fridge that reconnects
 * does not pay scrypt again.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** Shape of a stored hash. */
export const SECRET_HASH_PATTERN = /^scrypt\$\d{1,2}\$\d{1,2}\$\d{1,2}\$[A-Za-z0-9+/=]{16,}\$[A-Za-z0-9+/=]{32,}$/;

/** Default cost: 2^15 iterations, r = 8, p = 1 (about 32 MiB and 50 ms per hash). */
const DEFAULT_LOG_N = 15;
const KEY_LEN = 32;

function scryptAsync(secret: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_LEN, { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hashes a fridge secret for the config file. `logN` below 15 only for tests. */
export async function hashSecret(secret: string, logN = DEFAULT_LOG_N): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(secret, salt, logN, 8, 1);
  return `scrypt$${logN}$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Verifies a secret against a stored hash; false for malformed hashes. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [logN, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const salt = Buffer.from(parts[4]!, 'base64');
  const want = Buffer.from(parts[5]!, 'base64');
  const got = await scryptAsync(secret, salt, logN, r, p);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Verifies fridge credentials, remembering successes (bounded by the number of configured fridges). */
export class FridgeAuthenticator {
  private readonly verified = new Map<string, string>();
  constructor(private readonly hashes: Readonly<Record<string, string>>) {}

  /** True when `fridgeId` is configured and `secret` matches its hash. */
  async check(fridgeId: string, secret: string): Promise<boolean> {
    // Own keys only: a client id such as `constructor` must not reach Object.prototype.
    if (!Object.hasOwn(this.hashes, fridgeId)) return false;
    const stored = this.hashes[fridgeId];
    if (typeof stored !== 'string') return false;
    const digest = createHash('sha256').update(secret).digest('base64');
    if (this.verified.get(fridgeId) === digest) return true;
    const ok = await verifySecret(secret, stored);
    if (ok) this.verified.set(fridgeId, digest);
    return ok;
  }
}
