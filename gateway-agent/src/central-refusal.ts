/**
 * "Central refuses this gateway": the one place that decides which answers of central are
 * refusals, keeps the reason while they last, and reports them (docs/sync-protocol.md, "Close
 * codes"). A refusal is what retrying at once cannot fix — a token unknown or bound to another
 * gateway id or venue, an update central rejects, an epoch central never allocated (except a first
 * 4411 after an interrupted upgrade, which the sync client answers by joining again), another
 * process speaking for this gateway — so the agent is not ready while it lasts (`/readyz` 503) and the sync
 * client keeps backing off. It is settled once central has acknowledged what this gateway sent and
 * the session has lasted a while (central-acceptance.ts), never by a welcome alone: central may still
 * refuse the first update after it. {@link closeVerdict} says what each close of central means for
 * the sync client (refused, rebuild, rejoin, speak the older hello, or just retry).
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { CLOSE_CODES } from '@fridgesync/shared';
import type { AgentMetrics } from './metrics.ts';

/**
 * Why central refuses this gateway: an HTTP status before the upgrade, or a close code after it,
 * with central's reason.
 */
export interface SyncRefusal {
  /** HTTP status of a refused upgrade (401 token, 403 venue or gateway id, 404 venue). */
  status?: number;
  /** Websocket close code (docs/sync-protocol.md, "Close codes"). */
  code?: number;
  reason: string;
  /** ISO time of the first refusal in a row. */
  since: string;
  /** Refusals in a row. */
  count: number;
}

/**
 * Close codes by which central refuses this gateway rather than ending one connection. 4410 is not
 * one: the replica rejoins under a new epoch (the sync client raises a refusal itself when the
 * retirer is a later epoch of its own gateway id, see `retiredBySuccessor`).
 */
const REFUSING_CLOSE_CODES: ReadonlySet<number> = new Set([
  CLOSE_CODES.UNAUTHORIZED,
  CLOSE_CODES.UPDATE_REJECTED,
  CLOSE_CODES.DUPLICATE_REPLICA,
  CLOSE_CODES.EPOCH_NOT_ALLOCATED,
  CLOSE_CODES.GATEWAY_CONNECTED,
]);

/** HTTP statuses of a refused upgrade that are refusals (others, e.g. 429 or 503, are transient). */
const REFUSING_STATUSES: ReadonlySet<number> = new Set([401, 403, 404]);

/** True when `code` (a websocket close code) or `status` (an upgrade's HTTP status) is a refusal. */
export function isRefusal(a: { code?: number; status?: number }): boolean {
  return (a.code !== undefined && REFUSING_CLOSE_CODES.has(a.code)) || (a.status !== undefined && REFUSING_STATUSES.has(a.status));
}

/** The refusal state of one sync client. */
export class CentralRefusal {
  private current: SyncRefusal | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly metrics: AgentMetrics,
    private readonly now: () => number = Date.now,
  ) {}

  /** The refusal in force, if any. */
  get refusal(): SyncRefusal | undefined {
    return this.current;
  }

  /**
   * Central refused this gateway (again). Every refusal is logged with central's reason: the first
   * of a run at error (it needs a person unless the gateway recovers by itself), repeats at warn.
   */
  refused(r: Omit<SyncRefusal, 'since' | 'count'>, nextAttempt: number): void {
    const prev = this.current;
    this.current = { ...r, since: prev?.since ?? new Date(this.now()).toISOString(), count: (prev?.count ?? 0) + 1 };
    this.metrics.centralRefused.set(1);
    const log = { ...r, refusals: this.current.count, nextAttempt };
    if (prev === undefined) this.logger.error(log, `central refuses this gateway: ${r.reason}`);
    else this.logger.warn(log, `central refuses this gateway again: ${r.reason}`);
  }

  /** Central accepted what this gateway sent, for long enough: whatever it refused before is settled. */
  accepted(): void {
    if (this.current === undefined) return;
    this.logger.info({ refusals: this.current.count, refusedSince: this.current.since }, 'central accepts this gateway again');
    this.current = undefined;
    this.metrics.centralRefused.set(0);
  }
}

/**
 * The later epoch of this gateway named by central's 4410 reason (`<replica> is retired by <a>, …`),
 * when it is not `own` itself: a retirement this process did not make (docs/operations.md, "Trust").
 */
