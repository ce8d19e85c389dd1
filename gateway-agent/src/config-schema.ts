/**
 * The gateway agent's configuration: one zod schema, parsed once at start by `main.ts` (YAML file <
 * `FRIDGESYNC_*` environment < `*_FILE` secrets, see `loadConfig` in shared), every problem listed,
 * then frozen. Every key says its unit, its default and how to size it; `gateway.example.yaml` at the
 * repository root shows them all.
 */
import { z } from 'zod';
import { FridgeIdSchema, GatewayIdSchema, isLoopbackHost, VenueIdSchema } from '@fridgesync/shared';
import { SECRET_HASH_PATTERN } from './fridge-secrets.ts';

const port = z.number().int().min(0).max(65_535);
const ms = (min: number, max: number) => z.number().int().min(min).max(max);

/** Embedded aedes broker (the default): fridges connect to the gateway itself. */
const EmbeddedSchema = z.strictObject({
  /** Interface to listen on. Default `0.0.0.0` (fridges are on the venue LAN). */
  host: z.string().min(1).default('0.0.0.0'),
  /** TCP port for MQTT 3.1.1. Default 1883; 0 picks a free port (tests). */
  port: port.default(1883),
  /**
   * Optional MQTT-over-websocket port (for fridges or tools behind HTTP proxies); the same
   * authentication, ACL and bounds as TCP. Default: off. 0 picks a free port (tests).
   */
  websocketPort: port.optional(),
  /**
   * Largest MQTT packet accepted, bytes. Default 65 536. A snapshot of 256 meals is about 8 KiB;
   * raise only if fridges report more meals.
   */
  maxPacketBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(65_536),
  /** Most simultaneous MQTT connections. Default 500: one per fridge plus headroom for reconnect storms. */
  maxConnections: z.number().int().min(1).max(100_000).default(500),
  /** Most topic levels in any PUBLISH/SUBSCRIBE (aedes `maxTopicLevels`). Default 8: the contract uses 3 plus the prefix. */
  maxTopicLevels: z.number().int().min(3).max(100).default(8),
  /**
   * Time a connection may take from its TCP handshake to its CONNECT packet, ms. Default 3 000. A
   * fridge sends CONNECT right after the handshake (milliseconds on a LAN); what waits longer holds
   * a pending slot (`maxPendingConnections`) for nothing. Raise only for fridges on very slow links.
   */
  connectTimeoutMs: ms(100, 300_000).default(3_000),
  /**
   * Most connections waiting for their CONNECT at once, apart from the fridges' `maxConnections`.
   * Default 512. A new connection beyond it closes the oldest pending one (fridges send CONNECT at
   * once, idle floods are the oldest). Size it to about `maxConnections`: after a gateway restart
   * every fridge may reconnect within the same few milliseconds, and each pending connection costs
   * only a socket and a few kilobytes.
   */
  maxPendingConnections: z.number().int().min(1).max(100_000).default(512),
  /**
   * Most connections waiting for their CONNECT from one source address (IPv4, or IPv6 as keyed
   * by `ipv6PrefixLength`).
   * Default 32; a further one is closed as it is accepted (and retries). Fridges behind one NAT
   * address share it: raise it to the number of fridges that may reconnect there at the same moment.
   */
  maxPendingPerAddress: z.number().int().min(1).max(100_000).default(32),
  /**
   * Bits of an IPv6 source address that the per-address limits (`maxPendingPerAddress`,
   * `maxAuthFailuresPerAddress`) count together. Default 128: each address on its own. A venue LAN
   * is one /64 and link-local addresses all fall in fe80::/64, so 64 would let one host lock out
   * every fridge there. Lower it (e.g. 64) only where fridges never share a prefix with untrusted
   * hosts, such as a gateway reachable from the internet over IPv6.
   */
  ipv6PrefixLength: z.number().int().min(32).max(128).default(128),
  /**
   * Window of the failed-CONNECT counts, ms (see `maxAuthFailuresPerAddress`,
   * `maxAuthFailuresPerFridge`). Default 60 000: a blocked address may try again after at most a minute.
   */
  authFailureWindowMs: ms(1_000, 3_600_000).default(60_000),
  /**
   * Failed CONNECTs (wrong secret, unknown fridge, refused by this throttle) one source address
   * may make in a window before its connections are refused unverified until the window ends.
   * Default 10. A fridge with the right secret never fails; fridges behind one NAT address share the
   * count, so one misconfigured fridge there blocks its neighbours' reconnects for a window: raise
   * it for such venues.
   */
  maxAuthFailuresPerAddress: z.number().int().min(1).max(1_000_000).default(10),
  /**
   * Failed CONNECTs for one configured fridge id in a window before its secret is verified only
   * for addresses without a failure in the window. Default 20. The real fridge, on an address of
   * its own, keeps connecting while others guess at its id.
   */
  maxAuthFailuresPerFridge: z.number().int().min(1).max(1_000_000).default(20),
  /** Time a slow subscriber may take to drain its socket before it is dropped, ms. Default 10 000. */
  drainTimeoutMs: ms(100, 300_000).default(10_000),
  /** Packets queued per client before its session is ready (aedes `queueLimit`). Default 42. */
  queueLimit: z.number().int().min(1).max(10_000).default(42),
});

