/**
 * Durable cross-node QoS 1/2 on the engine side (docs/cluster.md, "Durable QoS 1/2").
 *
 * - Sending: a QoS 1/2 message for another node is appended to that node's inbox through the
 *   DurablePort (batched per event-loop turn by the port). The appends of one publish are kept in
 *   `lastWait` until the publisher's acknowledgement takes them (durable-ack.ts), so a PUBACK or
 *   PUBREC goes out only once the message is safe.
 * - Local copies: a QoS 1/2 copy for a persistent session of this node made by a local publish
 *   takes the same path through this node's own inbox (flagged `local`: only the persistent
 *   sessions get it from there, the others got theirs at once), so that its publisher's ack also
 *   means it survives a kill of this node (router.ts, durableLocal).
 * - Receiving: each inbox batch is routed to the local sessions synchronously; clean sessions are
 *   done then (their state dies with the node anyway), and the snapshots of the persistent sessions
 *   that now hold a copy are returned to the port, which saves them and acknowledges the batch in
 *   one transaction. Which persistent sessions got a copy is found by comparing a cheap signature
 *   (router match stamp, queue length, in-flight count) before and after the batch: one pass over
 *   the local persistent sessions per batch, not per message.
 * - Persistent sessions are also saved on every SUBSCRIBE/UNSUBSCRIBE, at CONNECT, and before
 *   every PUBREL (so that a QoS 2 message past PUBREC is never sent again after a failover
 *   [MQTT-4.3.3-5]): session-saves.ts, coalesced per turn, one save in flight per session.
 * - Wills are kept in the port while their connection is alive and while they wait after it
 *   ended (Will Delay Interval, drain grace), so that a survivor publishes them: wills.ts.
 */
import type { Will } from '@mqtt-broker/mqtt-codec';
import { topicMatches } from '@mqtt-broker/topics';
import type { Channel } from '../channel/channel.js';
import type { EngineContext } from '../engine-context.js';
import type { SessionSnapshot, StoredMessage } from '../ports.js';
import { HeldFeeder } from '../router/held-feeder.js';
import { beginFeed, endFeed } from '../session/flow-control.js';
import { fromStored, type Message, toStored } from '../session/message.js';
import type { Session } from '../session/session.js';
import type { DurableMessage, DurablePort, SharedTarget } from './durable-port.js';
import { deliverToClient, HandoverRecords, type RouteView, retireStub, STUB_MAX_MS } from './handover-forward.js';
import { claimRunning } from './takeover.js';
import type { SharedRoutes } from './shared-routes.js';
import { SessionSaves } from './session-saves.js';
import { ClusterWills } from './wills.js';

const registry = new WeakMap<EngineContext, ClusterDurability>();
/** Message ids per run (`idOf`): below 2^30, so the counter is a small integer. */
const SEQ_LIMIT = 0x3fffffff;
/** How long copies that still reach this node for a handed-over session are passed on. */
const TOMBSTONE_MS = 3000;
/**
 * How long a taken-over session is watched for copies that reach it twice (the stub's overlap),
 * counted again from each addressed copy read for it. The old node sends addressed copies until
 * STUB_MAX_MS + TOMBSTONE_MS after the handover, and this node may read them late (its inbox
 * held back by a congested session): 5 s was seen to close before the last twins were read.
 */
const FRESH_MS = STUB_MAX_MS + TOMBSTONE_MS + 2000;
/** How long an addressed copy waits for its client's session to finish arriving here. */
const ARRIVAL_WAIT_MS = 2000;
/** ... at most, while a CONNECT of that client here is still claiming it (takeover.ts). */
const ARRIVAL_MAX_MS = 30_000;

interface Tombstone {
  filters: string[];
  nodeId: string;
  until: number;
  /** The new owner had loaded the session and its routes were visible (handover-forward.ts). */
  confirmed: boolean;
}

function includes(targets: Iterable<string>, nodeId: string): boolean {
  for (const t of targets) if (t === nodeId) return true;
  return false;
}

/** The durability of an engine, when its ports have a DurablePort. */
export function durabilityOf(ctx: EngineContext): ClusterDurability | undefined {
  return registry.get(ctx);
}

/**
 * Runs `tell` (what tells the client about a change of its persistent session: SUBACK, UNSUBACK,
 * PUBREL) once the change is saved; at once when nothing is saved (no cluster, a clean session).
 */
