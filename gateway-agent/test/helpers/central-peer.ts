/**
 * The central stand-in of the gateway package's tests (a package test may not start the real
 * central: README "How it fits together", scripts/check-deps.ts). It speaks docs/sync-protocol.md with
 * real websockets, built from the shared codec and validator: bearer token check before the upgrade
 * (401), `hello`/`welcome` (with central's clock to a hello carrying one) and the joining upgrade,
 * sync-step1/2, validation of every peer update (reject → close 4403), `durable-ack` after
 * applying, relay to the venue's other connections, 4410 for a retired replica naming who retired
 * it, pings with central's two-missed-pongs rule. It passes the central side of the sync transport
 * contract (test/integration/helpers/sync-contract.ts), as the real central does. Its own replica
 * `central:test` writes operator config (which gateway reconciles which fridge) and can take orders
 * as a taker. Tests of the sync client itself run against the real central
 * (test/integration/sync-client.test.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import * as Y from 'yjs';
import {
  CLOSE_CODES,
  Hlc,
  configRecord,
  ORIGINS,
  VenueDoc,
  centralReplicaId,
  decodeMessage,
  declareTaker,
  encodeDurableAck,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeUpdate,
  encodeWelcome,
  isOrigin,
  mayRetire,
  retire,
  keys,
  validateUpdate,
  type FridgeRecord,
  type InstanceId,
  type ReplicaId,
} from '@fridgesync/shared';

interface Conn {
  ws: WebSocket;
  gatewayId: string;
  replica: ReplicaId | undefined;
  clients: Set<number>;
  helloCount: number;
}

/** Options of {@link startCentralPeer}. */
export interface CentralPeerOptions {
  venueId: string;
  /** token → gatewayId */
  tokens: Record<string, string>;
  /** Listen on this port (0: any). */
  port?: number;
  /** Central's durable state: pass the same document to a restarted peer (default: a new one). */
  doc?: VenueDoc;
  /**
   * Ping interval, ms (central's `sync.pingIntervalMs`, default 15 000): a connection that missed
   * two pongs is terminated, as central does.
   */
  pingIntervalMs?: number;
}

/** A document of the replica `central:test`. */
export function centralDoc(): VenueDoc {
  return new VenueDoc({ replica: centralReplicaId('test' as InstanceId) });
}

/** Meals every test venue offers (`cfg/meal/<id>`): what the fridges of the tests hold and the kiosk sells. */
export const TEST_MEALS = ['m1', 'm2', 'm3'] as const;

/**
 * Writes `cfg/fridge/<id>` into a central document, as central's operator API does, with what
 * central's seed writes beside a venue's fridges when the document lacks it: the venue's record
 * and the {@link TEST_MEALS} (the order taker sells only configured meals of a configured venue).
 */
export function writeFridgeConfig(doc: VenueDoc, id: string, record: Omit<FridgeRecord, 'par' | 'maxTemperatureC'> & Partial<FridgeRecord>): void {
  const hlc = new Hlc(doc.replica!);
  doc.transact(ORIGINS.test, (w) => {
    if (configRecord(doc, 'venue', record.venueId) === undefined) w.set(keys.config('venue', record.venueId), { h: hlc.tick(), v: { name: `Venue ${record.venueId}`, city: 'Berlin', timezone: 'Europe/Berlin' } });
    for (const m of TEST_MEALS) if (configRecord(doc, 'meal', m) === undefined) w.set(keys.config('meal', m), { h: hlc.tick(), v: { name: `Meal ${m}`, priceCents: 500, allergens: [] } });
    w.set(keys.config('fridge', id), { h: hlc.tick(), v: { par: {}, maxTemperatureC: 5, ...record } });
  });
}

/** A running in-test central. */
export interface CentralPeer {
  readonly url: string;
  readonly port: number;
  readonly doc: VenueDoc;
  /** Updates rejected by the validator, with reasons. */
  readonly rejected: string[];
  /** Sets `cfg/fridge/<id>` as central does. */
  setFridge(id: string, record: Omit<FridgeRecord, 'par' | 'maxTemperatureC'> & Partial<FridgeRecord>): void;
  /** Declares `central:test` an order taker (so reconcilers grant it rights). */
  becomeTaker(): void;
  /** Retires `replica` as central's registry does (declared dead) and closes its connections with 4410. */
  retire(replica: string): void;
  close(): Promise<void>;
}

