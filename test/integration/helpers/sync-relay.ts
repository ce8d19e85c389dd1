/**
 * A websocket relay between a gateway and the real central that records every sync frame, decoded
 * with the shared codec (docs/sync-protocol.md "Wire format"), and can inject the faults a gateway
 * must survive: a dropped link, a central that never answers, a slow disk (durable-acks held back),
 * a central that refuses the gateway's writes, a central released before the hello's `now`.
 * Central itself is always the real one: the relay only forwards, withholds or closes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as Y from 'yjs';
import WebSocket, { WebSocketServer } from 'ws';
import { CLOSE_CODES, GATEWAY_ID_HEADER, decodeMessage, type Hello, type SyncMessage } from '@fridgesync/shared';

/** One recorded frame: `up` from the gateway to central, `down` from central to the gateway. */
export interface Frame {
  conn: number;
  dir: 'up' | 'down';
  msg: SyncMessage | { type: 'undecodable' };
}

/** How a relayed connection ended: `by` the side that closed it (or the relay, for injected faults). */
export interface Closed {
  conn: number;
  by: 'central' | 'gateway' | 'relay';
  code: number;
  reason: string;
}

/** Keys of the hello a central released before the optional `now` accepted (its strict schema). */
const LEGACY_HELLO_KEYS = new Set(['replica', 'clientIds', 'version', 'joining']);

interface Pair {
  conn: number;
  down: WebSocket;
  up: WebSocket;
}

/** Close codes a peer may send in a close frame (1005/1006 only describe what happened). */
const sendable = (code: number) => code === 1000 || (code >= 1001 && code <= 1014 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);

/** The relay. */
export class SyncRelay {
  readonly frames: Frame[] = [];
  readonly closes: Closed[] = [];
  /** Drop every frame from central (a central that accepts connections and never answers). */
  mute = false;
  /** Close with 4403 and this reason on the first gateway frame carrying structures. */
  refuseWrites: string | undefined;
  /** Refuse a hello with keys beyond the old schema as a central released before `now` did. */
  legacyHello = false;
  private held: Array<() => void> | undefined;
  private down = false;
  private readonly pairs = new Set<Pair>();
  private nextConn = 0;
  private server: Server | undefined;
  private readonly wss = new WebSocketServer({ noServer: true });
  port = 0;

  /** @param target central's base URL (`ws://127.0.0.1:<port>`), read at each connection. */
  constructor(private readonly target: () => string) {}