export function afterSessionSaved(ch: Channel, session: Session, tell: () => void): void {
  const saved = durabilityOf(ch.ctx)?.sessionChanged(session);
  if (saved === undefined) tell();
  else void saved.then(tell);
}

interface Signature {
  gen: number;
  queued: number;
  inflight: number;
}

/** A HeldFeeder: the inbox consumer is held back by congested local sessions (flow-control.ts). */
export class ClusterDurability extends HeldFeeder {
  /** Appends made by the publish being routed now (taken by the publisher's acknowledgement). */
  private waits: Array<Promise<void>> = [];
  /** Shared subscriptions across nodes (set by the cluster link when it handles them). */
  shared: SharedRoutes | undefined = undefined;
  /** The cluster link's route replica (set by the link): handed-over sessions wait for the new owner's routes. */
  routes: RouteView | undefined = undefined;
  private readonly stubs = new Set<Promise<void>>();
  /** Handovers running, where handed-over sessions went, adoptions running (handover-forward.ts). */
  readonly handovers = new HandoverRecords();
  private stopConsuming: (() => Promise<void>) | undefined = undefined;
  /** Wills of this node's clients in shared storage, and wills waiting here (wills.ts). */
  readonly wills: ClusterWills;
  /** Undefined without a session store: nothing to save. */
  private readonly saves: SessionSaves | undefined;
  /** Batches and messages consumed, sessions saved, duplicates skipped (tests). */
  readonly stats = { batchesConsumed: 0, messagesConsumed: 0, sessionsSaved: 0, duplicatesSkipped: 0 };
  /**
   * Message ids are `<node>:<run>.<seq>`: `run` is the time the counter (re)started (ms, base 36),
   * because a node started again under the same id (a rolling restart) must not repeat its previous
   * run's ids, which a freshly taken-over session's duplicate filter may still hold (`fresh`);
   * counted from 0 under one prefix, the new run's copies were dropped as duplicates (a rolling
   * restart under CPU load lost 7 deliveries that way, within 5 s of a takeover). `seq` stays a
   * small integer (cheap to turn into a string: a 16-digit counter cost 6% of a publishing node's
   * CPU at QoS 1) and starts a new run when it would outgrow one.
   */
  private idPrefix = '';
  private seq = SEQ_LIMIT;
  /** Sessions taken over from another node in the last FRESH_MS: ids of the copies they got. */
  private readonly fresh = new Map<string, { until: number; seen: Set<string> }>();
  /** Sessions handed over from here recently: where copies that still arrive for them go. */
  private readonly tombstones = new Map<string, Tombstone>();

  constructor(
    readonly ctx: EngineContext,
    readonly port: DurablePort,
  ) {
    super();
    registry.set(ctx, this);
    this.wills = new ClusterWills(ctx, port);
    const store = ctx.ports.sessions;
    this.saves = store === undefined ? undefined : new SessionSaves(ctx, store, () => this.stats.sessionsSaved++);
  }

  /** Reading its inbox: started and not stopping. */
  get running(): boolean {
    return this.stopConsuming !== undefined;
  }

  async start(): Promise<void> {
    // first on the connection: a previous run's wills are taken before any CONNECT stores one
    const wills = this.wills.start().catch((e: unknown) => this.ctx.reportPortError(e));
    this.stopConsuming = await this.port.consume(
      this.ctx.nodeId,
      (batch) => this.deliverBatch(batch),
      () => this.flowGate(),
    );
    await wills;
  }

  /**
   * Graceful stop (the sessions are offline and saved; the routes stay): stops reading, then takes
   * what is in the inbox now into the local sessions (saved with each entry). What publishers
   * append after that is drained by the survivor that adopts these sessions once this node has
   * left (docs/cluster.md, "Drain"); a last node leaving gets no more appends.
   */
  async stop(): Promise<void> {
    this.wills.stop();
    // a handover still running when the takeover service stopped adds its stub afterwards
    while (this.handovers.running.size > 0 || this.stubs.size > 0) await Promise.allSettled([...this.handovers.running, ...this.stubs]);
    if (this.stopConsuming === undefined) return;
    await this.stopConsuming();
    this.stopConsuming = undefined;
    // the inbox is kept: publishers may append until the survivor removed this node's routes
    await this.port.drain(this.ctx.nodeId, (batch) => this.deliverBatch(batch), true);
    // copies appended from now on are drained by a survivor: it passes those for clients that
    // moved away in the last seconds on to their new node, as the tombstones here would have
    const now = Date.now();
    const moved = [...this.tombstones].filter(([, t]) => t.until > now).map(([clientId, t]) => ({ clientId, nodeId: t.nodeId, filters: t.filters, until: t.until }));
    if (moved.length > 0) await this.port.setMoved?.(this.ctx.nodeId, moved);
  }

