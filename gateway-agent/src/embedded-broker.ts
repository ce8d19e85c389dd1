/**
 * The embedded MQTT 3.1.1 broker (aedes 1.x) fridges connect to.
 *
 * - Authentication: client id = username = fridge id, password checked against the fridge's keyed
 *   hash (fridge-secrets.ts). Failed CONNECTs are counted per source address and per fridge id
 *   (auth-throttle.ts): a guessing address is blocked for the rest of a window, a guessed-at fridge
 *   id is verified only for addresses without failures. Connects are refused with "server
 *   unavailable" while the replica cannot write (joining, retired, failed): nothing is acknowledged
 *   that could not be stored, and fridges keep their QoS 1 messages and retry.
 * - Before CONNECT: connections waiting for their CONNECT are bounded per address and in all, apart
 *   from the fridges' slots, and wait at most `connectTimeoutMs` (pending-connections.ts). On the
 *   websocket port the same holds from the TCP accept, through the HTTP upgrade, to CONNECT.
 * - ACL: a fridge publishes only under `{prefix}fridges/{its id}/`, its will included (checked at
 *   connect and again when aedes publishes it), and subscribes only to filters within its own
 *   subtree (`fridges/{id}/commands`, or `fridges/{id}/#` as some firmware does). Whatever the
 *   filter, only its `commands` topic, the one topic the contract sends to fridges (README
 *   "Contracts"), is ever delivered to it (`authorizeForward`): nothing a fridge publishes is queued
 *   for a subscriber, not even for itself. `$SYS`, `#`, `+` and other fridges' subtrees are
 *   refused: a refused subscription gets SUBACK failure, a publish into another fridge's subtree
 *   closes the connection (MQTT 3.1.1 has no negative PUBACK). A publish on any
 *   other topic of its own subtree is acknowledged and dropped by ingest (counted by reason
 *   `topic`), so firmware with a wrong topic is not caught in a redelivery loop.
 * - Retained messages: none are kept. Fridges set retain on `status` (for external brokers, whose
 *   subscribers are the agent), but here the agent reads every publish as it arrives and no
 *   subscription a fridge may make could receive one; keeping them only costs memory.
 * - Durability: `authorizePublish` runs before aedes writes the PUBACK. It starts the ingest path and
 *   gates the fridge's connection on it ({@link MqttConnection.holdOutputUntil}): the PUBACK, and
 *   everything written to that fridge after it, leaves the process only once the synced write is
 *   done; if it fails the connection is destroyed and the PUBACK never leaves. aedes meanwhile goes
 *   on with the fridge's next publishes, which join the same group commit (the external-broker
 *   client acknowledges the same way).
 * - Bounds: packet size (a byte-level guard before aedes buffers anything), topic levels, TCP
 *   connections, connected fridges, pre-CONNECT queue, slow-subscriber drain time.
 * - Malformed packets close the connection (aedes) and are counted (`malformed`); every other
 *   refusal is counted where it is made.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { AddressInfo } from 'node:net';
import { Aedes, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { Logger } from 'pino';
import { fridgeTopic, type CommandPayload, type FridgeId } from '@fridgesync/shared';
import { ConnectRefused, toAuthenticate, toAuthorizePublish, toAuthorizeSubscribe } from './aedes-hooks.ts';
import { FridgeAuthenticator } from './fridge-secrets.ts';
import { AuthThrottle, addressKey } from './auth-throttle.ts';
import { PendingConnections } from './pending-connections.ts';
import { MqttConnection } from './mqtt-connection.ts';
import type { BrokerStatus, FridgeBroker } from './fridge-broker.ts';
import type { Ingestor } from './ingest.ts';
import type { AgentMetrics } from './metrics.ts';
import type { GatewayConfig } from './config-schema.ts';

/** Options of {@link EmbeddedBroker}. */
export interface EmbeddedBrokerOptions {
  config: GatewayConfig['mqtt'];
  ingestor: Ingestor;
  logger: Logger;
  metrics: AgentMetrics;
  /** True while the replica may write (connects are refused otherwise). */
  writable: () => boolean;
}

/** Most fridge subtrees remembered (more than the fridges of any venue; beyond it the cache starts over). */
const SUBTREE_CACHE = 10_000;