/** External broker (e.g. Mosquitto): the agent subscribes as an MQTT client. */
const ExternalSchema = z.strictObject({
  /** Broker URL, `mqtt://host:port` or `mqtts://…`. Required in external mode. */
  url: z.string().url().optional(),
  /** Client id of the agent; stable so the broker keeps its session (clean session off). Default `gw-<gatewayId>`. */
  clientId: z.string().min(1).max(64).optional(),
  /** Username of the agent at the broker. */
  username: z.string().max(128).optional(),
  /** Password of the agent at the broker (a secret: use `FRIDGESYNC_MQTT__EXTERNAL__PASSWORD_FILE`). */
  password: z.string().max(1024).optional(),
  /** Reconnect delay after the broker drops the agent, ms. Default 1 000. */
  reconnectMs: ms(100, 60_000).default(1_000),
});

const MqttSchema = z.strictObject({
  /** `embedded` (aedes inside the agent, default) or `external` (an existing broker such as Mosquitto). */
  mode: z.enum(['embedded', 'external']).default('embedded'),
  /** Topic prefix before `fridges/` on a shared broker: empty or ending in `/`. Default empty. */
  topicPrefix: z
    .string()
    .max(64)
    .regex(/^([A-Za-z0-9._-]+\/)*$/, 'must be empty or segments of A-Z a-z 0-9 . _ - each followed by /')
    .default(''),
  embedded: EmbeddedSchema.default(EmbeddedSchema.parse({})),
  external: ExternalSchema.default(ExternalSchema.parse({})),
  /**
   * Per-fridge secrets for the embedded broker, `fridgeId: hash`. `fridgesync gateway add-fridge
   * <fridgeId>` generates a secret and prints it once with the line to add here (a keyed hash,
   * `hs256$…`; plaintext secrets are never stored). scrypt hashes (`scrypt$…`) of older configs are
   * still accepted, verified one at a time (docs/operations.md, "Fridge secrets"). A fridge not
   * listed cannot connect. External mode ignores this (the broker's password file rules).
   */
  fridges: z
    .record(FridgeIdSchema, z.string().regex(SECRET_HASH_PATTERN, 'must be a hash printed by `fridgesync gateway add-fridge` (hs256$…) or `hash-secret`'))
    .default({}),
});