  /**
   * True when a copy with `id` already reached `clientId`'s session directly since it was taken
   * over or adopted here (a dead node's inbox holds another copy of it); records it otherwise.
   */
  seenBefore(clientId: string, id: string | undefined): boolean {
    if (id === undefined) return false;
    const f = this.fresh.get(clientId);
    if (f === undefined) return false;
    if (f.seen.has(id)) return true;
    f.seen.add(id);
    return false;
  }

  /** Appends `stored` to each target node's inbox; the publisher's ack waits for all of them. */
  forward(targets: Iterable<string>, stored: StoredMessage, message: Message): void {
    const id = this.idOf(message);
    // routed locally already: a freshly adopted session got this copy (another may be in a dead node's inbox);
    // not when the copies for persistent sessions went to this node's own inbox: recorded when delivered from it
    if (this.fresh.size > 0 && !includes(targets, this.ctx.nodeId)) this.noteSeen(stored.topic, id);
    // this node's own inbox: the copies for its persistent sessions (router.ts, durableLocal)
    for (const nodeId of targets) this.waitFor(this.port.append(nodeId, nodeId === this.ctx.nodeId ? { message: stored, id, local: true } : { message: stored, id }));
    // published here for a client that just moved away: its new node may not have its session yet
    if (this.tombstones.size > 0) this.passToMoved(stored, id, targets);
  }

  /** The id shared by every copy of `message` (assigned when first forwarded or read from an inbox). */
  idOf(message: Message): string {
    if (message.clusterId !== undefined) return message.clusterId;
    if (this.seq >= SEQ_LIMIT) {
      this.idPrefix = `${this.ctx.nodeId}:${Date.now().toString(36)}.`;
      this.seq = 0;
    }
    return (message.clusterId = this.idPrefix + ++this.seq);
  }

  /** `clientId`'s session was just taken over from another node: copies that reach it twice are delivered once. */
  noteTakenOver(clientId: string): void {
    const f = this.fresh.get(clientId);
    if (f !== undefined) f.until = Date.now() + FRESH_MS; // moved back and forth: keep what it saw
    else this.fresh.set(clientId, { until: Date.now() + FRESH_MS, seen: new Set() });
  }

  /**
   * A copy reached this node after a session moved away (a publisher saw the move late): pass it on.
   * `forwardedTo`: the nodes a copy published here was just appended to. A confirmed new owner among
   * them gets no second, addressed copy: it had loaded the session before this tombstone was set,
   * so the plain copy reaches it (every pair is one more duplicate its filter has to catch).
   */
  private passToMoved(stored: StoredMessage, id: string | undefined, forwardedTo?: Iterable<string>): void {
    const now = Date.now();
    for (const [clientId, t] of this.tombstones) {
      if (t.until < now || this.ctx.sessions.has(clientId)) {
        this.tombstones.delete(clientId);
        continue;
      }
      if (!t.filters.some((f) => topicMatches(f, stored.topic))) continue;
      if (t.confirmed && forwardedTo !== undefined && includes(forwardedTo, t.nodeId)) continue;
      this.port.append(t.nodeId, { message: stored, forClient: clientId, ...(id !== undefined ? { id } : {}) }).catch((e: unknown) => this.ctx.reportPortError(e));
    }
  }

  /** A copy for a client that is no longer here (it moved again): pass it to its current owner, a few times at most. */
  private async passOn(clientId: string, stored: StoredMessage, id: string | undefined, hops: number): Promise<void> {
    const owner = hops < 3 ? (await this.ctx.ports.registry?.lookup(clientId))?.nodeId : undefined;
    if (owner === this.ctx.nodeId && (await this.deliverOnceHere(clientId, stored))) return;
    if (owner === undefined || owner === this.ctx.nodeId) {
      this.ctx.observer.messageDropped(stored.qos, 'no_subscribers');
      return;
    }
    await this.port.append(owner, { message: stored, forClient: clientId, ...(id !== undefined ? { id } : {}), hops: hops + 1 });
  }

