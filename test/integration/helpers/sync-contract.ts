/**
 * The sync transport contract (docs/sync-protocol.md): what each side of a sync connection does on
 * the wire, as two suites every implementation of that side runs.
 *
 * - {@link centralContract}: central's side, driven by a {@link Probe} (a raw websocket speaking the
 *   shared codec). Run by the real central (server `SyncSession` behind `buildApp`).
 * - {@link gatewayContract}: a gateway's side, connected to the real central through a
 *   {@link SyncRelay} that records every frame. Run by the real gateway (`createAgent`, its
 *   `SyncClient`) and by the server package's test client (`server/test/helpers/gateway-client.ts`),
 *   which the server tests use where they must also send what a real gateway never sends.
 *
 * A client that passes the gateway side speaks the protocol as the real gateway does, so the server
 * tests built on it test against the protocol, not against a private dialect.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import WebSocket from 'ws';
import {
  CLOSE_CODES,
  GATEWAY_ID_HEADER,
  ORIGINS,
  VenueDoc,
  decodeMessage,
  encodeHello,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeUpdate,
  gatewayReplicaId,
  nextEpoch,
  fridgeStatus,
  recordStatus,
  retire,
  type FridgeId,
  type GatewayId,
  type Hello,
  type ReplicaId,
  type SyncMessage,
} from '@fridgesync/shared';
import { waitFor } from '@fridgesync/shared/test-harness';
import { SyncRelay } from './sync-relay.ts';

/** A raw sync connection for driving central: sends encoded frames, records decoded ones. */
export class Probe {
  readonly received: SyncMessage[] = [];
  pings = 0;
  closed: { code: number; reason: string } | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => this.received.push(decodeMessage(new Uint8Array(data))));
    ws.on('ping', () => this.pings++);
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    ws.on('error', () => undefined);
  }

  /** Opens `/sync/{venue}` with a bearer token; rejects with `HTTP <status>` when refused before the upgrade. */
  static open(url: string, venue: string, token: string, o: { gatewayId?: string; autoPong?: boolean } = {}): Promise<Probe> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (o.gatewayId !== undefined) headers[GATEWAY_ID_HEADER] = o.gatewayId;
    const ws = new WebSocket(`${url}/sync/${venue}`, { headers, autoPong: o.autoPong ?? true });
    ws.binaryType = 'nodebuffer';
    const probe = new Probe(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(probe));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(frame: Uint8Array): void {
    this.ws.send(frame);
  }

  hello(h: Partial<Hello> = {}): void {
    this.send(encodeHello({ clientIds: [], version: 'contract', ...h } as Hello));
  }

  /** The `n`th received message of `type` (0 first), once it arrived. */
  async nth<T extends SyncMessage['type']>(type: T, n = 0, ms = 5_000): Promise<Extract<SyncMessage, { type: T }>> {
    let found: SyncMessage | undefined;
    await waitFor(() => (found = this.received.filter((m) => m.type === type)[n]) !== undefined, ms, `${type} #${n}`);
    return found as Extract<SyncMessage, { type: T }>;
  }

  /** Resolves with the close once the connection closed. */
  async whenClosed(ms = 5_000): Promise<{ code: number; reason: string }> {
    await waitFor(() => this.closed !== undefined, ms, 'the close');
    return this.closed!;
  }

  /** Joins read-only and returns central's full state as a document. */
  async join(): Promise<VenueDoc> {
    this.hello({ joining: true });
    this.send(encodeSyncStep1(Y.encodeStateVector(new Y.Doc())));
    await this.nth('welcome');
    const doc = new VenueDoc();
    doc.applyUpdate((await this.nth('sync-step2')).update, ORIGINS.upstream);
    return doc;
  }

  close(): void {
    this.ws.terminate();
  }
}

/** A central under test. */
export interface CentralSubject {
  /** `ws://127.0.0.1:<port>` */
  url: string;
  venueId: string;
  /** A gateway token of the venue and the gateway id it is bound to. */
  token: string;
  gatewayId: string;
  close(): Promise<void>;
}

/** Starts a central; `pingIntervalMs` is its heartbeat interval (docs/sync-protocol.md "Epoch allocation"). */
export type StartCentral = (o: { pingIntervalMs: number }) => Promise<CentralSubject>;

const F = 'contract-f1' as FridgeId;

