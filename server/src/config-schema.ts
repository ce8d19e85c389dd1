/**
 * The configuration of one central process (`fridgesync central --config central.yaml`). Parsed
 * once at start by `loadConfig` (YAML < `FRIDGESYNC_` environment), every problem reported at once,
 * then frozen. Each option says its unit, default and how to size it.
 */
import { z } from 'zod';
import {
  FridgeIdSchema,
  FridgeRecordSchema,
  GatewayIdSchema,
  GatewayRecordSchema,
  InstanceIdSchema,
  MealIdSchema,
  MealRecordSchema,
  VenueIdSchema,
  VenueRecordSchema,
} from '@fridgesync/shared';

/** A token hash as stored in the config: `sha256:<64 hex>` (see `fridgesync central hash-token`). */
export const TokenHashSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 lowercase hex> (use `central hash-token`)');

/**
 * An IANA time zone name (`Europe/Berlin`, `UTC`): one that `Intl.DateTimeFormat` accepts, which is
 * what the dashboard and the venue views format local times with. UTC offsets (`+01:00`) are
 * refused: they are not zone names and do not follow daylight saving time.
 */
export const TimeZoneSchema = z
  .string()
  .min(1)
  .max(64)
  .refine((tz) => {
    if (/^[+-]/.test(tz)) return false;
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone name such as Europe/Berlin or UTC');

/** One bearer token. Only its hash is stored; a `gateway` token is bound to one venue and gateway. */
export const TokenEntrySchema = z.discriminatedUnion('role', [
  z.strictObject({
    role: z.literal('gateway'),
    /** Human-readable name, for logs (never the token). */
    name: z.string().min(1).max(64),
    hash: TokenHashSchema,
    venueId: VenueIdSchema,
    gatewayId: GatewayIdSchema,
  }),
  z.strictObject({
    role: z.enum(['app', 'kitchen', 'admin', 'viewer']),
    name: z.string().min(1).max(64),
    hash: TokenHashSchema,
  }),
]);
export type TokenEntry = z.infer<typeof TokenEntrySchema>;
/** Gateway tokens registered through the admin API, as stored (central-private). */
export const RegisteredTokensSchema = z.array(TokenEntrySchema).max(100_000);
export type Role = TokenEntry['role'];

/** A venue of the seed with its fridges and gateways. */
const SeedVenueSchema = VenueRecordSchema.extend({
  id: VenueIdSchema,
  timezone: TimeZoneSchema,
  fridges: z.array(FridgeRecordSchema.omit({ venueId: true }).extend({ id: FridgeIdSchema })).default([]),
  gateways: z.array(GatewayRecordSchema.omit({ venueId: true }).extend({ id: GatewayIdSchema })).default([]),
});

/** The central configuration schema. */
export const CentralConfigSchema = z
  .strictObject({
  /**
   * Instance id: this process writes as replica `central:<instanceId>`. Must be stable across
   * restarts of the same data directory and unique among central processes. Default `c1`.
   */
  instanceId: InstanceIdSchema.default('c1' as never),
  http: z
    .strictObject({
      /** Listen address. Default `127.0.0.1`; `0.0.0.0` to serve the network. */
      host: z.string().min(1).default('127.0.0.1'),
      /** TCP port; `0` picks a free port (tests). Default 8080. */
      port: z.number().int().min(0).max(65535).default(8080),
      /** Largest accepted request body, bytes. Default 1 MiB: a promotions CSV of ~10k rows. */
      bodyLimitBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
      /** Requests per minute per token (or IP) on write routes. Default 600; size for the busiest app node. */
      writeRateLimitPerMinute: z.number().int().min(1).default(600),
      /** Grace period for in-flight requests and sockets on shutdown, ms. Default 10 000. */
      shutdownGraceMs: z.number().int().min(0).default(10_000),
      /**
       * Hash (`sha256:…`, from `fridgesync central hash-token`) of the token Prometheus must send as
       * `Authorization: Bearer` to read `/metrics`. Default: unset, `/metrics` open — it carries
       * counts and latencies labelled at most by venue and gateway id (no secrets, no customer or order ids), the default listen address is loopback, and
       * a scraper needs no setup. Set it whenever `host` serves a network.
       */
      metricsTokenHash: TokenHashSchema.optional(),
      /**
       * Failed authentications (401: missing, unknown or malformed token) one source address may
       * make per `authFailureWindowMs` before every request of it that needs a token is answered
       * 429 until the window ends. Default 30. Clients with a valid token never fail; behind a
       * reverse proxy every client shares the proxy's address unless `trustProxy`-style forwarding
       * is set up, so raise it there.
       */
      maxAuthFailuresPerAddress: z.number().int().min(1).max(1_000_000).default(30),
      /** Window of `maxAuthFailuresPerAddress`, ms. Default 60 000. */
      authFailureWindowMs: z.number().int().min(1_000).max(3_600_000).default(60_000),
    })
    .prefault({}),
  storage: z
    .strictObject({
      /** `level` (classic-level, synced writes) or `memory` (tests, demos: nothing survives). Default `level`. */
      engine: z.enum(['level', 'memory']).default('level'),
      /** Directory of the LevelDB store. Default `./data/central`. */
      dataDir: z.string().min(1).default('./data/central'),
      /**
       * Compact a venue's log into one update once it holds this many appended updates. Default
       * 500: loading 500 small updates takes a few ms; larger values trade load time for fewer rewrites.
       */
      compactEvery: z.number().int().min(2).default(500),
    })
    .prefault({}),
  documents: z
    .strictObject({
      /** Unload a document after this long without connections or writes, ms. Default 600 000 (10 min). */
      idleUnloadMs: z.number().int().min(1000).default(600_000),
    })
    .prefault({}),
  sync: z
    .strictObject({
      /** Largest websocket frame, bytes; bigger frames close the socket with 1009. Default 4 MiB (a full venue state). */
      maxFrameBytes: z.number().int().min(1024).default(4 * 1024 * 1024),
      /** Time a writer has to send `hello` after the upgrade, ms. Default 10 000. */
      preAuthMs: z.number().int().min(100).default(10_000),
      /**
       * Bytes queued for one socket before it is closed as a slow consumer (4429). Default 8 MiB:
       * several full-state syncs; a viewer that cannot keep up reconnects and resyncs.
       */
      maxBufferedBytes: z.number().int().min(1024).default(8 * 1024 * 1024),
      /** Open sync sockets per token. Default 8 (an HA pair reconnecting plus dashboards). */
      maxConnectionsPerToken: z.number().int().min(1).default(8),
      /**
       * A gateway's clock skew against central's beyond which central alerts, ms: the venue view
       * marks the gateway (`clockSkewAlert`), a warning is logged at its handshake, and
       * `fridgesync_gateway_clock_skew_seconds` shows the value for an alert rule. Measured from the
       * time a gateway puts in its `hello` (within one network latency). Holds are judged by the
       * clock of the replica that took each order whatever the skew. Default 30 000; an NTP-synced
       * host stays within 100 ms.
       */
      maxClockSkewMs: z.number().int().min(100).default(30_000),
      /**
       * Interval of websocket pings on sync sockets, ms; a socket that misses two pongs in a row is
       * terminated, so a half-open connection (a gateway whose host lost power, a dropped NAT
       * mapping) stops holding its replica (4409) or gateway (4412) after two to three intervals.
       * Default 15 000 (a reconnecting gateway is admitted again within 45 s); lower it for faster
       * takeover, at one small frame per socket per interval.
       */
      pingIntervalMs: z.number().int().min(50).default(15_000),
    })
    .prefault({}),
  orders: z
    .strictObject({
      /** How often central expires its due holds and prunes settled orders, ms. Default 1 000. */
      sweepMs: z.number().int().min(10).default(1000),
      /** Keep settled orders this long before pruning own entries, ms. Default 7 days. */
      retentionMs: z.number().int().min(0).default(7 * 24 * 3600 * 1000),
    })
    .prefault({}),
  events: z
    .strictObject({
      /** Events kept for `Last-Event-ID` resume. Default 10 000 (minutes of a busy city). */
      retainEvents: z.number().int().min(10).default(10_000),
      /** Resume window, ms; older ids get a `refetch` event. Default 300 000 (5 min). */
      retainMs: z.number().int().min(1000).default(300_000),
      /** SSE heartbeat comment interval, ms. Default 15 000 (below common proxy idle timeouts). */
      heartbeatMs: z.number().int().min(100).default(15_000),
      /**
       * Open `/v1/events` streams per token; a further one is answered 429. Default 32: the viewer
       * token is shared by every dashboard and kiosk screen of a deployment, so size it to the
       * screens that may be open at once (each stream holds up to 4 MiB while its client is slow).
       */
      maxStreamsPerToken: z.number().int().min(1).max(100_000).default(32),
    })
    .prefault({}),
  eventLog: z
    .strictObject({
      /**
       * Attach the domain event log (docs/design.md "Domain event log"): facts derived from the
       * merged state, `GET /v1/events/log` and the consumer-group routes. Default `true`.
       */
      enabled: z.boolean().default(true),
      /**
       * Directory of the log's own LevelDB database (with `storage.engine: level`). Default
       * `<storage.dataDir>/event-log`. With `storage.engine: memory` the log is in memory too.
       */
      dataDir: z.string().min(1).optional(),
      retention: z
        .strictObject({
          /**
           * Events older than this are dropped once every consumer group has acknowledged them, ms;
           * 0 keeps them by age. Default 7 days: a consumer down over a weekend catches up.
           */
          maxAgeMs: z.number().int().min(0).default(7 * 24 * 3600 * 1000),
          /**
           * Events beyond this count (oldest first) are dropped once every group has acknowledged
           * them; 0 keeps them by count. Default 1 000 000: a fact takes ~300 bytes, so ~300 MB.
           */
          maxEvents: z.number().int().min(0).default(1_000_000),
          /**
           * Hard cap: events beyond this count are dropped even if a group has not acknowledged them
           * (`fridgesync_event_log_pruned_total{acked="false"}` counts them), so a consumer group
           * that stopped reading cannot fill the disk. Default 5 000 000 (~1.5 GB).
           */
          hardMaxEvents: z.number().int().min(1_000).default(5_000_000),
        })
        .prefault({}),
      /** How often retention runs, ms. Default 60 000; one pass drops at most 5 000 events. */
      pruneEveryMs: z.number().int().min(100).default(60_000),
      /**
       * Most consumer groups (a claim under a new name creates one; beyond this, 409
       * TOO_MANY_GROUPS). Default 16: one per consuming subsystem, each holds its cursor and
       * pending list on disk.
       */
      maxGroups: z.number().int().min(1).max(1_000).default(16),
      /**
       * Most events one group may hold unacknowledged; beyond it a claim hands out only
       * redeliveries. Default 10 000 (bounds a group's pending list and each claim's scan of it).
       */
      maxPending: z.number().int().min(1).max(100_000).default(10_000),
      /** Deliveries of one event to a group before it moves to the group's dead-letter list. Default 5. */
      maxAttempts: z.number().int().min(1).max(100).default(5),
    })
    .prefault({}),
  /** Bearer tokens by role (hashes only). */
  tokens: z.array(TokenEntrySchema).default([]),
  registry: z
    .strictObject({
      /**
       * How the seed lands in the venue documents at start: `missing` writes only records the
       * documents lack (admin API edits win), `overwrite` rewrites records that differ. Default `missing`.
       */
      seedMode: z.enum(['missing', 'overwrite']).default('missing'),
      venues: z.array(SeedVenueSchema).default([]),
      meals: z.array(MealRecordSchema.extend({ id: MealIdSchema })).default([]),
    })
    .prefault({}),
  /** pino level. Default `info`. */
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((c, ctx) => {
    // Cross-references the schema of each field cannot see; every problem is reported.
    const problem = (path: Array<string | number>, message: string) => ctx.addIssue({ code: 'custom', path, message });
    const dup = (ids: string[], path: Array<string | number>, what: string) => {
      const seen = new Set<string>();
      ids.forEach((id, i) => {
        if (seen.has(id)) problem([...path, i, 'id'], `duplicate ${what} id ${id}`);
        seen.add(id);
      });
    };
    const meals = new Set(c.registry.meals.map((m) => m.id as string));
    dup(c.registry.meals.map((m) => m.id), ['registry', 'meals'], 'meal');
    dup(c.registry.venues.map((v) => v.id), ['registry', 'venues'], 'venue');
    c.registry.venues.forEach((v, vi) => {
      dup(v.fridges.map((f) => f.id), ['registry', 'venues', vi, 'fridges'], 'fridge');
      dup(v.gateways.map((g) => g.id), ['registry', 'venues', vi, 'gateways'], 'gateway');
      const gws = new Set(v.gateways.map((g) => g.id as string));
      v.fridges.forEach((f, fi) => {
        if (!gws.has(f.reconciler)) problem(['registry', 'venues', vi, 'fridges', fi, 'reconciler'], `gateway ${f.reconciler} is not a gateway of venue ${v.id}`);
        for (const m of Object.keys(f.par)) if (!meals.has(m)) problem(['registry', 'venues', vi, 'fridges', fi, 'par', m], `unknown meal ${m}`);
      });
    });
    const hashes = new Set<string>();
    c.tokens.forEach((t, i) => {
      if (hashes.has(t.hash)) problem(['tokens', i, 'hash'], 'the same token hash is listed twice');
      hashes.add(t.hash);
      if (t.role !== 'gateway') return;
      const v = c.registry.venues.find((x) => x.id === t.venueId);
      if (v !== undefined && !v.gateways.some((g) => g.id === t.gatewayId)) problem(['tokens', i, 'gatewayId'], `gateway ${t.gatewayId} is not registered for venue ${t.venueId}`);
    });
  });

/** The validated, frozen central configuration. */
export type CentralConfig = z.infer<typeof CentralConfigSchema>;
/** Input accepted by {@link CentralConfigSchema} (YAML shape). */
export type CentralConfigInput = z.input<typeof CentralConfigSchema>;
