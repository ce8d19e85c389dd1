/**
 * A loopback TCP relay that a test puts between two processes (gateway ↔ central, fridge ↔ broker)
 * and degrades on purpose, since `tc netem` and iptables are not available on the machines the
 * tests run on (docs/reliability.md "Harness"). It works on the byte stream, so it serves websocket
 * and MQTT alike, and it never corrupts a stream: what it holds back it either delivers later, in
 * order, or the connection ends.
 *
 * Link states:
 * - `up`: bytes are relayed, after the shaping (latency, jitter, bandwidth cap) if any.
 * - `down` ({@link FaultProxy.cut}): every relayed connection is reset, new ones are refused.
 * - `blackhole`: connections stay open and new ones are accepted, but nothing is forwarded; what
 *   was sent meanwhile is delivered on {@link FaultProxy.heal} (a route that drops packets while
 *   TCP retransmits).
 * - half-open ({@link FaultProxy.halfOpen}): the connections open at that moment go silent for
 *   good in both directions, as after a NAT mapping was dropped or the peer's host lost power,
 *   while new connections pass (the link itself works). Neither end is told: each must notice by
 *   itself (pings, timeouts). When one end closes, the other stays silent.
 *
 * Every random draw (jitter, flapping periods) comes from the seed, so a schedule replays.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { Prng } from '@fridgesync/simulators';

/** Degradation of a working link. */
export interface Shaping {
  /** Added one-way delay, ms. Default 0. */
  latencyMs?: number;
  /** Uniform extra delay in [0, jitterMs], ms, drawn per chunk; order is kept. Default 0. */
  jitterMs?: number;
  /** Bandwidth cap per direction and connection, bytes per second. Default unlimited. */
  bytesPerSecond?: number;
}

/** A flapping schedule: `cycles` times down for a drawn time, then up for a drawn time. */
export interface FlapSchedule {
  cycles: number;
  /** Down time per cycle, drawn uniformly from [min, max], ms. */
  downMs: [number, number];
  /** Up time per cycle, drawn uniformly from [min, max], ms. */
  upMs: [number, number];
  /** How the link goes down; `mixed` draws cut or blackhole per cycle. Default `cut`. */
  how?: 'cut' | 'blackhole' | 'mixed';
}

type State = 'up' | 'down' | 'blackhole';

/** One relayed connection: both sockets and the bytes held for each direction. */
interface Pair {
  client: Socket;
  upstream: Socket;
  /** Silent for good (half-open): nothing is forwarded, a close is not passed on. */
  dead: boolean;
  held: { toUpstream: Buffer[]; toClient: Buffer[] };
  /** Per direction: when the last scheduled chunk is delivered (keeps order under jitter). */
  busyUntil: { toUpstream: number; toClient: number };
}

/** A seeded fault relay to `127.0.0.1:<targetPort()>`. */
export class FaultProxy {
  private readonly pairs = new Set<Pair>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private server: Server | undefined;
  private state: State = 'up';
  private shaping: Required<Shaping> = { latencyMs: 0, jitterMs: 0, bytesPerSecond: 0 };
  private readonly prng: Prng;
  /** The port to point the client at (after {@link start}). */
  port = 0;
  /** Connections accepted and relayed so far. */
  accepted = 0;

  /** `targetPort` is read per connection, so the target may restart on another port. */
  constructor(
    private readonly targetPort: () => number,
    seed: number | string = 1,
  ) {
    this.prng = new Prng(`fault-proxy:${seed}`);
  }

  async start(port = 0): Promise<void> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  private accept(client: Socket): void {
    if (this.state === 'down') {
      client.destroy();
      return;
    }
    this.accepted++;
    const upstream = connect(this.targetPort(), '127.0.0.1');
    const pair: Pair = { client, upstream, dead: false, held: { toUpstream: [], toClient: [] }, busyUntil: { toUpstream: 0, toClient: 0 } };
    this.pairs.add(pair);
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      s.on('error', () => undefined);
    }
    client.on('data', (b: Buffer) => this.forward(pair, 'toUpstream', b));
    upstream.on('data', (b: Buffer) => this.forward(pair, 'toClient', b));
    const end = () => {
      // A half-open connection hides the close from the other end.
      if (pair.dead) return;
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
  }