/** Central's side of the contract. */
export function centralContract(name: string, start: StartCentral): void {
  describe(`sync contract, central side: ${name}`, () => {
    const open: Array<{ close(): unknown }> = [];
    afterEach(async () => {
      for (const c of open.splice(0).reverse()) await c.close();
    });
    const central = async (pingIntervalMs = 60_000) => {
      const c = await start({ pingIntervalMs });
      open.push(c);
      return c;
    };
    const probe = async (c: CentralSubject, o: { autoPong?: boolean; token?: string } = {}) => {
      const p = await Probe.open(c.url, c.venueId, o.token ?? c.token, { gatewayId: c.gatewayId, ...(o.autoPong !== undefined ? { autoPong: o.autoPong } : {}) });
      open.push(p);
      return p;
    };
    /** Joins, then says hello for the gateway's next epoch with a writer document holding central's state. */
    const admit = async (c: CentralSubject) => {
      const p = await probe(c);
      const state = await p.join();
      const replica = gatewayReplicaId(c.gatewayId as GatewayId, nextEpoch(state, c.gatewayId as GatewayId));
      const writer = new VenueDoc({ replica });
      writer.applyUpdate(Y.encodeStateAsUpdate(state.ydoc), ORIGINS.upstream);
      p.hello({ replica, clientIds: [writer.ydoc.clientID] });
      await p.nth('welcome', 1);
      return { p, writer, replica };
    };
    /** Writes in `doc` and returns the transaction's update. */
    const write = (doc: VenueDoc, fn: Parameters<VenueDoc['transact']>[1]) => {
      const before = Y.encodeStateVector(doc.ydoc);
      doc.transact(ORIGINS.mqtt, fn);
      return Y.encodeStateAsUpdate(doc.ydoc, before);
    };

    it('refuses an unknown token before the upgrade', async () => {
      const c = await central();
      await expect(Probe.open(c.url, c.venueId, 'not-a-token')).rejects.toThrow('HTTP 401');
    });

    it('opens with sync-step1, welcomes a joining hello and answers sync-step1 with all it holds', async () => {
      const c = await central();
      const p = await probe(c);
      const doc = await p.join();
      expect(p.received[0]?.type).toBe('sync-step1');
      const welcome = (await p.nth('welcome')).welcome;
      expect(welcome).toMatchObject({ venueId: c.venueId, instance: expect.any(String), version: expect.any(String) });
      expect(welcome.now).toBeUndefined(); // only to a hello that carried `now`
      const step1 = await p.nth('sync-step1');
      expect(Y.decodeStateVector(Y.encodeStateVector(doc.ydoc))).toEqual(Y.decodeStateVector(step1.stateVector));
    });

    it('answers a hello carrying its clock with a welcome carrying central’s', async () => {
      const c = await central();
      const p = await probe(c);
      const before = Date.now();
      p.hello({ joining: true, now: before });
      const welcome = (await p.nth('welcome')).welcome;
      expect(welcome.now).toBeGreaterThanOrEqual(before - 1_000);
      expect(welcome.now).toBeLessThanOrEqual(Date.now() + 1_000);
    });

    it('admits the next epoch after a join, acknowledges an update as durable and relays it to the other connections', async () => {
      const c = await central();
      const observer = await probe(c);
      const seen = await observer.join();
      const { p, writer } = await admit(c);
      p.send(encodeUpdate(write(writer, (w) => recordStatus(w, F, { on: true, ts: 1_000 }))));
      const mine = Y.getState(writer.ydoc.store, writer.ydoc.clientID);
      await waitFor(() => p.received.some((m) => m.type === 'durable-ack' && (Y.decodeStateVector(m.stateVector).get(writer.ydoc.clientID) ?? 0) >= mine), 5_000, 'a durable-ack covering the update');
      await waitFor(
        () => {
          for (const m of observer.received.splice(0)) if (m.type === 'update') seen.applyUpdate(m.update, ORIGINS.upstream);
          return fridgeStatus(seen, F)?.on === true;
        },
        5_000,
        'the update at the other connection',
      );
      expect(p.closed).toBeUndefined();
    });

    it('refuses an update carrying another writer’s structures with 4403 and applies none of it', async () => {
      const c = await central();
      const { p, writer } = await admit(c);
      const forger = new VenueDoc({ replica: writer.replica! }); // same replica, a client id never announced
      forger.applyUpdate(Y.encodeStateAsUpdate(writer.ydoc), ORIGINS.upstream);
      p.send(encodeUpdate(write(forger, (w) => recordStatus(w, F, { on: true, ts: 2_000 }))));
      const closed = await p.whenClosed();
      expect(closed.code).toBe(CLOSE_CODES.UPDATE_REJECTED);
      // `<validator code>: <detail>`: the gateway decides by the code whether to rebuild its store.
      expect(closed.reason).toMatch(/^[A-Z_]+: ./);
      const after = await (await probe(c)).join();
      expect(fridgeStatus(after, F)).toBeUndefined();
      expect(Y.getState(after.ydoc.store, forger.ydoc.clientID)).toBe(0);
    });

    it('lets a peer that joined read-only send an empty update, and refuses one that writes with 4403', async () => {
      const c = await central();
      const p = await probe(c);
      const state = await p.join();
      p.send(encodeSyncStep2(Y.encodeStateAsUpdate(new Y.Doc())));
      p.send(encodeUpdate(Y.encodeStateAsUpdate(new Y.Doc())));
      // Frames are handled in order: a second exchange answered shows the empty updates were taken.
      p.send(encodeSyncStep1(Y.encodeStateVector(state.ydoc)));
      await p.nth('sync-step2', 1);
      expect(p.closed).toBeUndefined();
      const writer = new VenueDoc({ replica: gatewayReplicaId(c.gatewayId as GatewayId, nextEpoch(state, c.gatewayId as GatewayId)) });
      p.send(encodeUpdate(write(writer, (w) => recordStatus(w, F, { on: true, ts: 3_000 }))));
      expect((await p.whenClosed()).code).toBe(CLOSE_CODES.UPDATE_REJECTED);
      const after = await (await probe(c)).join();
      expect(Y.getState(after.ydoc.store, writer.ydoc.clientID)).toBe(0);
    });

    it('closes a frame outside the grammar with 4403', async () => {
      const c = await central();
      const p = await probe(c);
      p.hello({ joining: true });
      await p.nth('welcome');
      p.send(Uint8Array.from([0x64, 0x07, 0x00]));
      expect((await p.whenClosed()).code).toBe(CLOSE_CODES.UPDATE_REJECTED);
    });

    it('refuses the hello of a retired replica with 4410, naming who retired it', async () => {
      const c = await central();
      const { p, writer, replica } = await admit(c);
      p.send(encodeUpdate(write(writer, (w) => retire(w, replica as ReplicaId, Date.now()))));
      await p.nth('durable-ack');
      p.close();
      const again = await probe(c);
      again.hello({ replica, clientIds: [] });
      const closed = await again.whenClosed();
      expect(closed.code).toBe(CLOSE_CODES.REPLICA_RETIRED);
      expect(closed.reason).toBe(`${replica} is retired by ${replica}`);
    });

    it('refuses a hello for a replica another live connection speaks for with 4409, and keeps the first', async () => {
      const c = await central();
      const { p, writer, replica } = await admit(c);
      const clone = await probe(c);
      clone.hello({ replica, clientIds: [] });
      const closed = await clone.whenClosed();
      expect(closed.code).toBe(CLOSE_CODES.DUPLICATE_REPLICA);
      expect(closed.reason).toContain(replica);
      // The first connection still speaks for the replica: its next write is acknowledged.
      p.send(encodeUpdate(write(writer, (w) => recordStatus(w, F, { on: true, ts: 4_000 }))));
      await p.nth('durable-ack');
      expect(p.closed).toBeUndefined();
    });

    it('refuses a join’s upgrade to a later epoch with 4412 while an earlier replica of the gateway is connected, allocating nothing', async () => {
      const c = await central();
      const { p, replica } = await admit(c);
      const second = await probe(c);
      const state = await second.join();
      const later = gatewayReplicaId(c.gatewayId as GatewayId, nextEpoch(state, c.gatewayId as GatewayId));
      expect(later).not.toBe(replica);
      second.hello({ replica: later, clientIds: [new Y.Doc().clientID] });
      const closed = await second.whenClosed();
      expect(closed.code).toBe(CLOSE_CODES.GATEWAY_CONNECTED);
      expect(closed.reason).toContain(replica);
      expect(p.closed).toBeUndefined();
      // The refused epoch was not allocated: the next join is offered the same one.
      const after = await (await probe(c)).join();
      expect(gatewayReplicaId(c.gatewayId as GatewayId, nextEpoch(after, c.gatewayId as GatewayId))).toBe(later);
    });

    it('pings every connection and drops one that stops answering', async () => {
      const c = await central(100);
      const alive = await probe(c);
      alive.hello({ joining: true });
      const dead = await probe(c, { autoPong: false });
      dead.hello({ joining: true });
      await waitFor(() => dead.closed !== undefined, 3_000, 'the silent connection dropped');
      expect(dead.pings).toBeGreaterThanOrEqual(2);
      expect(alive.pings).toBeGreaterThanOrEqual(2);
      expect(alive.closed).toBeUndefined();
    });
  });
}

