/**
 * Random venue histories for the convergence property (shared/test/README.md): a fridge with two meals, two
 * central order takers (`central:c1`, `central:c2`), the reconciler gateway `gw:g1:1` (later
 * `gw:g1:2`) and an HA standby gateway `gw:g2:1` that hears the same fridge. A history is a short
 * list of steps (fridge messages, orders, rights traffic, network faults, an epoch change);
 * {@link runHistory} plays it on a {@link SimNetwork} and checks the invariants after every step
 * and at quiescence, throwing on the first violation.
 */
import * as Y from 'yjs';
import * as A from '@automerge/automerge';
import {
  DEFAULT_RIGHTS_POLICY,
  ORIGINS,
  RecallBackoff,
  answerRecalls,
  declareTaker,
  expireHolds,
  fridgeCells,
  foldOrder,
  fridgeView,
  maintainOrders,
  reconcileFridge,
  recordPickup,
  recordSnapshot,
  requestRights,
  reserve,
  retire,
  settle,
  writeMeta,
  keys,
  type CellView,
  type MealId,
  type ReplicaId,
  type VenueDoc,
} from '@fridgesync/shared';
import { C1, C2, F1, GW1, GW1B, GW2, M1, M2, configureFridge, iso, newDoc, oid, syncAll } from './fixtures.ts';
import type { History, Step, Taker } from './steps.ts';
import type { HistoryStats, MqttMsg, OrderModel } from './history-model.ts';
import { checkForgeries } from './forgeries.ts';
import { automergePending, automergeSellable, yjsPending, LINKS, SimNetwork, type AmDoc, type LinkName, type NodeName, type SimNode } from './sim-network.ts';

export const MEALS: readonly MealId[] = [M1, M2];
const START = 1_700_000_000_000;
/** Units per meal in the fridge when a history starts. */
const INITIAL = [8, 6] as const;
const HOLD_MS = [30_000, 120_000] as const;
const RETENTION_MS = 60_000;
/** Delivered messages replayed at each quiescence check (a sample: replaying all is slow). */
const REPLAYS = 8;
/** Every replica of a history reads one clock: each judges every taker's hold by it (orders.ts `HoldClock`). */
const SAME_CLOCK = (): number => 0;

// ---------------------------------------------------------------- base state, built once

interface Base {
  update: Uint8Array;
  am: Map<NodeName, Uint8Array>;
}
let base: Base | undefined;
const CLIENT: Record<string, number> = { c1: 1, c2: 2, g1: 11, g1b: 12, g2: 21 };
const ACTOR: Record<string, string> = { c1: 'c1c1', c2: 'c2c2', g1: '1111', g1b: '1212', g2: '2121' };

/** Central has configured the fridge (reconciler g1) and both central processes are takers. */
function baseState(): Base {
  if (base !== undefined) return base;
  const c1 = newDoc(C1, CLIENT.c1);
  const c2 = newDoc(C2, CLIENT.c2);
  configureFridge(c1, F1, 'g1', START - 1000);
  c1.transact(ORIGINS.lifecycle, (w) => declareTaker(w, true, START - 1000));
  c2.transact(ORIGINS.lifecycle, (w) => declareTaker(w, true, START - 1000));
  // The HA standby also runs a kiosk: it takes orders within rights granted to it.
  const g1 = newDoc(GW1, CLIENT.g1);
  const g2 = newDoc(GW2, CLIENT.g2);
  g2.transact(ORIGINS.lifecycle, (w) => declareTaker(w, true, START - 1000));
  syncAll(c1, c2, g1, g2);
  // The fridge was stocked and the reconciler granted the takers their shares.
  const items = Object.fromEntries(MEALS.map((m, k) => [m, INITIAL[k]!]));
  for (const g of [g1, g2]) g.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, F1, { boot: 1, seq: 0, ts: iso(START - 500), items: items as never }));
  const rep = reconcileFridge(g1, ORIGINS.reconciler, F1, DEFAULT_RIGHTS_POLICY, START - 500);
  if (rep === undefined || rep.incremented !== INITIAL[0]! + INITIAL[1]!) throw new Error('base state: reconciler did not stock the fridge');
  syncAll(c1, c2, g1, g2);
  // The Automerge mirror of the base: the reconciler's increments, written by a setup actor.
  let am0 = A.init<Record<string, A.Counter>>({ actor: 'baba' });
  am0 = A.change(am0, (d) => {
    for (const m of MEALS) {
      const v = g1.get(GW1, keys.counter(F1, m)) as [number, number];
      d[`${GW1}|${m}|inc`] = new A.Counter(v[0]);
      d[`${GW1}|${m}|dec`] = new A.Counter(v[1]);
    }
  });
  const saved = A.save(am0);
  const am = new Map<NodeName, Uint8Array>();
  for (const n of ['c1', 'c2', 'g1', 'g2'] as const) am.set(n, saved);
  base = { update: Y.encodeStateAsUpdate(c1.ydoc), am };
  return base;
}