/**
 * Errors aedes raises for a packet that parsed but breaks MQTT 3.1.1: a first packet other than
 * CONNECT or a second CONNECT ([MQTT-3.1.0-1], [MQTT-3.1.0-2]), a PUBLISH topic that is empty, holds
 * a wildcard or has too many levels. With the parser's own errors they are counted as `malformed`.
 */
const PROTOCOL_ERRORS: ReadonlySet<string> = new Set(['Invalid protocol', 'empty topic not allowed in PUBLISH', '# is not allowed in PUBLISH', '+ is not allowed in PUBLISH', 'topic has too many levels']);

/** True when `err`, which closed `client`'s connection, is a malformed packet (see {@link PROTOCOL_ERRORS}). */
function malformed(client: Client | null | undefined, err: Error): boolean {
  // mqtt-packet keeps the error it emitted on the parser (aedes keeps the parser as `_parser`).
  const parser = (client as unknown as { _parser?: { error?: unknown } } | null | undefined)?._parser;
  return (parser !== undefined && parser.error === err) || PROTOCOL_ERRORS.has(err.message);
}

/** Waits at most `ms` for `p`. */
function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    void p.finally(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** The embedded broker. */
export class EmbeddedBroker implements FridgeBroker {
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private wsServer: HttpServer | undefined;
  private wss: WebSocketServer | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly fridges = new Set<string>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly auth: FridgeAuthenticator;
  private readonly throttle: AuthThrottle;
  private readonly pending: PendingConnections;
  /** Each connection's remote address (what the throttle counts failures under). */
  private readonly addressOf = new WeakMap<object, string>();
  private accepting = false;

  constructor(private readonly opts: EmbeddedBrokerOptions) {
    const e = opts.config.embedded;
    this.auth = new FridgeAuthenticator(opts.config.fridges, () => opts.metrics.legacyVerifications.inc());
    this.throttle = new AuthThrottle({
      windowMs: e.authFailureWindowMs,
      maxFailuresPerAddress: e.maxAuthFailuresPerAddress,
      maxFailuresPerFridge: e.maxAuthFailuresPerFridge,
      ipv6PrefixLength: e.ipv6PrefixLength,
    });
    this.pending = new PendingConnections({
      maxPending: e.maxPendingConnections,
      maxPerAddress: e.maxPendingPerAddress,
      ipv6PrefixLength: e.ipv6PrefixLength,
      onRefused: (reason, address) => {
        opts.metrics.refused.inc({ reason });
        opts.logger.debug({ remote: address, reason }, 'pending MQTT connection closed');
      },
    });
  }

  /** Fridge id → its topic subtree (every publish is checked against it). */
  private readonly subtrees = new Map<string, string>();

  private subtree(id: string): string {
    let s = this.subtrees.get(id);
    if (s === undefined) {
      s = `${this.opts.config.topicPrefix}fridges/${id}/`;
      // Only ids of authenticated fridges get here; the map starts over at SUBTREE_CACHE of them.
      if (this.subtrees.size >= SUBTREE_CACHE) this.subtrees.clear();
      this.subtrees.set(id, s);
    }
    return s;
  }

  async start(): Promise<void> {
    const { config, logger, metrics } = this.opts;
    const e = config.embedded;
    this.broker = await Aedes.createBroker({
      connectTimeout: e.connectTimeoutMs,
      drainTimeout: e.drainTimeoutMs,
      queueLimit: e.queueLimit,
      maxTopicLevels: e.maxTopicLevels,
      maxClientsIdLength: 64,
      heartbeatInterval: 3_600_000,
      preConnect: (client, _packet, done) => {
        // The CONNECT arrived: the connection leaves the pending bound (authentication bounds it now).
        this.leavePending(client.conn);
        done(null, true);
      },
      authenticate: toAuthenticate(async (client, username, password) => this.authenticate(client, username, password)),
      authorizePublish: toAuthorizePublish((client, packet) => this.authorizePublish(client, packet)),
      authorizeSubscribe: toAuthorizeSubscribe(async (client, sub) => this.authorizeSubscribe(client, sub)),
      // Only the receiving fridge's commands topic is ever delivered, whatever filter matched it:
      // a fridge subscribed to its whole subtree gets no echo of what it publishes itself.
      authorizeForward: (client, packet) => (client !== null && packet.topic === `${this.subtree(client.id)}commands` ? packet : null),
    });
    const broker = this.broker;
    metrics.setRetainedSource(async () => {
      let n = 0;
      const store = (broker as unknown as { persistence: { createRetainedStream(pattern: string): AsyncIterable<unknown> } }).persistence;
      for await (const _ of store.createRetainedStream('#')) n++;
      return n;
    });
    broker.on('clientReady', (c: Client) => {
      this.fridges.add(c.id);
      metrics.fridgesConnected.set(this.fridges.size);
    });
    broker.on('clientDisconnect', (c: Client) => {
      this.fridges.delete(c.id);
      metrics.fridgesConnected.set(this.fridges.size);
    });
    // Every connection closed for a malformed packet is counted (the others are counted where
    // they are refused: authenticate, the ACL hooks, the size guard, the pending bounds).
    const closedByError = (c: Client | null, err: Error) => {
      if (malformed(c, err)) metrics.refused.inc({ reason: 'malformed' });
    };
    broker.on('clientError', (c: Client, err: Error) => {
      closedByError(c, err);
      logger.debug({ fridge: c.id, err: err.message }, 'mqtt client error');
    });
    broker.on('connectionError', (c: Client, err: Error) => {
      closedByError(c, err);
      logger.debug({ fridge: c?.id, err: err.message }, 'mqtt connection error');
    });

    this.server = createServer((socket) => this.accept(socket));
    // TCP-level bound on file descriptors: fridges, pending connections, and those being closed
    // by a bound right now. Fridges are bounded again in `authenticate`, pending ones in `accept`.
    this.server.maxConnections = e.maxConnections + e.maxPendingConnections + 64;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(e.port, e.host, () => {
        this.server!.off('error', reject);
        resolve();
      });
    });
    if (e.websocketPort !== undefined) await this.listenWebsocket(e.websocketPort, e.host);
    const legacy = this.auth.legacyFridges();
    if (legacy.length > 0) {
      logger.warn(
        { fridges: legacy.slice(0, 20), count: legacy.length },
        'fridge secrets hashed with scrypt (older format) are verified one at a time; give these fridges new secrets with `fridgesync gateway add-fridge` (docs/operations.md, "Fridge secrets")',
      );
    }
    this.accepting = true;
    logger.info({ address: this.status().address, websocketPort: this.websocketPort }, 'embedded MQTT broker listening');
  }

  /** MQTT over websocket: each connection becomes a byte stream through the same guard and broker. */
  private async listenWebsocket(port: number, host: string): Promise<void> {
    const e = this.opts.config.embedded;
    const http = createHttpServer(
      {
        // A connection must finish its upgrade request within the MQTT connect timeout, like a TCP
        // connection its CONNECT; the check runs often enough for that bound to hold.
        headersTimeout: e.connectTimeoutMs,
        requestTimeout: e.connectTimeoutMs,
        connectionsCheckingInterval: Math.min(1_000, e.connectTimeoutMs),
      },
      (_req, res) => {
        res.statusCode = 426;
        res.end();
      },
    );
    // headersTimeout counts only once bytes arrive: a socket that sends nothing is closed when idle
    // this long (the websocket library clears the idle timeout at the upgrade).
    http.timeout = e.connectTimeoutMs;
    // The same file-descriptor bound as the TCP listener (see start).
    http.maxConnections = e.maxConnections + e.maxPendingConnections + 64;
    // Before the upgrade, a connection is pending like a TCP one that has not sent CONNECT: blocked
    // addresses are closed as accepted, and the per-address and global pending bounds apply.
    http.on('connection', (socket: Socket) => {
      if (!this.accepting || this.refuseBlocked(socket.remoteAddress)) return socket.destroy();
      socket.on('error', () => socket.destroy());
      if (!this.admitPending(socket, socket.remoteAddress)) return socket.destroy();
    });
    this.wsServer = http;
    this.wss = new WebSocketServer({ server: http, maxPayload: e.maxPacketBytes + 16 });
    this.wss.on('connection', (ws, req) => {
      // Upgraded: the socket leaves the pending set, its MQTT connection takes its place below.
      this.leavePending(req.socket);
      if (!this.accepting || this.broker === undefined) return ws.terminate();
      const address = req.socket.remoteAddress;
      if (this.refuseBlocked(address)) return ws.terminate();
      if (this.wss!.clients.size > e.maxConnections + e.maxPendingConnections) return ws.close(1013, 'too many connections');
      const stream = createWebSocketStream(ws);
      stream.on('error', () => ws.terminate());
      const conn = new MqttConnection(stream, e.maxPacketBytes, () => this.opts.metrics.refused.inc({ reason: 'packet-size' }));
      conn.on('error', () => ws.terminate());
      conn.on('close', () => ws.terminate());
      if (!this.admitPending(conn, address)) return ws.terminate();
      this.broker.handle(conn);
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  }

  /** The websocket port, when enabled. */
  get websocketPort(): number | undefined {
    return (this.wsServer?.address() as AddressInfo | null | undefined)?.port;
  }

  /** Closes a connection from an address blocked by the throttle, as it is accepted. */
  private refuseBlocked(address: string | undefined): boolean {
    if (address === undefined || !this.throttle.blocked(address)) return false;
    this.opts.metrics.refused.inc({ reason: 'throttled-address' });
    return true;
  }

  /** Counts `conn` as pending until its CONNECT; false when the pending bound refuses it. */
  private admitPending(conn: MqttConnection | Socket, address: string | undefined): boolean {
    if (!this.pending.admit(conn, address)) return false;
    this.addressOf.set(conn, address ?? '?');
    this.opts.metrics.mqttPending.set(this.pending.size);
    conn.once('close', () => this.leavePending(conn));
    return true;
  }

  private leavePending(conn: object): void {
    this.pending.leave(conn as MqttConnection | Socket);
    this.opts.metrics.mqttPending.set(this.pending.size);
  }

  private accept(socket: Socket): void {
    if (!this.accepting || this.broker === undefined || this.refuseBlocked(socket.remoteAddress)) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    // PUBACKs leave one by one as their batches become durable; with Nagle's algorithm each would
    // wait for the fridge's delayed ACK of the previous one (tens of ms per message).
    socket.setNoDelay(true);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const conn = new MqttConnection(socket, this.opts.config.embedded.maxPacketBytes, (n) => {
      this.opts.metrics.refused.inc({ reason: 'packet-size' });
      this.opts.logger.warn({ remote: socket.remoteAddress, announced: n }, 'MQTT packet too large; connection closed');
    });
    conn.on('close', () => socket.destroy());
    conn.on('error', () => socket.destroy());
    if (!this.admitPending(conn, socket.remoteAddress)) {
      conn.destroy();
      return;
    }
    this.broker.handle(conn);
  }

  private async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<void> {
    const { metrics, logger } = this.opts;
    const refuse = (code: 2 | 3 | 4 | 5, reason: string, msg: string): never => {
      metrics.refused.inc({ reason });
      throw new ConnectRefused(code, msg);
    };
    const address = this.addressOf.get(client.conn) ?? '?';
    // Only configured ids are counted per fridge (any other id would only fill the throttle's map).
    const fridge = this.auth.known(client.id) ? client.id : undefined;
    const fail = (reason: string, msg: string): never => {
      const wasBlocked = this.throttle.blocked(address);
      this.throttle.failed(address, fridge);
      if (!wasBlocked && this.throttle.blocked(address)) {
        logger.warn({ remote: addressKey(address, this.opts.config.embedded.ipv6PrefixLength), fridge: client.id, windowMs: this.opts.config.embedded.authFailureWindowMs }, 'too many failed MQTT connects from this address: its connections are refused for the rest of the window');
      }
      return refuse(reason === 'credentials' ? 4 : 3, reason, msg);
    };
    if (!this.opts.writable()) refuse(3, 'not-writable', 'gateway not ready to store messages');
    // Before any verification: a throttled attempt costs a map lookup.
    const throttled = this.throttle.admit(client.id, address);
    if (throttled !== undefined) fail(throttled, 'too many failed connects; try again later');
    if (this.fridges.size >= this.opts.config.embedded.maxConnections && !this.fridges.has(client.id)) refuse(3, 'max-connections', 'too many fridges connected');
    if (username !== client.id) fail('credentials', 'username must equal the client id (the fridge id)');
    const result = password === undefined ? 'bad' : await this.auth.check(client.id, password.toString('utf8'));
    // Not a failure of the fridge: the legacy verification queue is full, the fridge retries.
    if (result === 'busy') refuse(3, 'legacy-busy', 'busy verifying secrets; try again later');
    if (result === 'bad') fail('credentials', 'bad fridge id or secret');
    const will = (client as unknown as { _will?: { topic?: string } })._will;
    if (will?.topic !== undefined && will.topic !== `${this.subtree(client.id)}status`) refuse(5, 'acl-will', 'the will must be the fridge status topic');
  }

  /** Returns at once (no promise: it runs for every message); the PUBACK waits behind the gate. */
  private authorizePublish(client: Client | null, packet: PublishPacket): void {
    if (client === null) throw new Error('publish without a client (stale will) refused');
    if (!packet.topic.startsWith(this.subtree(client.id))) {
      this.opts.metrics.refused.inc({ reason: 'acl-publish' });
      this.opts.logger.warn({ fridge: client.id, topic: packet.topic }, 'publish outside the fridge subtree refused; connection closed');
      throw new Error('not authorized');
    }
    // No retained messages are kept (module comment): dropping the flag here keeps aedes from
    // storing the packet, the will's included.
    packet.retain = false;
    const p = this.opts.ingestor.ingest(client.id, packet.topic, packet.payload as Buffer);
    // Snapshots of one turn share their promise: tracked once.
    if (!this.inFlight.has(p)) {
      this.inFlight.add(p);
      const forget = () => this.inFlight.delete(p);
      p.then(forget, forget);
    }
    // Every connection is an MqttConnection (see accept and listenWebsocket). Resolving now lets
    // aedes write the PUBACK behind the gate at once. Awaiting `p` here instead gives the same
    // guarantee; the gate measured faster under a flood (docs/benchmarks.md, gateway-ingest
    // "Measured choices").
    (client.conn as unknown as MqttConnection).holdOutputUntil(p);
  }

  private async authorizeSubscribe(client: Client, sub: Subscription): Promise<Subscription | null> {
    // Any filter within the fridge's own subtree (fridge ids hold no wildcard characters, so the
    // prefix is literal); delivery is narrowed to its commands topic by authorizeForward.
    if (sub.topic.startsWith(this.subtree(client.id))) return sub;
    this.opts.metrics.refused.inc({ reason: 'acl-subscribe' });
    this.opts.logger.warn({ fridge: client.id, topic: sub.topic }, 'subscription outside the fridge subtree refused (a fridge may subscribe only within fridges/<its id>/)');
    return null;
  }

  async sendCommand(fridge: FridgeId, command: CommandPayload): Promise<void> {
    const broker = this.broker;
    if (broker === undefined) throw new Error('broker not started');
    const topic = fridgeTopic(this.opts.config.topicPrefix, fridge, 'commands');
    await new Promise<void>((resolve, reject) =>
      broker.publish({ cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(command)), qos: 1, retain: false, dup: false }, (err) => (err ? reject(err) : resolve())),
    );
  }

  fridgeConnected(fridge: FridgeId): boolean {
    return this.fridges.has(fridge);
  }

  status(): BrokerStatus {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return {
      mode: 'embedded',
      up: this.accepting,
      address: a ? `${a.address}:${a.port}` : undefined,
      fridgesConnected: this.fridges.size,
      inFlight: this.inFlight.size,
    };
  }

  /** The TCP port (useful with port 0). */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null | undefined)?.port;
  }

  /** Not writable: disconnects every fridge now (they reconnect and are refused until it is, see `authenticate`). */
  writableChanged(writable: boolean): void {
    if (!writable) this.disconnectAll();
  }

  /** Disconnects every fridge now. */
  private disconnectAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(graceMs = 5_000): Promise<void> {
    this.accepting = false;
    const server = this.server;
    if (server !== undefined) server.close();
    await bounded(Promise.allSettled([...this.inFlight]), graceMs);
    const broker = this.broker;
    if (broker !== undefined) await new Promise<void>((resolve) => broker.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    if (this.wss !== undefined) {
      for (const c of this.wss.clients) c.close(1001, 'gateway stopping');
      this.wss.close();
    }
    if (this.wsServer !== undefined) this.wsServer.close();
    if (server !== undefined) await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  }
}
