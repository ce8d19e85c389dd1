/**
 * Per-fridge MQTT secrets. A fridge secret is a machine secret: `fridgesync gateway add-fridge`
 * generates it ({@link generateSecret}, 192 random bits) and the config stores only a keyed hash
 * of it, `hs256$<key>$<mac>` (HMAC-SHA256 of the secret under a random 128-bit key, base64url).
 * Against a secret with that much entropy a slow password hash adds nothing, while its cost is
 * paid by the gateway on every CONNECT, including an attacker's wrong ones: a keyed hash is
 * verified in about a microsecond on the event loop, compared in constant time.
 *
 * Hashes of the older format `scrypt$<logN>$<r>$<p>$<salt>$<hash>` (made by `hash-secret`
 * before keyed hashes) are still accepted, so an upgraded gateway keeps its fridges: replacing a
 * hash needs the fridge's secret, and replacing a secret needs a visit to the fridge. Their
 * verifications are kept off the hot path: one at a time (one libuv thread, the other threads stay
 * free for LevelDB's synced writes), at most {@link LEGACY_QUEUE} waiting (beyond it the CONNECT is
 * refused as "server unavailable" and the fridge retries), a success remembered so a reconnecting
 * fridge does not pay again. The agent warns at start for every such fridge.
 */
import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** A keyed hash: `hs256$<key: 16 bytes base64url>$<HMAC-SHA256: 32 bytes base64url>`. */
export const KEYED_HASH_PATTERN = /^hs256\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/;
/** An scrypt hash of the older format (still verified; see the module comment). */
export const LEGACY_HASH_PATTERN = /^scrypt\$\d{1,2}\$\d{1,2}\$\d{1,2}\$[A-Za-z0-9+/=]{16,}\$[A-Za-z0-9+/=]{32,}$/;
/** Any stored hash the gateway accepts. */
export const SECRET_HASH_PATTERN = new RegExp(`${KEYED_HASH_PATTERN.source}|${LEGACY_HASH_PATTERN.source}`);

/** Bytes of randomness in a generated secret (192 bits; 32 characters of base64url). */
const SECRET_BYTES = 24;
/**
 * Shortest secret `hash-secret` accepts: 22 characters, the length of 128 random bits in base64.
 * A keyed hash is fast to check, so a short secret would be guessable offline from a leaked config.
 */
export const MIN_SECRET_CHARS = 22;

/**
 * Shortest secret `hash-secret --allow-short` accepts, to move a fridge whose secret cannot be
 * changed yet off an scrypt hash; it warns (docs/operations.md "Fridge secrets").
 */
export const MIN_SHORT_SECRET_CHARS = 8;
/** Legacy (scrypt) verifications waiting behind the one running; more are refused at once. */
export const LEGACY_QUEUE = 8;

/** A new fridge secret: 192 random bits, base64url. Shown once by `add-fridge`, never stored. */
export function generateSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

function mac(key: Buffer, secret: string): Buffer {
  return createHmac('sha256', key).update(secret, 'utf8').digest();
}

/** The keyed hash of a fridge secret, for `mqtt.fridges`. */
export function hashSecret(secret: string): string {
  const key = randomBytes(16);
  return `hs256$${key.toString('base64url')}$${mac(key, secret).toString('base64url')}`;
}

/** True when `stored` is an scrypt hash of the older format. */
export function isLegacyHash(stored: string): boolean {
  return stored.startsWith('scrypt$');
}

function scryptAsync(secret: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, 32, { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * An scrypt hash of the older format. Only for tests of the legacy path and for measuring it;
 * new fridges get keyed hashes ({@link hashSecret}).
 */
export async function hashLegacySecret(secret: string, logN = 15): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(secret, salt, logN, 8, 1);
  return `scrypt$${logN}$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Verifies a secret against a keyed hash, in constant time; false for anything malformed. */
function verifyKeyed(secret: string, stored: string): boolean {
  const parts = stored.split('$');
  if (parts.length !== 3 || parts[0] !== 'hs256') return false;
  const want = Buffer.from(parts[2]!, 'base64url');
  const got = mac(Buffer.from(parts[1]!, 'base64url'), secret);
  return got.length === want.length && timingSafeEqual(got, want);
}

async function verifyLegacy(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [logN, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const want = Buffer.from(parts[5]!, 'base64');
  const got = await scryptAsync(secret, Buffer.from(parts[4]!, 'base64'), logN, r, p);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Verifies a secret against a stored hash of either format; false for malformed hashes. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  return isLegacyHash(stored) ? verifyLegacy(secret, stored) : verifyKeyed(secret, stored);
}

/** Outcome of a credential check: `busy` when a legacy verification could not be queued. */
export type CheckResult = 'ok' | 'bad' | 'busy';

/** Verifies fridge credentials against `mqtt.fridges`. */
export class FridgeAuthenticator {
  /** Fridge id → SHA-256 of its secret, once a legacy verification succeeded (one per configured fridge). */
  private readonly verified = new Map<string, Buffer>();
  /** Legacy verifications waiting for the one running. */
  private readonly queue: Array<() => void> = [];
  private running = false;

  /** `onLegacyVerification` is called for every scrypt verification run (a metric). */
  constructor(
    private readonly hashes: Readonly<Record<string, string>>,
    private readonly onLegacyVerification: () => void = () => {},
  ) {}

  /** Configured fridges whose hash has the older (scrypt) format. */
  legacyFridges(): string[] {
    return Object.entries(this.hashes)
      .filter(([, h]) => isLegacyHash(h))
      .map(([id]) => id);
  }

  /** Whether `fridgeId` is configured (own keys only: `constructor` must not reach Object.prototype). */
  known(fridgeId: string): boolean {
    return Object.hasOwn(this.hashes, fridgeId) && typeof this.hashes[fridgeId] === 'string';
  }

  /** Checks `secret` for `fridgeId`: at once for keyed hashes, through the bounded queue for legacy ones. */
  check(fridgeId: string, secret: string): CheckResult | Promise<CheckResult> {
    if (!this.known(fridgeId)) return 'bad';
    const stored = this.hashes[fridgeId]!;
    if (!isLegacyHash(stored)) return verifyKeyed(secret, stored) ? 'ok' : 'bad';
    const digest = createHash('sha256').update(secret, 'utf8').digest();
    const seen = this.verified.get(fridgeId);
    if (seen !== undefined && timingSafeEqual(seen, digest)) return 'ok';
    if (this.running && this.queue.length >= LEGACY_QUEUE) return 'busy';
    return this.serialized(() => {
      this.onLegacyVerification();
      return verifyLegacy(secret, stored);
    }).then((ok) => {
      if (!ok) return 'bad';
      this.verified.set(fridgeId, digest);
      return 'ok';
    });
  }

  /** Runs `fn` once no other legacy verification runs (one scrypt at a time). */
  private async serialized<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.running = true;
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next !== undefined) next();
      else this.running = false;
    }
  }
}