// ---------------------------------------------------------------- the world outside the document


class Run {
  readonly net: SimNetwork;
  now = START;
  boot = 1;
  seq = 1;
  readonly physical: number[] = [...INITIAL];
  readonly mqtt: MqttMsg[] = [];
  readonly orders: OrderModel[] = [];
  /** Units confirmed by reservations, per node and meal. */
  readonly confirmed = new Map<string, number>();
  /** Sequential ledger of S over both meals: increments − decrements − reserved units. */
  ledger = INITIAL[0] + INITIAL[1];
  epochDone = false;
  /** Some replica pruned settled orders (their losing terminal entries may be gone). */
  maintained = false;
  /** Last checked state and fold of each node. */
  private readonly checked = new Map<NodeName, { state: string; view: ReturnType<typeof fridgeView> }>();
  readonly stats: HistoryStats = { steps: 0, reserved: 0, soldOut: 0, rightsAboveStock: 0, replayed: 0, conflicts: 0, contentConflicts: 0, recalls: 0, epochChanges: 0, validated: 0, deferred: 0 };

  /** Top-up pauses after recalls (in steps: one step is one millisecond), when the history has them. */
  private readonly backoff: RecallBackoff | undefined;

  constructor(readonly oracle: boolean, pauses = false) {
    this.backoff = pauses ? new RecallBackoff(4, 16) : undefined;
    const b = baseState();
    this.net = new SimNetwork(F1, MEALS, oracle);
    const am = (n: NodeName): AmDoc | undefined => (oracle ? A.load<Record<string, A.Counter>>(b.am.get(n)!, { actor: ACTOR[n]! }) : undefined);
    this.net.addNode('c1', C1, CLIENT.c1!, b.update, am('c1'));
    this.net.addNode('c2', C2, CLIENT.c2!, b.update, am('c2'));
    this.net.addNode('g1', GW1, CLIENT.g1!, b.update, am('g1'));
    this.net.addNode('g2', GW2, CLIENT.g2!, b.update, am('g2'));
  }

  doc(n: NodeName): VenueDoc {
    return this.net.node(n).doc;
  }

  fail(msg: string): never {
    throw new Error(msg);
  }

  // ------------------------------------------------------------ steps

  step(s: Step): void {
    this.now += 1;
    this.stats.steps++;
    switch (s.t) {
      case 'delivery':
        this.physical[s.meal]! += s.n;
        this.emitSnapshot();
        return;
      case 'walkin':
        this.physical[s.meal] = Math.max(0, this.physical[s.meal]! - s.n);
        return;
      case 'snapshot':
        this.emitSnapshot();
        return;
      case 'reboot':
        if (s.forget) this.seq = 0;
        else {
          this.boot++;
          this.seq = 0;
        }
        this.emitSnapshot();
        return;
      case 'mqtt':
        return this.mqttStep(s.op, s.i);
      case 'reserve':
        return this.reserve(s);
      case 'pickup':
        return this.pickup(s.i);
      case 'cancel': {
        const o = this.orders[s.i % Math.max(1, this.orders.length)];
        if (o === undefined) return;
        const r = settle(this.doc(s.at), ORIGINS.api, oid(o.id), 'cancelled', this.now);
        if (r.ok && r.changed) o.states.add('cancelled');
        if (!r.ok && r.code === 'ORDER_SETTLED' && r.order.state === 'reserved') this.fail('settle refused an order that is reserved');
        return;
      }
      case 'tick':
        this.now += s.ms;
        return;
      case 'request':
        this.doc(s.at).transact(ORIGINS.api, (w) => requestRights(w, F1, MEALS[s.meal]!, s.want));
        return;
      case 'reconcile':
        this.reconcile();
        return;
      case 'answer':
        answerRecalls(this.doc(s.at), ORIGINS.reconciler);
        return;
      case 'maintain': {
        const d = this.net.nodes.get(s.at)?.doc;
        if (d === undefined) return;
        // Any replica may expire holds on its own view (central's housekeeping does), then tidy up.
        for (const id of expireHolds(d, ORIGINS.api, { now: this.now, offsetOf: SAME_CLOCK })) this.orders.find((o) => o.id === id)?.states.add('expired');
        const self = this.net.node(s.at).replica;
        const had = this.orders.filter((o) => d.index.orders.get(o.id)?.has(self) === true);
        if (maintainOrders(d, ORIGINS.api, this.now, RETENTION_MS).pruned > 0) this.maintained = true;
        for (const o of had) if (d.index.orders.get(o.id)?.has(self) !== true) o.pruned = true;
        return;
      }
      case 'net':
        return this.netStep(s.op, s.i);
      case 'epoch':
        return this.epochChange(s.by);
    }
  }