/** Starts the peer. */
export async function startCentralPeer(o: CentralPeerOptions): Promise<CentralPeer> {
  const doc = o.doc ?? centralDoc();
  const conns = new Set<Conn>();
  const rejected: string[] = [];
  const http: Server = createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const gatewayId = token === undefined ? undefined : o.tokens[token];
    if (gatewayId === undefined || req.url !== `/sync/${o.venueId}`) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, gatewayId));
  });

  const broadcast = (update: Uint8Array, except?: Conn) => {
    for (const c of conns) if (c !== except && c.ws.readyState === WebSocket.OPEN) c.ws.send(encodeUpdate(update));
  };
  const onUpdate = (u: Uint8Array, origin: unknown) => {
    if (isOrigin(origin, 'test')) broadcast(u);
  };
  doc.ydoc.on('update', onUpdate);

  function serve(ws: WebSocket, gatewayId: string): void {
    const c: Conn = { ws, gatewayId, replica: undefined, clients: new Set(), helloCount: 0 };
    conns.add(c);
    let missedPongs = 0;
    ws.on('pong', () => (missedPongs = 0));
    const heartbeat = setInterval(() => {
      if (missedPongs >= 2) return ws.terminate();
      missedPongs++;
      ws.ping();
    }, o.pingIntervalMs ?? 15_000);
    heartbeat.unref();
    ws.on('close', () => {
      clearInterval(heartbeat);
      conns.delete(c);
    });
    ws.send(encodeSyncStep1(Y.encodeStateVector(doc.ydoc)));
    ws.on('message', (data: Buffer) => {
      let msg;
      try {
        msg = decodeMessage(new Uint8Array(data));
      } catch {
        ws.close(CLOSE_CODES.UPDATE_REJECTED, 'malformed');
        return;
      }
      switch (msg.type) {
        case 'hello': {
          const retirers = msg.hello.replica === undefined ? [] : [...(doc.index.retirements.get(msg.hello.replica)?.keys() ?? [])].filter((a) => mayRetire(a as ReplicaId, msg.hello.replica!));
          if (retirers.length > 0) {
            ws.close(CLOSE_CODES.REPLICA_RETIRED, `${msg.hello.replica} is retired by ${retirers.join(', ')}`);
            return;
          }
          c.helloCount++;
          if (msg.hello.replica !== undefined) {
            if (!msg.hello.replica.startsWith(`gw:${gatewayId}:`)) {
              ws.close(CLOSE_CODES.UPDATE_REJECTED, `replica ${msg.hello.replica} is not gateway ${gatewayId}`);
              return;
            }
            c.replica = msg.hello.replica;
          }
          for (const id of msg.hello.clientIds) c.clients.add(id);
          // Central's clock only to a hello that carried one (docs/sync-protocol.md "Compatibility").
          ws.send(encodeWelcome({ venueId: o.venueId, instance: 'central:test', version: 'test', ...(msg.hello.now !== undefined ? { now: Date.now() } : {}) }));
          break;
        }
        case 'sync-step1':
          ws.send(encodeSyncStep2(Y.encodeStateAsUpdate(doc.ydoc, msg.stateVector)));
          break;
        case 'sync-step2':
        case 'update': {
          if (c.replica === undefined) {
            const d = Y.decodeUpdate(msg.update);
            if (d.structs.length > 0) {
              rejected.push(`writes before hello with a replica (${msg.type}, hellos so far ${c.helloCount}, ${JSON.stringify(Y.decodeUpdate(msg.update).structs.map((s) => [s.id.client, s.id.clock, s.length]))})`);
              ws.close(CLOSE_CODES.UPDATE_REJECTED, 'read-only');
            }
            return;
          }
          const clients = new Set([...c.clients, ...doc.clientsOf(c.replica)]);
          const v = validateUpdate(doc, msg.update, { replica: c.replica, clients });
          if (!v.ok) {
            rejected.push(`${v.code}: ${v.reason}`);
            ws.close(CLOSE_CODES.UPDATE_REJECTED, `${v.code}: ${v.reason}`.slice(0, 120));
            return;
          }
          doc.applyUpdate(msg.update, { kind: 'upstream', peer: c.replica });
          ws.send(encodeDurableAck(Y.encodeStateVector(doc.ydoc)));
          broadcast(msg.update, c);
          break;
        }
        default:
          break;
      }
    });
  }

  await new Promise<void>((resolve) => http.listen(o.port ?? 0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    doc,
    rejected,
    setFridge(id, record) {
      writeFridgeConfig(doc, id, record);
    },
    becomeTaker() {
      doc.transact(ORIGINS.test, (w) => declareTaker(w, true, Date.now()));
    },
    retire(replica) {
      doc.transact(ORIGINS.test, (w) => retire(w, replica as ReplicaId, Date.now()));
      for (const c of conns) if (c.replica === replica) c.ws.close(CLOSE_CODES.REPLICA_RETIRED, `${replica} is retired by central:test`);
    },
    async close() {
      doc.ydoc.off('update', onUpdate);
      for (const c of conns) c.ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
