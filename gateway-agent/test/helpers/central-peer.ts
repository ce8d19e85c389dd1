/**
 * An in-test stand-in for central, speaking docs/sync-protocol.md with real websockets: bearer
 * token check before the upgrade (401), `hello`/`welcome` with the joining upgrade, sync-step1/2,
 * validation of every peer update with the shared validator (reject → close 4403), `durable-ack`
 * after applying, relay to the venue's other connections. Its own replica `central:test` writes
 * operator config (which gateway reconciles which fridge) and can take orders as a taker.
 * The real central (server/) replaces it in the cross-package tests.
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
  /** Accept connections but never answer the sync exchange (a hung central). */
  mute?: boolean;
  /**
   * Behave as a central released before the hello's optional `now`: a hello with a key outside
   * `replica`, `clientIds`, `version`, `joining` is refused with 4403 and zod's message, as that
   * central's strict schema did.
   */
  legacyHello?: boolean;
  /**
   * Welcome every hello, then close with 4403 and this reason on the first update carrying the
   * replica's structs (a central that refuses this gateway's data, e.g. its full-state diff).
   */
  refuseWrites?: string;
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
  /** Hellos received, in order. */
  readonly hellos: Array<{ replica?: string; joining?: boolean }>;
  /** `update` messages received from gateways (after the sync exchange). */
  updatesReceived(): number;
  /** While held, durable-acks are queued (a slow disk); releasing sends them. */
  holdAcks(hold: boolean): void;
  /** Sets `cfg/fridge/<id>` as central does. */
  setFridge(id: string, record: Omit<FridgeRecord, 'par' | 'maxTemperatureC'> & Partial<FridgeRecord>): void;
  /** Declares `central:test` an order taker (so reconcilers grant it rights). */
  becomeTaker(): void;
  /** Open sync connections. */
  connections(): number;
  /** Retires `replica` as central's registry does (declared dead) and closes its connections with 4410. */
  retire(replica: string): void;
  /** Sets or clears `refuseWrites` for the sessions that follow. */
  refuseWrites(reason: string | undefined): void;
  /** Drops every connection without a close frame (a network failure). */
  dropConnections(): void;
  close(): Promise<void>;
}

/** Starts the peer. */
export async function startCentralPeer(o: CentralPeerOptions): Promise<CentralPeer> {
  const doc = o.doc ?? centralDoc();
  let refuseWrites = o.refuseWrites;
  const conns = new Set<Conn>();
  const rejected: string[] = [];
  const hellos: Array<{ replica?: string; joining?: boolean }> = [];
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

  let updates = 0;
  let held: Array<() => void> | undefined;
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
    ws.on('close', () => conns.delete(c));
    ws.send(encodeSyncStep1(Y.encodeStateVector(doc.ydoc)));
    ws.on('message', (data: Buffer) => {
      if (o.mute === true) return;
      let msg;
      try {
        msg = decodeMessage(new Uint8Array(data));
      } catch {
        ws.close(CLOSE_CODES.UPDATE_REJECTED, 'malformed');
        return;
      }
      switch (msg.type) {
        case 'hello': {
          const extra = Object.keys(msg.hello).filter((k) => !['replica', 'clientIds', 'version', 'joining'].includes(k));
          if (o.legacyHello === true && extra.length > 0) {
            ws.close(CLOSE_CODES.UPDATE_REJECTED, `hello: Unrecognized key: ${JSON.stringify(extra[0])}`);
            return;
          }
          if (msg.hello.replica !== undefined && (doc.index.retirements.get(msg.hello.replica)?.size ?? 0) > 0) {
            ws.close(CLOSE_CODES.REPLICA_RETIRED, 'replica retired');
            return;
          }
          hellos.push({ ...(msg.hello.replica ? { replica: msg.hello.replica } : {}), ...(msg.hello.joining ? { joining: true } : {}) });
          c.helloCount++;
          if (msg.hello.replica !== undefined) {
            if (!msg.hello.replica.startsWith(`gw:${gatewayId}:`)) {
              ws.close(4403, 'replica not of this gateway');
              return;
            }
            c.replica = msg.hello.replica;
          }
          for (const id of msg.hello.clientIds) c.clients.add(id);
          ws.send(encodeWelcome({ venueId: o.venueId, instance: 'central:test', version: 'test' }));
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
          if (refuseWrites !== undefined && Y.decodeUpdate(msg.update).structs.length > 0) {
            rejected.push(refuseWrites);
            ws.close(CLOSE_CODES.UPDATE_REJECTED, refuseWrites);
            return;
          }
          const clients = new Set([...c.clients, ...doc.clientsOf(c.replica)]);
          const v = validateUpdate(doc, msg.update, { replica: c.replica, clients });
          if (!v.ok) {
            rejected.push(`${v.code}: ${v.reason}`);
            ws.close(CLOSE_CODES.UPDATE_REJECTED, v.code);
            return;
          }
          doc.applyUpdate(msg.update, { kind: 'upstream', peer: c.replica });
          if (msg.type === 'update') updates++;
          const ack = encodeDurableAck(Y.encodeStateVector(doc.ydoc));
          if (held !== undefined) held.push(() => ws.readyState === WebSocket.OPEN && ws.send(ack));
          else ws.send(ack);
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
    hellos,
    setFridge(id, record) {
      writeFridgeConfig(doc, id, record);
    },
    becomeTaker() {
      doc.transact(ORIGINS.test, (w) => declareTaker(w, true, Date.now()));
    },
    connections: () => conns.size,
    updatesReceived: () => updates,
    holdAcks(hold) {
      if (hold) held ??= [];
      else {
        const q = held ?? [];
        held = undefined;
        for (const send of q) send();
      }
    },
    retire(replica) {
      doc.transact(ORIGINS.test, (w) => retire(w, replica as ReplicaId, Date.now()));
      for (const c of conns) if (c.replica === replica) c.ws.close(CLOSE_CODES.REPLICA_RETIRED, 'replica retired');
    },
    refuseWrites(reason) {
      refuseWrites = reason;
    },
    dropConnections() {
      for (const c of conns) c.ws.terminate();
    },
    async close() {
      doc.ydoc.off('update', onUpdate);
      for (const c of conns) c.ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