const CentralSchema = z.strictObject({
  /**
   * Base URL of central, `ws://host:port` or `wss://…`; the agent connects to `/sync/{venueId}`.
   * Omit to run standalone (the replica then never becomes writable on a fresh store).
   */
  url: z.string().regex(/^wss?:\/\/[^\s]+$/, 'must be a ws:// or wss:// URL').optional(),
  /** Bearer token of this gateway (a secret: use `FRIDGESYNC_CENTRAL__TOKEN_FILE`). */
  token: z.string().min(1).max(4096).optional(),
  /** First reconnect delay, ms. Default 500. Doubles up to `backoffMaxMs`, with full jitter. */
  backoffMinMs: ms(10, 60_000).default(500),
  /** Longest reconnect delay, ms. Default 30 000: a venue reconnects within half a minute of the link returning. */
  backoffMaxMs: ms(100, 600_000).default(30_000),
  /** Largest websocket message accepted from central, bytes. Default 64 MiB (a full venue state on first sync). */
  maxMessageBytes: z.number().int().min(65_536).max(1024 * 1024 * 1024).default(64 * 1024 * 1024),
  /** Time to wait for the connection to open, ms. Default 10 000. */
  connectTimeoutMs: ms(100, 120_000).default(10_000),
  /**
   * Time from open to the end of the first exchange (central's sync-step2), ms; a session stuck
   * in its handshake is closed and retried. Default 60 000 (a large venue's full state on a slow link).
   */
  syncTimeoutMs: ms(1_000, 600_000).default(60_000),
  /**
   * Interval of this gateway's websocket pings to central, ms; a connection that answers nothing
   * (no pong, no message) for two intervals in a row is terminated and the gateway reconnects, so a
   * link that went silent without closing (a dropped NAT mapping, central's host lost power) is
   * noticed within two to three intervals instead of when TCP gives up. Default 15 000, as
   * central's `sync.pingIntervalMs`; one small frame per interval.
   */
  pingIntervalMs: ms(100, 600_000).default(15_000),
  /**
   * Clock skew against central beyond which the gateway alerts (a warning log on every handshake,
   * `clockSkew.alert` in `/status`), ms. Measured at each sync handshake; holds are judged by the
   * clock of the replica that took the order whatever the skew, but logs, snapshot times and fridge
   * presence read the gateway's clock. Default 30 000; an NTP-synced host stays within 100 ms.
   */
  maxClockSkewMs: ms(100, 86_400_000).default(30_000),
});

const HttpSchema = z.strictObject({
  /** Interface for the kiosk API, health and metrics. Default `127.0.0.1` (the kiosk runs on the gateway host); another address needs `kioskToken`. */
  host: z.string().min(1).default('127.0.0.1'),
  /** Port. Default 8081; 0 picks a free port (tests). */
  port: port.default(8081),
  /** Largest request body, bytes. Default 65 536 (an order has at most 32 lines). */
  bodyLimitBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(65_536),
  /**
   * Bearer token the kiosk must send on `/v1/orders…` (a secret: use
   * `FRIDGESYNC_HTTP__KIOSK_TOKEN_FILE`; at least 16 characters, e.g. `openssl rand -base64 24`).
   * Required when `host` is not a loopback address. Default: unset, and then the kiosk API answers
   * only requests from this host (loopback `Host`, no foreign browser `Origin`).
   */
  kioskToken: z.string().min(16).max(4096).optional(),
  /**
   * Bearer token Prometheus must send to read `/metrics`, also required on `/status` (central's
   * URL, fridge ids, rights held) (a secret: use `FRIDGESYNC_HTTP__METRICS_TOKEN_FILE`; at least 16
   * characters). Default: unset, both open (metrics hold counts and latencies, labelled at most by
   * venue and gateway id, no secrets); set it when `host` serves a network.
   */
  metricsToken: z.string().min(16).max(4096).optional(),
});