  private emitSnapshot(): void {
    const items: Record<string, number> = {};
    MEALS.forEach((m, k) => {
      if (this.physical[k]! > 0) items[m] = this.physical[k]!;
    });
    const seq = this.seq++;
    for (const to of ['g1', 'g2'] as const) this.mqtt.push({ to, kind: 'inv', boot: this.boot, seq, ts: this.now, items });
  }

  private mqttStep(op: 'deliver' | 'dup' | 'drop', i: number): void {
    if (this.mqtt.length === 0) return;
    const k = i % this.mqtt.length;
    const m = this.mqtt[k]!;
    if (op !== 'dup') this.mqtt.splice(k, 1);
    if (op !== 'drop') this.hear(m);
  }

  /** A gateway ingests a fridge message. */
  private hear(m: MqttMsg): void {
    const d = this.doc(m.to);
    if (m.kind === 'inv') {
      d.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, F1, { boot: m.boot, seq: m.seq, ts: iso(m.ts), items: m.items as never }));
    } else {
      d.transact(ORIGINS.mqtt, (w) =>
        recordPickup(w, F1, { boot: m.boot, seq: m.seq, ts: iso(m.ts), orderId: oid(m.orderId!), items: m.items as never }, this.now),
      );
      // recordPickup records picked_up even for an order the gateway has not seen yet.
      this.orders.find((x) => x.id === m.orderId)?.states.add('picked_up');
    }
  }

  private reserve(s: Extract<Step, { t: 'reserve' }>): void {
    let id: string;
    let lines: Array<[MealId, number]>;
    const prev = s.retry === null ? undefined : this.orders[s.retry % Math.max(1, this.orders.length)];
    const own = (): Array<[MealId, number]> => {
      const m = new Map<MealId, number>();
      for (const [k, q] of s.lines) m.set(MEALS[k]!, (m.get(MEALS[k]!) ?? 0) + q);
      return [...m].sort(([a], [b]) => (a < b ? -1 : 1));
    };
    if (prev !== undefined) {
      id = prev.id;
      // Another customer's order under the same id (a client reusing ids), or the same order retried.
      lines = s.other ? own() : prev.lines;
    } else {
      id = `o${this.orders.length}`;
      lines = own();
    }
    const d = this.doc(s.at);
    const central = !s.at.startsWith('g');
    // What the model expects this taker can reserve per meal: its rights, and at a central taker no
    // more than the fridge holds as that taker sees it (T_eff − R). An honest central can hold
    // rights above that for a while: walk-ins it heard of before the reconciler's recall.
    const replica = this.net.node(s.at).replica;
    const canReserve = new Map<MealId, number>();
    for (const c of fridgeCells(d, F1, lines.map(([m]) => m))) {
      const rights = c.rights[replica] ?? 0;
      canReserve.set(c.meal, central ? Math.min(rights, Math.max(0, c.Teff - c.R)) : rights);
      if (central && rights > Math.max(0, c.Teff - c.R)) this.stats.rightsAboveStock++;
    }
    const fits = lines.every(([m, q]) => q <= (canReserve.get(m) ?? 0));
    const r = reserve(d, central ? ORIGINS.api : ORIGINS.kiosk, {
      orderId: oid(id),
      fridgeId: F1,
      lines: lines.map(([mealId, qty]) => ({ mealId, qty })),
      holdUntil: this.now + HOLD_MS[s.hold]!,
      now: this.now,
      capToStock: central,
    });
    let o = prev;
    if (o === undefined) {
      o = { id, lines, variants: new Map(), createdAt: new Set(), states: new Set(), pickedPhysically: false };
      this.orders.push(o);
    }
    if (r.ok && r.status === 'created') {
      if (!fits) this.fail(`${s.at} reserved ${JSON.stringify(lines)} beyond what it may: ${JSON.stringify([...canReserve])}`);
      if (this.maintained && [...o.states].some((x) => x !== 'reserved')) o.recreated = true;
      this.stats.reserved++;
      o.createdAt.add(s.at);
      if (!o.variants.has(JSON.stringify(lines)) && o.variants.size === 1) this.stats.contentConflicts++;
      o.variants.set(JSON.stringify(lines), lines);
      o.states.add('reserved');
      for (const [m, q] of lines) this.addConfirmed(this.net.node(s.at).replica, m, q);
      this.ledger -= lines.reduce((a, [, q]) => a + q, 0);
    } else if (r.ok) {
      this.stats.replayed++;
      if (r.order.variants.length > 0 && !r.order.variants.some((v) => JSON.stringify(v.lines) === JSON.stringify(lines))) this.fail(`replayed ${id} with other lines`);
    } else if (r.code === 'SOLD_OUT') {
      this.stats.soldOut++;
      // Refused because some line exceeds this replica's rights: check that is true.
      for (const l of r.lacking) if (l.requested <= l.available) this.fail(`SOLD_OUT with enough rights: ${JSON.stringify(l)}`);
      if (fits) this.fail(`${s.at} SOLD_OUT although the model expects ${JSON.stringify([...canReserve])} for ${JSON.stringify(lines)}`);
    } else {
      this.stats.conflicts++;
      // Other contents under an id this replica knows: refused, nothing written (a contents
      // conflict only arises between takers that cannot see each other).
      if (r.order.variants.length === 0 || r.order.variants.some((v) => JSON.stringify(v.lines) === JSON.stringify(lines))) this.fail(`ORDER_CONFLICT on an identical retry of ${id}`);
    }
  }

  private addConfirmed(r: ReplicaId, m: MealId, q: number): void {
    const k = `${r}|${m}`;
    this.confirmed.set(k, (this.confirmed.get(k) ?? 0) + q);
  }

  /** A customer opens the fridge for an order that was confirmed somewhere. */
  private pickup(i: number): void {
    const open = this.orders.filter((o) => o.createdAt.size > 0 && !o.pickedPhysically);
    const o = open[i % Math.max(1, open.length)];
    if (o === undefined) return;
    // The customer of one confirmed variant takes its lines (the pickup settles every variant).
    const lines = [...o.variants.values()][0] ?? o.lines;
    if (lines.some(([m, q]) => this.physical[MEALS.indexOf(m)]! < q)) return; // not there (walk-ins took it)
    for (const [m, q] of lines) this.physical[MEALS.indexOf(m)]! -= q;
    o.pickedPhysically = true;
    const seq = this.seq++;
    for (const to of ['g1', 'g2'] as const) this.mqtt.push({ to, kind: 'pick', boot: this.boot, seq, ts: this.now, items: Object.fromEntries(lines), orderId: o.id });
  }

  reconcile(): void {
    const g1 = this.doc('g1');
    const rep = reconcileFridge(g1, ORIGINS.reconciler, F1, DEFAULT_RIGHTS_POLICY, this.now, this.backoff, { offsetOf: SAME_CLOCK });
    if (rep !== undefined) {
      this.ledger += rep.incremented - rep.decremented;
      this.stats.recalls += rep.recalled;
      for (const id of rep.expired) this.orders.find((o) => o.id === id)?.states.add('expired');
    }
    // The HA standby never corrects, even when it hears the same fridge.
    if (reconcileFridge(this.doc('g2'), ORIGINS.reconciler, F1, DEFAULT_RIGHTS_POLICY, this.now) !== undefined) this.fail('the HA standby reconciled');
  }

  private netStep(op: 'deliver' | 'dup' | 'drop' | 'sync' | 'flush', i: number): void {
    const link: LinkName = LINKS[i % LINKS.length]!;
    if (op === 'deliver') this.net.deliver(i);
    else if (op === 'dup') this.net.duplicate(i);
    else if (op === 'drop') this.net.drop(link);
    else if (op === 'sync') this.net.sync(link);
    else this.net.flush((n) => (i = (i * 31 + 7) % 1021) % n);
  }

  /**
   * The reconciler gateway takes a new epoch: `gw:g1:1` hands over (everything it wrote reaches
   * central, then it stops), `gw:g1:2` starts empty, completes a full sync with central before
   * writing anything, and becomes the reconciler. `gw:g1:1` is retired by itself before stopping
   * by its successor, or by central's registry.
   */
  private epochChange(by: 'self' | 'successor' | 'central'): void {
    if (this.epochDone) return;
    this.epochDone = true;
    this.stats.epochChanges++;
    const old = this.net.node('g1');
    if (by === 'self') old.doc.transact(ORIGINS.lifecycle, (w) => retire(w, GW1, this.now));
    this.net.sync('g1c1');
    this.net.flushLink('g1', 'c1');
    this.net.kill('g1');
    // Central's registry declares the old epoch dead (it holds everything the gateway wrote).
    if (by === 'central') this.doc('c1').transact(ORIGINS.lifecycle, (w) => retire(w, GW1, this.now));
    const am = this.oracle ? A.init<Record<string, A.Counter>>({ actor: ACTOR.g1b! }) : undefined;
    const fresh = this.net.addNode('g1', GW1B, CLIENT.g1b!, undefined, am);
    this.net.pull(fresh, this.net.node('c1')); // first full sync: nothing written before it
    fresh.doc.transact(ORIGINS.lifecycle, (w) => {
      if (by === 'successor') retire(w, GW1, this.now);
      writeMeta(w, 'sim', this.now);
    });
  }

  // ------------------------------------------------------------ invariants

  /** Checks that hold in every reachable state. */
  checkStep(): void {
    if (this.net.failures.length > 0) this.fail(this.net.failures.join('; '));
    const byState = new Map<string, { name: NodeName; digest: string }>();
    for (const node of this.net.nodes.values()) {
      const state = this.net.stateOf(node);
      const cached = this.checked.get(node.name);
      const view = cached?.state === state ? cached.view : fridgeView(node.doc, F1);
      if (cached?.state !== state) {
        // Folds are functions of the document state alone: an unchanged node needs no new check.
        for (const c of view.cells) this.checkCell(node, c);
        this.checked.set(node.name, { state, view });
      }
      // Takers decrement only by reserving: their decrements are exactly their confirmed units.
      if (node.name !== 'g1') {
        for (const m of MEALS) {
          const dec = (node.doc.get(node.replica, keys.counter(F1, m)) as [number, number] | undefined)?.[1] ?? 0;
          const conf = this.confirmed.get(`${node.replica}|${m}`) ?? 0;
          if (dec !== conf) this.fail(`${node.replica} decremented ${dec} ${m} but confirmed ${conf} reserved units`);
        }
      }
      if (this.oracle && node.am !== undefined && !yjsPending(node.doc) && !automergePending(node.am)) {
        for (const m of MEALS) {
          const s = view.cells.find((c) => c.meal === m)?.S ?? 0;
          const a = automergeSellable(node.am, m);
          if (s !== a) this.fail(`Automerge oracle: ${node.name} ${m} S=${s} automerge=${a}`);
        }
      }
      if (yjsPending(node.doc)) continue;
      const digest = JSON.stringify(view);
      const other = byState.get(state);
      if (other === undefined) byState.set(state, { name: node.name, digest });
      else if (other.digest !== digest) {
        const a = Y.encodeStateAsUpdate(this.net.node(other.name).doc.ydoc);
        const b = Y.encodeStateAsUpdate(node.doc.ydoc);
        if (Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0) {
          this.fail(`${other.name} and ${node.name} hold the same updates but fold differently:\n${other.digest}\n${digest}`);
        }
      }
    }
  }

  /** `S ≥ 0`, every replica's rights `≥ 0`, and rights add up to `S` (none created or lost). */
  private checkCell(node: SimNode, c: CellView): void {
    if (c.S < 0) this.fail(`${node.name}: S(${c.meal}) = ${c.S} < 0`);
    let sum = c.unassigned;
    for (const [r, v] of Object.entries(c.rights)) {
      if (v < 0) this.fail(`${node.name}: rights of ${r} for ${c.meal} = ${v} < 0`);
      sum += v;
    }
    if (c.unassigned < 0) this.fail(`${node.name}: unassigned rights ${c.unassigned} < 0`);
    if (sum !== c.S) this.fail(`${node.name}: rights of ${c.meal} sum to ${sum}, S = ${c.S}`);
  }

  /** Delivers everything, then runs reconciliation and recall answers to a fixpoint. */
  quiesce(): void {
    for (let round = 0; round < 12; round++) {
      this.net.settle();
      const before = this.net.fingerprint();
      this.reconcile();
      answerRecalls(this.doc('c1'), ORIGINS.reconciler);
      answerRecalls(this.doc('c2'), ORIGINS.reconciler);
      answerRecalls(this.doc('g2'), ORIGINS.reconciler);
      // Nobody wrote anything: everything is delivered and reconciliation is at its fixpoint.
      if (this.net.fingerprint() === before) {
        this.checkStep();
        return;
      }
    }
    this.fail('reconciliation does not reach a fixpoint');
  }

  /** Checks at quiescence: every node has everything. */
  checkQuiescent(label: string, full: boolean): void {
    const digests = new Set<string>();
    let rebuilt = false;
    for (const node of this.net.nodes.values()) {
      const view = fridgeView(node.doc, F1);
      digests.add(JSON.stringify(view));
      for (const c of view.cells) {
        if (c.S !== Math.max(0, c.Teff - c.R)) this.fail(`${label} ${node.name} ${c.meal}: S=${c.S} but max(0, Teff−R) = ${Math.max(0, c.Teff - c.R)} (Teff=${c.Teff}, R=${c.R})`);
        if (c.shortage !== Math.max(0, c.R - c.Teff)) this.fail(`${label} ${node.name} ${c.meal}: shortage ${c.shortage}`);
        if (c.shortage > 0 && c.affectedOrders.length === 0) this.fail(`${label} ${node.name} ${c.meal}: shortage without affected orders`);
      }
      // Materialising from scratch gives the same fold as the incremental materialiser.
      if (full && !rebuilt) {
        rebuilt = true;
        const fresh = newDoc(undefined, undefined, Y.encodeStateAsUpdate(node.doc.ydoc));
        if (JSON.stringify(fridgeView(fresh, F1)) !== JSON.stringify(view)) this.fail(`${label} ${node.name}: reloaded document folds differently`);
      }
    }
    if (digests.size !== 1) this.fail(`${label}: replicas with the same updates fold differently:\n${[...digests].join('\n')}`);
    if (full) this.checkReplays(label);
    if (this.oracle) {
      for (const node of this.net.nodes.values()) {
        for (const m of MEALS) {
          const a = automergeSellable(node.am!, m);
          const s = fridgeCells(node.doc, F1, [m])[0]!.S;
          if (a !== s) this.fail(`${label} Automerge oracle ${node.name} ${m}: S=${s}, automerge=${a}`);
        }
      }
    }
  }

  /** Replaying delivered messages again changes nothing (central validates gateway replays too). */
  private checkReplays(label: string): void {
    const before = [...this.net.nodes.values()].map((n) => JSON.stringify(fridgeView(n.doc, F1)));
    const n = this.net.delivered.length;
    for (let k = 0; k < Math.min(n, REPLAYS); k++) this.net.duplicate((k * 7919 + this.stats.steps) % n);
    this.net.flush();
    if (this.net.failures.length > 0) this.fail(`${label} replay: ${this.net.failures.join('; ')}`);
    const after = [...this.net.nodes.values()].map((n) => JSON.stringify(fridgeView(n.doc, F1)));
    if (before.join() !== after.join()) this.fail(`${label}: replaying delivered messages changed the folds`);
  }

  /** The sequential model: after a final snapshot of the physical fridge, T, R and S are known exactly. */
  checkModel(): void {
    const d = this.doc('c1');
    let totalS = 0;
    for (const [k, m] of MEALS.entries()) {
      const c = fridgeCells(d, F1, [m])[0]!;
      const R = this.orders
        .filter((o) => o.createdAt.size > 0 && ([...o.states].every((s) => s === 'reserved') || (o.recreated === true && foldOrder(d, oid(o.id))?.state === 'reserved')))
        // Every variant a taker confirmed holds its units while the order is reserved.
        .reduce((a, o) => a + [...o.variants.values()].reduce((b, l) => b + (l.find(([x]) => x === m)?.[1] ?? 0), 0), 0);
      const phys = this.physical[k]!;
      if (c.T !== phys || c.Teff !== phys) this.fail(`model: ${m} T=${c.T} Teff=${c.Teff}, the fridge holds ${phys}`);
      if (c.R !== R) this.fail(`model: ${m} R=${c.R}, expected ${R}`);
      if (c.S !== Math.max(0, phys - R)) this.fail(`model: ${m} S=${c.S}, expected ${Math.max(0, phys - R)}`);
      totalS += c.S;
      // No oversell: confirmed units never exceed what the counter let takers decrement.
      const inc = [...(d.index.counters.get(F1)?.get(m)?.values() ?? [])].reduce((a, [i]) => a + i, 0);
      const decAll = [...(d.index.counters.get(F1)?.get(m)?.values() ?? [])].reduce((a, [, x]) => a + x, 0);
      let conf = 0;
      for (const [key, q] of this.confirmed) if (key.endsWith(`|${m}`)) conf += q;
      if (conf > inc - (decAll - conf)) this.fail(`oversell: ${conf} units of ${m} confirmed, counter allowed ${inc - (decAll - conf)}`);
    }
    if (totalS !== this.ledger) this.fail(`model ledger: S=${totalS}, increments − decrements − reserved = ${this.ledger}`);
    // Order states: the lattice over every transition any replica recorded; picked_up wins and a
    // disagreement between terminal states is reported (until pruning forgets the losing entries).
    for (const o of this.orders) {
      if (o.states.size === 0) continue;
      const terminal = (['picked_up', 'cancelled', 'expired'] as const).filter((x) => o.states.has(x));
      const expected = terminal[0] ?? 'reserved';
      const f = foldOrder(d, oid(o.id));
      if (f === undefined) {
        if (expected === 'reserved' || !this.maintained) this.fail(`model: order ${o.id} vanished while ${expected}`);
        continue;
      }
      const forgotten = o.pruned === true && f.state !== 'reserved' && o.states.has(f.state);
      if (f.state !== expected && !(o.recreated === true && f.state === 'reserved') && !forgotten) this.fail(`model: order ${o.id} folds to ${f.state}, transitions recorded: ${[...o.states].join(',')}`);
      if (!this.maintained && f.stateConflict !== terminal.length > 1) this.fail(`model: order ${o.id} stateConflict=${f.stateConflict}, terminal states recorded: ${terminal.join(',')}`);
      if (!this.maintained && f.contentConflict !== o.variants.size > 1) this.fail(`model: order ${o.id} contentConflict=${f.contentConflict}, ${o.variants.size} contents confirmed`);
    }
  }

  /** The final snapshot: the fridge reports what it holds and both gateways hear it. */
  finalSnapshot(): void {
    this.mqtt.length = 0;
    this.emitSnapshot();
    for (const m of this.mqtt.splice(0)) this.hear(m);
  }

}