/** A gateway under test, connected to central at the URL it was started with. */
export interface GatewaySubject {
  /** Writes one local transaction that must reach central. */
  write(): Promise<void>;
  /** True when central acknowledged every local write as durable. */
  durable(): boolean;
  close(): Promise<void>;
}

/** Starts a gateway with a new store, syncing with central at `url` (venue `v1`, gateway `g1`, `token`). */
export type StartGateway = (o: { url: string; token: string; venueId: string; gatewayId: string }) => Promise<GatewaySubject>;

/** What the gateway contract needs of the real central. */
export interface ContractCentral {
  wsUrl: string;
  venueId: string;
  token: string;
  gatewayId: string;
  close(): Promise<void>;
}

/** A gateway's side of the contract, against the real central behind a recording relay. */
export function gatewayContract(name: string, startCentral: () => Promise<ContractCentral>, start: StartGateway): void {
  describe(`sync contract, gateway side: ${name}`, () => {
    const open: Array<{ close(): unknown }> = [];
    afterEach(async () => {
      for (const c of open.splice(0).reverse()) await c.close();
    });
    const session = async () => {
      const central = await startCentral();
      open.push(central);
      const relay = new SyncRelay(() => central.wsUrl);
      await relay.start();
      open.push(relay);
      const gateway = await start({ url: relay.url, token: central.token, venueId: central.venueId, gatewayId: central.gatewayId });
      open.push(gateway);
      // Synced: the upgrade hello naming the replica was welcomed and the own diff acknowledged.
      await waitFor(() => relay.hellos().some((h) => h.replica !== undefined) && relay.of('durable-ack').length > 0 && gateway.durable(), 5_000, 'the first full sync');
      return { central, relay, gateway };
    };

    it('says hello first, joining without a replica when its store is new, then sync-step1', async () => {
      const { relay } = await session();
      const up = relay.frames.filter((f) => f.dir === 'up' && f.conn === 1).map((f) => f.msg);
      expect(up[0]).toMatchObject({ type: 'hello', hello: { joining: true } });
      expect((up[0] as { hello: Hello }).hello.replica).toBeUndefined();
      expect(up[1]?.type).toBe('sync-step1');
    });

    it('upgrades on the same connection to exactly the next epoch, after central’s full state', async () => {
      const { relay, central } = await session();
      const frames = relay.frames.filter((f) => f.conn === 1);
      const upgrade = frames.findIndex((f) => f.dir === 'up' && f.msg.type === 'hello' && f.msg.hello.replica !== undefined);
      const fullState = frames.findIndex((f) => f.dir === 'down' && f.msg.type === 'sync-step2');
      expect(fullState).toBeGreaterThanOrEqual(0);
      expect(upgrade).toBeGreaterThan(fullState);
      expect(relay.hellos().map((h) => h.replica)).toEqual([undefined, `gw:${central.gatewayId}:1`]);
    });

    it('sends structures only after the hello naming its replica, and only its own', async () => {
      const { relay, gateway } = await session();
      await gateway.write();
      await waitFor(() => gateway.durable(), 5_000, 'the write durable at central');
      const announced = new Set<number>();
      let named = false;
      let carried = 0;
      for (const f of relay.frames.filter((x) => x.dir === 'up')) {
        if (f.msg.type === 'hello') {
          if (f.msg.hello.replica !== undefined) named = true;
          for (const id of f.msg.hello.clientIds) if (f.msg.hello.replica !== undefined) announced.add(id);
        }
        if (f.msg.type !== 'sync-step2' && f.msg.type !== 'update') continue;
        const structs = Y.decodeUpdate(f.msg.update).structs;
        if (structs.length === 0) continue;
        carried++;
        expect(named).toBe(true);
        for (const s of structs) expect(announced.has(s.id.client)).toBe(true);
      }
      // At least the write (the own diff carries structures only when the store wrote before it).
      expect(carried).toBeGreaterThanOrEqual(1);
      expect(relay.of('update', { dir: 'up' }).some((u) => Y.decodeUpdate(u.update).structs.length > 0)).toBe(true);
      expect(relay.frames.some((f) => f.msg.type === 'undecodable')).toBe(false);
    });

    it('answers pings', async () => {
      const { relay } = await session();
      expect(await relay.pingGateways()).toBe(true);
    });
  });
}