const ReconcileSchema = z.strictObject({
  /**
   * Delay that merges bursts of changes to one fridge into one reconciliation pass, ms; also the
   * least time between two passes of one fridge. Default 500. A pass costs about a millisecond of
   * CPU per fridge; lower it for faster corrections on a small venue, raise it if the gateway's
   * CPU is saturated by fridges that report very often.
   */
  debounceMs: ms(0, 60_000).default(500),
  /** How often holds are checked for expiry and orders housekept, ms. Default 5 000 (holds expire within 5 s). */
  sweepIntervalMs: ms(100, 3_600_000).default(5_000),
  /** Fraction of sellable stock granted to other takers (central), 0–1. Default 0.8. */
  takerShare: z.number().min(0).max(1).default(0.8),
  /**
   * After rights of a fridge's meal had to be recalled from takers, how long the reconciler grants
   * them no more of it unasked, ms; a recall within twice the last pause doubles it, up to
   * `recallPauseMaxMs`. Requests are still answered. Default 5 000; 0 turns the pauses off (every
   * pass tops the takers up again, even when the stock swings on every report).
   */
  recallPauseMs: ms(0, 600_000).default(5_000),
  /** Longest pause of top-ups after repeated recalls, ms (see `recallPauseMs`; not below it). Default 60 000. */
  recallPauseMaxMs: ms(0, 3_600_000).default(60_000),
  /** How long settled orders are kept before this replica prunes its entries, ms. Default 7 days. */
  orderRetentionMs: ms(60_000, 365 * 86_400_000).default(7 * 86_400_000),
  /**
   * How long past its hold (by this gateway's clock) an order stays reserved when its taker is a
   * live gateway replica whose clock this gateway cannot estimate (another gateway's kiosk, or an
   * HA partner's), ms; that taker normally expires it itself first. Bounds how long a taker that
   * died without retiring holds units. Default 7 200 000 (2 h); size it above the largest clock
   * skew between gateways you tolerate. Central's orders use `centralClockGraceMs` instead.
   */
  unknownClockGraceMs: ms(60_000, 7 * 86_400_000).default(7_200_000),
  /**
   * How long past its hold (by this gateway's clock) one of central's orders stays reserved while
   * central's clock is unmeasured, ms: only between a gateway start and its first sync handshake
   * (a gateway restarted while its link is down). After the handshake central's measured clock
   * decides (docs/operations.md "Clock skew"). Default 600 000 (10 min): central expires its own
   * orders on time anyway, so this bounds how long units stay held at a cut-off venue; a gateway
   * whose clock runs ahead of central's by more than this would expire central's orders early
   * while cut off, so size it above the skew you tolerate (`central.maxClockSkewMs` alerts on it).
   */
  centralClockGraceMs: ms(0, 7 * 86_400_000).default(600_000),
});

const PresenceSchema = z.strictObject({
  /**
   * Least time between two presence writes of one fridge caused by telemetry, ms. Default 60 000.
   * Online/offline changes and door changes are written at once; only temperature refreshes wait.
   */
  minIntervalMs: ms(0, 3_600_000).default(60_000),
  /**
   * When a fridge comes online (the first status or telemetry this process hears of it, or online
   * after offline), send it `resend-inventory` so its current totals arrive at once, e.g. after the
   * fridge or this gateway restarted. Default true.
   */
  resendInventoryOnConnect: z.boolean().default(true),
});

const StorageSchema = z.strictObject({
  /** Directory of the LevelDB store. One agent process per directory (locked). */
  dataDir: z.string().min(1).default('./data/gateway'),
  /** Compact (replace the update log by one state update) after this many appended updates. Default 5 000. */
  compactEveryUpdates: z.number().int().min(10).max(10_000_000).default(5_000),
  /** Most appends merged into one synced batch (group commit). Default 512. */
  maxBatch: z.number().int().min(1).max(100_000).default(512),
  /**
   * Least time between two writes of one fridge's snapshots into the venue document, ms. Default
   * 1 000. A snapshot is acknowledged once its payload is in the store's intake log (synced); the
   * snapshots a fridge sends within this time reach the document, and central, as one entry (the
   * newest wins: fridges report full totals). Fridges report every few minutes, so a snapshot
   * normally goes in at once; only a fridge reporting faster (a burst, or the queue it flushes
   * after a reconnect) waits, at most this long. 0 writes every snapshot into the document before
   * acknowledging it (one entry per snapshot).
   */
  snapshotFoldMs: ms(0, 10_000).default(1_000),
});