  /** `ws://127.0.0.1:<port>` of the relay. */
  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((_req, res) => res.writeHead(404).end());
    this.server.on('upgrade', (req, socket, head) => {
      if (this.down) return socket.destroy();
      const conn = ++this.nextConn;
      const headers: Record<string, string> = {};
      for (const h of ['authorization', GATEWAY_ID_HEADER]) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h];
      const up = new WebSocket(`${this.target()}${req.url ?? ''}`, { headers });
      up.binaryType = 'nodebuffer';
      const early: Buffer[] = [];
      up.on('message', (data: Buffer) => early.push(data));
      up.on('error', () => socket.destroy());
      up.once('unexpected-response', (_r, res) => {
        // Central refused the upgrade: hand its status and body to the gateway unchanged.
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          socket.end(`HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\ncontent-type: ${res.headers['content-type'] ?? 'text/plain'}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
        });
      });
      up.once('open', () => {
        this.wss.handleUpgrade(req, socket, head, (down) => {
          const pair: Pair = { conn, down, up };
          this.pairs.add(pair);
          up.removeAllListeners('message');
          up.on('message', (data: Buffer) => this.fromCentral(pair, data));
          for (const d of early.splice(0)) this.fromCentral(pair, d);
          down.on('message', (data: Buffer) => this.fromGateway(pair, data));
          down.on('error', () => undefined);
          up.on('close', (code, reason) => this.ended(pair, 'central', code, reason.toString()));
          down.on('close', (code, reason) => this.ended(pair, 'gateway', code, reason.toString()));
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  /** Frames of the given type, in order (optionally of one direction or connection). */
  of<T extends Frame['msg']['type']>(type: T, where: { dir?: Frame['dir']; conn?: number } = {}): Array<Extract<Frame['msg'], { type: T }> & { conn: number }> {
    return this.frames
      .filter((f) => f.msg.type === type && (where.dir === undefined || f.dir === where.dir) && (where.conn === undefined || f.conn === where.conn))
      .map((f) => ({ ...(f.msg as Extract<Frame['msg'], { type: T }>), conn: f.conn }));
  }

  /** The hellos gateways sent, in order. */
  hellos(): Hello[] {
    return this.of('hello', { dir: 'up' }).map((f) => f.hello);
  }

  /** Open relayed connections. */
  connections(): number {
    return this.pairs.size;
  }

  /** While held, durable-acks from central wait in the relay (a slow disk); releasing sends them. */
  holdAcks(hold: boolean): void {
    if (hold) this.held ??= [];
    else {
      const q = this.held ?? [];
      this.held = undefined;
      for (const send of q) send();
    }
  }

  /** Pings every gateway connection; resolves true when each answered with a pong within `ms`. */
  async pingGateways(ms = 2_000): Promise<boolean> {
    const answers = [...this.pairs].map(
      ({ down }) =>
        new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(false), ms);
          down.once('pong', () => {
            clearTimeout(t);
            resolve(true);
          });
          down.ping();
        }),
    );
    return answers.length > 0 && (await Promise.all(answers)).every(Boolean);
  }

  /** Drops every connection without a close frame (a network failure); the link stays up. */
  drop(): void {
    for (const p of this.pairs) {
      p.down.terminate();
      p.up.terminate();
    }
  }

  /** The link goes down: connections dropped, new ones refused until {@link heal}. */
  cut(): void {
    this.down = true;
    this.drop();
  }

  heal(): void {
    this.down = false;
  }

  async close(): Promise<void> {
    this.cut();
    this.wss.close();
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }

  private record(conn: number, dir: Frame['dir'], data: Buffer): Frame['msg'] {
    let msg: Frame['msg'];
    try {
      msg = decodeMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch {
      msg = { type: 'undecodable' };
    }
    this.frames.push({ conn, dir, msg });
    return msg;
  }

  private fromCentral(p: Pair, data: Buffer): void {
    const msg = this.record(p.conn, 'down', data);
    if (this.mute) return;
    const send = () => p.down.readyState === WebSocket.OPEN && p.down.send(data);
    if (msg.type === 'durable-ack' && this.held !== undefined) this.held.push(send);
    else send();
  }

  private fromGateway(p: Pair, data: Buffer): void {
    const msg = this.record(p.conn, 'up', data);
    if (this.mute) return;
    if (msg.type === 'hello' && this.legacyHello) {
      const extra = Object.keys(msg.hello).find((k) => !LEGACY_HELLO_KEYS.has(k));
      if (extra !== undefined) return this.refuse(p, `hello: Unrecognized key: ${JSON.stringify(extra)}`);
    }
    if (this.refuseWrites !== undefined && (msg.type === 'sync-step2' || msg.type === 'update') && Y.decodeUpdate(msg.update).structs.length > 0) return this.refuse(p, this.refuseWrites);
    if (p.up.readyState === WebSocket.OPEN) p.up.send(data);
  }

  /** Closes the gateway's side with 4403 as central would, and ends the upstream connection. */
  private refuse(p: Pair, reason: string): void {
    this.closes.push({ conn: p.conn, by: 'relay', code: CLOSE_CODES.UPDATE_REJECTED, reason });
    this.pairs.delete(p);
    p.down.close(CLOSE_CODES.UPDATE_REJECTED, reason);
    p.up.close(CLOSE_CODES.NORMAL, 'relay refused the gateway');
  }

  private ended(p: Pair, by: 'central' | 'gateway', code: number, reason: string): void {
    if (!this.pairs.delete(p)) return;
    this.closes.push({ conn: p.conn, by, code, reason });
    const other = by === 'central' ? p.down : p.up;
    if (sendable(code)) other.close(code, reason);
    else other.terminate();
  }
}