  /**
   * A copy addressed to a client this node owns but whose session is not here yet: its takeover
   * is still loading the session (the old node's stub forwarded the copy before that finished).
   * Waits for the session (at most ARRIVAL_WAIT_MS), delivers and saves it.
   */
  private async deliverOnceHere(clientId: string, stored: StoredMessage): Promise<boolean> {
    // at least ARRIVAL_WAIT_MS, and while a CONNECT here is still claiming the client (it waits for
    // the old node's answer or cleanup: the session arrives when that ends), up to ARRIVAL_MAX_MS
    const start = Date.now();
    const waiting = (): boolean => {
      const waited = Date.now() - start;
      return waited < ARRIVAL_WAIT_MS || (waited < ARRIVAL_MAX_MS && claimRunning(this.ctx, clientId));
    };
    while (!this.ctx.sessions.has(clientId) && waiting()) await new Promise((resolve) => setTimeout(resolve, 10));
    if (!deliverToClient(this.ctx, clientId, stored, fromStored(stored, this.ctx.clock.now()))) return false;
    const session = this.ctx.sessions.get(clientId);
    if (session !== undefined) this.sessionChanged(session);
    return true;
  }

  /**
   * Records `id` for the freshly taken-over sessions a plain copy of `topic` reaches here. With
   * `copy` (a plain copy about to be routed from the inbox): a session that already got this id
   * as an addressed copy is marked to skip it and returned (the router then passes it by). The
   * two copies come from different nodes' appends, so either may be first in the inbox.
   */
  private noteSeen(topic: string, id: string, copy?: Message): Session[] | undefined {
    const now = Date.now();
    let skipping: Session[] | undefined;
    for (const [clientId, f] of this.fresh) {
      if (f.until < now) {
        this.fresh.delete(clientId);
        continue;
      }
      const s = this.ctx.sessions.get(clientId);
      if (s === undefined) continue;
      for (const entry of s.subscriptions.values()) {
        if (entry.group === undefined && topicMatches(entry.matchFilter, topic)) {
          if (copy !== undefined && f.seen.has(id)) {
            s.skipCopy = copy;
            (skipping ??= []).push(s);
            this.stats.duplicatesSkipped++;
          }
          f.seen.add(id);
          break;
        }
      }
    }
    return skipping;
  }

  /** A shared-subscription copy for one node; the publisher's ack waits for it when `wait`. */
  appendShared(nodeId: string, stored: StoredMessage, target: SharedTarget, wait: boolean): void {
    const p = this.port.append(nodeId, { message: stored, target });
    if (wait) this.waitFor(p);
    else p.catch((e: unknown) => this.ctx.reportPortError(e));
  }

  private waitFor(p: Promise<void>): void {
    const w = this.waits;
    if (w.length > 0 && w[w.length - 1] === p) return; // the same batch (durable-port.ts append)
    // appends of broker-made messages (wills, admin publishes) are never taken by an ack: keep few
    if (w.length >= 1024) w.splice(0, 512);
    w.push(p);
  }

  /** Takes the appends of the publish just routed (undefined when it went to no other node). */
  takeWait(): Promise<unknown> | undefined {
    const w = this.waits;
    if (w.length === 0) return undefined;
    this.waits = [];
    return w.length === 1 ? w[0] : Promise.all(w);
  }

  /** One inbox batch: local delivery now; returns the snapshots to save with the batch's acknowledgement. */
  deliverBatch(batch: DurableMessage[]): SessionSnapshot[] {
    const ctx = this.ctx;
    this.stats.batchesConsumed++;
    this.stats.messagesConsumed += batch.length;
    return this.savingTouched(() => {
      const now = ctx.clock.now();
      beginFeed(this);
      try {
        ctx.router.enterInbox(); // delivered here, never diverted to the inbox again
        for (const { message: stored, target, forClient, id, hops, local } of batch) {
          const message = fromStored(stored, now);
          if (id !== undefined) message.clusterId = id;
          if (forClient !== undefined) {
            // the old node still sends copies for this client: its plain twins may follow, watch longer
            if (id !== undefined) this.noteTakenOver(forClient);
            const fresh = this.fresh.get(forClient);
            if (id !== undefined && fresh?.seen.has(id) === true) {
              this.stats.duplicatesSkipped++;
              continue; // reached the session directly already
            }
            if (id !== undefined) fresh?.seen.add(id);
            if (!deliverToClient(ctx, forClient, stored, message)) this.passOn(forClient, stored, id, hops ?? 0).catch((e: unknown) => ctx.reportPortError(e));
          } else if (target === undefined) {
            const skipping = id !== undefined && this.fresh.size > 0 ? this.noteSeen(stored.topic, id, message) : undefined;
            ctx.router.publish(message, message.publisherId, local === true ? 'persistent' : undefined);
            if (skipping !== undefined) for (const s of skipping) s.skipCopy = undefined;
            if (this.tombstones.size > 0) this.passToMoved(stored, id);
          }
          else if (this.shared !== undefined) this.shared.deliver(message, stored, target);
          else ctx.router.publishToGroup(target.filter, target.group, message);
        }
      } finally {
        ctx.router.leaveInbox();
        endFeed();
      }
    });
  }