const ShutdownSchema = z.strictObject({
  /** Longest graceful shutdown, ms; after it the process exits anyway. Default 10 000. */
  graceMs: ms(100, 600_000).default(10_000),
  /**
   * Retire this replica on graceful shutdown. `when-online` (default): only when central is
   * connected, so the rights flow back and the next start takes a new epoch; offline the epoch is
   * kept so the venue can restart without central. `always` or `never` force it.
   */
  retire: z.enum(['when-online', 'always', 'never']).default('when-online'),
});

/** The gateway agent configuration. */
export const GatewayConfigSchema = z.strictObject({
  /** This gateway's id, as registered at central (the token is bound to it). Required. */
  gatewayId: GatewayIdSchema,
  /** The venue this gateway serves. Required. */
  venueId: VenueIdSchema,
  mqtt: MqttSchema.default(MqttSchema.parse({})),
  central: CentralSchema.default(CentralSchema.parse({})),
  http: HttpSchema.default(HttpSchema.parse({})),
  reconcile: ReconcileSchema.default(ReconcileSchema.parse({})),
  presence: PresenceSchema.default(PresenceSchema.parse({})),
  storage: StorageSchema.default(StorageSchema.parse({})),
  shutdown: ShutdownSchema.default(ShutdownSchema.parse({})),
  /** pino log level. Default `info`. */
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
})
  .superRefine((c, ctx) => {
    if (c.mqtt.mode === 'external' && c.mqtt.external.url === undefined) {
      ctx.addIssue({ code: 'custom', path: ['mqtt', 'external', 'url'], message: 'required when mqtt.mode is external' });
    }
    if (c.central.url !== undefined && c.central.token === undefined) {
      ctx.addIssue({ code: 'custom', path: ['central', 'token'], message: 'required when central.url is set (use FRIDGESYNC_CENTRAL__TOKEN_FILE)' });
    }
    if (c.http.kioskToken === undefined && !isLoopbackHost(c.http.host)) {
      ctx.addIssue({ code: 'custom', path: ['http', 'kioskToken'], message: `required when http.host (${c.http.host}) is not a loopback address: anyone on that network could order and unlock fridges (use FRIDGESYNC_HTTP__KIOSK_TOKEN_FILE)` });
    }
    if (c.central.backoffMinMs > c.central.backoffMaxMs) {
      ctx.addIssue({ code: 'custom', path: ['central', 'backoffMinMs'], message: 'must not exceed central.backoffMaxMs' });
    }
    if (c.reconcile.recallPauseMs > c.reconcile.recallPauseMaxMs) {
      ctx.addIssue({ code: 'custom', path: ['reconcile', 'recallPauseMs'], message: 'must not exceed reconcile.recallPauseMaxMs' });
    }
  });

/**
 * Keys the gateway no longer reads, each with why. A configuration that still sets one loads: the
 * key is ignored with a warning (shared `loadConfig`, option `retired`; docs/operations.md
 * "Upgrading").
 */
export const RETIRED_GATEWAY_KEYS: Readonly<Record<string, string>> = Object.freeze({
  'reconcile.seqResetGap': 'a fridge that forgot its boot counter is recognised by its timestamp going on while its sequence went back (docs/design.md "Observed totals"), not by a sequence gap',
});

/** A validated gateway configuration. */
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;
/** What a caller writes (defaults optional). */
export type GatewayConfigInput = z.input<typeof GatewayConfigSchema>;