/** Plays one history and checks every invariant; throws on a violation. */
export function runHistory(h: History, opts: { forgeries?: boolean } = {}): HistoryStats {
  const t = PHASES;
  let t0 = performance.now();
  const lap = (k: keyof typeof PHASES) => {
    const t1 = performance.now();
    t[k] += t1 - t0;
    t0 = t1;
  };
  const run = new Run(h.oracle, h.pauses);
  lap('setup');
  for (const s of h.steps) {
    run.step(s);
    lap('steps');
    run.checkStep();
    lap('checks');
  }
  run.quiesce();
  lap('quiesce');
  run.checkQuiescent('quiescence', true);
  lap('quiescent');
  run.finalSnapshot();
  run.quiesce();
  lap('quiesce');
  run.checkQuiescent('after final snapshot', false);
  run.checkModel();
  lap('quiescent');
  if (opts.forgeries) checkForgeries(run.net);
  lap('forgeries');
  run.stats.validated = run.net.stats.validated;
  run.stats.deferred = run.net.stats.deferred;
  return run.stats;
}

/** Milliseconds spent per phase over all histories of this process (for tuning). */
export const PHASES = { setup: 0, steps: 0, checks: 0, quiesce: 0, quiescent: 0, forgeries: 0 };

export { historyArb, stepArb, type History, type Step } from './steps.ts';
export type { HistoryStats } from './history-model.ts';