  /**
   * Runs `deliver` and returns the snapshots of the local persistent sessions whose outbound
   * state it changed (taken now, so that they are written before any later save of the same session).
   * A session also waiting for its end-of-turn save (sessionChanged) keeps it: that save is what its
   * SUBACK waits for, and the port may land these snapshots later, or never if the node dies first.
   */
  savingTouched(deliver: () => void, sessions: Iterable<Session> = this.ctx.sessions.values()): SessionSnapshot[] {
    const before = new Map<Session, Signature>();
    for (const s of sessions) if (s.persistent && !s.ended) before.set(s, { gen: s.matchGen, queued: s.queue.length, inflight: s.inflight.size });
    deliver();
    const snapshots: SessionSnapshot[] = [];
    for (const [s, sig] of before) {
      if (s.ended || (s.matchGen === sig.gen && s.queue.length === sig.queued && s.inflight.size === sig.inflight)) continue;
      snapshots.push(s.snapshot());
    }
    this.stats.sessionsSaved += snapshots.length;
    return snapshots;
  }

  /**
   * A session was handed over to another node and saved: keep it subscribed as a stub until the
   * new owner's routes are visible, then forward what it caught (handover-forward.ts). False when
   * the cluster link does not say where routes are (the caller drops the subscriptions at once).
   */
  retireAfterHandover(session: Session, newOwner: string | undefined, caught: Message[]): boolean {
    const view = this.routes;
    if (view === undefined) return false;
    const out = {
      append: (nodeId: string, message: Message, clientId: string): void => {
        this.port.append(nodeId, { message: toStored(message), forClient: clientId, id: this.idOf(message) }).catch((e: unknown) => this.ctx.reportPortError(e));
      },
      tombstone: (clientId: string, filters: string[], nodeId: string, confirmed: boolean): void => {
        this.tombstones.set(clientId, { filters, nodeId, until: Date.now() + TOMBSTONE_MS, confirmed });
      },
    };
    if (newOwner !== undefined && newOwner !== this.ctx.nodeId) this.handovers.movedTo(session, newOwner);
    // loaded: the new owner's load removed the holder mark handOver set (LOAD_SESSION)
    const loaded = async (): Promise<boolean> => (await this.port.holder(session.clientId)) !== this.ctx.nodeId;
    const p: Promise<void> = retireStub(this.ctx, session, newOwner, view, out, caught, loaded)
      .catch((e: unknown) => this.ctx.reportPortError(e))
      .finally(() => this.stubs.delete(p));
    this.stubs.add(p);
    return true;
  }

  /**
   * A persistent session changed (subscriptions, a PUBREC answered, CONNECT): saved by
   * session-saves.ts. The promise settles when a save with the change landed (or failed,
   * reported); what tells the client about the change waits for it. Undefined: nothing is saved.
   */
  sessionChanged(session: Session): Promise<void> | undefined {
    if (!session.persistent || session.ended || this.saves === undefined) return undefined;
    return this.saves.changed(session);
  }

  /** CONNECT accepted: store the will, index and save a persistent session. */
  connected(session: Session, will: Will | undefined): void {
    const ctx = this.ctx;
    const clientId = session.clientId;
    this.wills.connected(session, will);
    if (session.persistent) {
      this.port.indexSession(ctx.nodeId, clientId).catch((e: unknown) => ctx.reportPortError(e));
      this.sessionChanged(session);
    }
  }

  /** The connection ended on this node: its will is published, discarded or waiting (wills.ts). */
  disconnected(clientId: string): void {
    this.wills.disconnected(clientId);
  }

  /** The session ended or moved to another node: no longer this node's to adopt. */
  sessionGone(clientId: string): void {
    this.wills.sessionGone(clientId);
    this.port.unindexSession(this.ctx.nodeId, clientId).catch((e: unknown) => this.ctx.reportPortError(e));
  }
}