  private forward(pair: Pair, dir: 'toUpstream' | 'toClient', chunk: Buffer): void {
    if (pair.dead) return;
    if (this.state === 'blackhole') {
      pair.held[dir].push(chunk);
      return;
    }
    this.deliver(pair, dir, chunk);
  }

  private deliver(pair: Pair, dir: 'toUpstream' | 'toClient', chunk: Buffer): void {
    const to = dir === 'toUpstream' ? pair.upstream : pair.client;
    const { latencyMs, jitterMs, bytesPerSecond } = this.shaping;
    if (latencyMs === 0 && jitterMs === 0 && bytesPerSecond === 0 && pair.busyUntil[dir] <= Date.now()) {
      to.write(chunk);
      return;
    }
    const now = Date.now();
    const sendTime = bytesPerSecond > 0 ? (chunk.length * 1000) / bytesPerSecond : 0;
    // Serialisation starts when the previous chunk of this direction is through (the cap), and a
    // chunk never overtakes the previous one (TCP keeps order whatever the jitter).
    const at = Math.max(now + latencyMs + this.prng.next() * jitterMs, pair.busyUntil[dir]) + sendTime;
    pair.busyUntil[dir] = at;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!pair.dead && !to.destroyed) to.write(chunk);
    }, at - now);
    this.timers.add(timer);
  }

  /** Degrades the working link (applies to bytes relayed from now on). */
  shape(s: Shaping): void {
    this.shaping = { latencyMs: s.latencyMs ?? 0, jitterMs: s.jitterMs ?? 0, bytesPerSecond: s.bytesPerSecond ?? 0 };
  }

  /** The link goes down: open connections are reset, new ones refused until {@link heal}. */
  cut(): void {
    this.state = 'down';
    this.reset();
  }

  /** Resets every open connection now; the link stays as it is. */
  reset(): void {
    for (const p of this.pairs) {
      p.dead = false;
      p.client.resetAndDestroy();
      p.upstream.resetAndDestroy();
    }
    this.pairs.clear();
  }

  /** Nothing is forwarded, no socket is closed; held bytes are delivered on {@link heal}. */
  blackhole(): void {
    this.state = 'blackhole';
  }

  /** The connections open now go silent for good in both directions; new ones pass. */
  halfOpen(): void {
    for (const p of this.pairs) {
      p.dead = true;
      this.zombies.push(p);
    }
    this.pairs.clear();
  }
  private readonly zombies: Pair[] = [];

  /** The link comes back: new connections pass, blackholed bytes are delivered in order. */
  heal(): void {
    this.state = 'up';
    for (const p of this.pairs) {
      for (const dir of ['toUpstream', 'toClient'] as const) {
        const held = p.held[dir].splice(0);
        for (const chunk of held) this.deliver(p, dir, chunk);
      }
    }
  }

  /**
   * Flaps the link on the seeded schedule; resolves once the last cycle has healed, with the time
   * of that last heal (`Date.now()`).
   */
  async flap(s: FlapSchedule): Promise<number> {
    const draw = ([min, max]: [number, number]) => min + this.prng.next() * (max - min);
    let lastHeal = Date.now();
    for (let i = 0; i < s.cycles; i++) {
      const how = s.how === 'mixed' ? (this.prng.chance(0.5) ? 'cut' : 'blackhole') : (s.how ?? 'cut');
      if (how === 'blackhole') this.blackhole();
      else this.cut();
      await new Promise((r) => setTimeout(r, draw(s.downMs)));
      this.heal();
      lastHeal = Date.now();
      if (i < s.cycles - 1) await new Promise((r) => setTimeout(r, draw(s.upMs)));
    }
    return lastHeal;
  }

  /** Relayed connections open now (half-open ones not counted). */
  get open(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.cut();
    for (const p of this.zombies) {
      p.client.destroy();
      p.upstream.destroy();
    }
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }
}