export function retiredBySuccessor(reason: string, gatewayId: string, own: string | undefined): string | undefined {
  const m = / is retired by (.*)$/.exec(reason);
  if (m === null) return undefined;
  return m[1]!.split(', ').find((a) => a.startsWith(`gw:${gatewayId}:`) && a !== own);
}

/** Validator codes (shared/src/validator.ts) that say this store contradicts central: rebuild it. */
const STALE_STORE_CODES: ReadonlySet<string> = new Set(['NOT_FORWARD', 'FOREIGN_DELETE', 'MISSING_DEPENDENCY', 'RIGHTS_NEGATIVE']);

/** What the sync client knows when central closes a connection. */
export interface CloseContext {
  gatewayId: string;
  /** The replica this process writes as (undefined while joining). */
  replica: string | undefined;
  writable: boolean;
  /** The client already speaks without the hello's `now` (docs/sync-protocol.md "Compatibility"). */
  legacyCentral: boolean;
  /** The closed connection's first hello joined although the replica was active ("An interrupted upgrade"). */
  joinedFirst: boolean;
}

/**
 * What a close by central means (docs/sync-protocol.md "Close codes"):
 * - `retired` (4410): rejoin under a new epoch; `successor` names a later epoch of this gateway id
 *   that retired us, a retirement this process did not make, which is a refusal too;
 * - `legacy-hello`: a central older than the hello's `now` refused it: speak without it;
 * - `join-first`: a first 4411 for an epoch whose allocation was interrupted: join, then upgrade;
 * - `refused`: a refusal; `rebuild` when the validator code says the store contradicts central;
 * - `closed`: anything else (a transient close; the backoff retries).
 */
export type CloseVerdict =
  | { kind: 'retired'; successor: string | undefined }
  | { kind: 'legacy-hello' }
  | { kind: 'join-first' }
  | { kind: 'refused'; rebuild: boolean }
  | { kind: 'closed' };

/** Judges central's close `code` with `reason` (see {@link CloseVerdict}). */
export function closeVerdict(code: number, reason: string, ctx: CloseContext): CloseVerdict {
  if (code === CLOSE_CODES.REPLICA_RETIRED) return { kind: 'retired', successor: retiredBySuccessor(reason, ctx.gatewayId, ctx.replica) };
  // A central released before the optional `now` refuses unknown keys with zod's message.
  if (code === CLOSE_CODES.UPDATE_REJECTED && !ctx.legacyCentral && /^hello: Unrecognized key.*"now"/.test(reason)) return { kind: 'legacy-hello' };
  if (code === CLOSE_CODES.EPOCH_NOT_ALLOCATED && !ctx.joinedFirst && ctx.writable) return { kind: 'join-first' };
  if (code === CLOSE_CODES.UPDATE_REJECTED) {
    // `<validator code>: <detail>` (server/src/sync/sync-session.ts).
    const rejected = /^([A-Z_]+):/.exec(reason)?.[1];
    return { kind: 'refused', rebuild: rejected !== undefined && STALE_STORE_CODES.has(rejected) && ctx.writable };
  }
  if (isRefusal({ code })) return { kind: 'refused', rebuild: false };
  return { kind: 'closed' };
}

/** Most bytes of a refused upgrade's body read for its reason (central's bodies are short JSON). */
const MAX_BODY_BYTES = 2048;

/**
 * Central's reason for a refused upgrade: the `message` of its error body
 * (`{statusCode, code, message}`), read up to {@link MAX_BODY_BYTES}; `HTTP <status>` alone when the
 * body is not one. Never rejects.
 */
export function upgradeRefusalReason(res: IncomingMessage): Promise<string> {
  const status = res.statusCode ?? 0;
  return new Promise((resolve) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      if (body.length < MAX_BODY_BYTES) body += chunk;
    });
    const done = () => {
      try {
        const b = JSON.parse(body) as { code?: string; message?: string };
        if (typeof b.message === 'string') return resolve(`HTTP ${status} ${b.code ?? ''}: ${b.message.slice(0, 300)}`);
      } catch {
        // not JSON: the status says enough
      }
      resolve(`HTTP ${status}`);
    };
    res.once('end', done);
    res.once('error', done);
    res.once('close', done);
  });
}
