/**
 * Durable cross-node QoS 1/2 on the engine side (docs/cluster.md, "Durable QoS 1/2").
 *
 * - Sending: a QoS 1/2 message for another node is appended to that node's inbox through the
 *   DurablePort (batched per event-loop turn by the port). The appends of one publish are kept in
 *   `lastWait` until the publisher's acknowledgement takes them (durable-ack.ts), so a PUBACK or
 *   PUBREC goes out only once the message is safe.
 * - Receiving: each inbox batch is routed to the local sessions synchronously; clean sessions are
 *   done then (their state dies with the node anyway), and the snapshots of the persistent sessions
 *   that now hold a copy are returned to the port, which saves them and acknowledges the batch in
 *   one transaction. Which persistent sessions got a copy is found by comparing a cheap signature
 *   (router match stamp, queue length, in-flight count) before and after the batch: one pass over
 *   the local persistent sessions per batch, not per message.
 * - Persistent sessions are also saved on every SUBSCRIBE/UNSUBSCRIBE (coalesced per turn), at
 *   CONNECT, and before every PUBREL (so that a QoS 2 message past PUBREC is never sent again
 *   after a failover [MQTT-4.3.3-5]).
 * - Wills are written to the port at CONNECT and deleted when the connection ends on this node
 *   (the node then handles the will itself), so a survivor publishes only the wills of a dead
 *   node's clients.
 */
import type { Will } from '@mqtt-broker/mqtt-codec';
import type { EngineContext } from '../engine-context.js';
import type { SessionSnapshot, StoredMessage } from '../ports.js';
import { beginFeed, endFeed, type Feeder } from '../session/flow-control.js';
import { createMessage, fromStored, type Message, toStored } from '../session/message.js';
import type { Session } from '../session/session.js';
import type { DurableMessage, DurablePort, SharedTarget } from './durable-port.js';
import { deliverToClient, type RouteView, retireStub } from './handover-forward.js';
import type { SharedRoutes } from './shared-routes.js';

const registry = new WeakMap<EngineContext, ClusterDurability>();

/** The durability of an engine, when its ports have a DurablePort. */
export function durabilityOf(ctx: EngineContext): ClusterDurability | undefined {
  return registry.get(ctx);
}

interface Signature {
  gen: number;
  queued: number;
  inflight: number;
}

export class ClusterDurability implements Feeder {
  /** Appends made by the publish being routed now (taken by the publisher's acknowledgement). */
  private waits: Array<Promise<void>> = [];
  /** Shared subscriptions across nodes (set by the cluster link when it handles them). */
  shared: SharedRoutes | undefined = undefined;
  /** The cluster link's route replica (set by the link): handed-over sessions wait for the new owner's routes. */
  routes: RouteView | undefined = undefined;
  private readonly stubs = new Set<Promise<void>>();
  private stopConsuming: (() => Promise<void>) | undefined = undefined;
  private readonly willsStored = new Set<string>();
  private readonly toSave = new Set<Session>();
  private saveScheduled = false;
  /** Messages appended / batches and messages consumed (metrics, tests). */
  readonly stats = { appended: 0, appendFailures: 0, batchesConsumed: 0, messagesConsumed: 0, sessionsSaved: 0 };

  constructor(
    readonly ctx: EngineContext,
    readonly port: DurablePort,
  ) {
    registry.set(ctx, this);
  }

  async start(): Promise<void> {
    this.stopConsuming = await this.port.consume(
      this.ctx.nodeId,
      (batch) => this.deliverBatch(batch),
      () => this.flowGate(),
    );
  }

  // ---- Feeder: the inbox consumer is held back by congested local sessions (flow-control.ts) ----
  flowBlockers: Set<Session> | undefined = undefined;
  flowBlockedAt = 0;
  flowExemptUntil = 0;
  private released: (() => void) | undefined = undefined;
  private held: Promise<void> | undefined = undefined;

  onFlowBlocked(): void {
    this.held = new Promise<void>((resolve) => {
      this.released = resolve;
    });
  }

  onFlowReleased(): void {
    const r = this.released;
    this.held = undefined;
    this.released = undefined;
    r?.();
  }

  /** Resolves when no local session holds the inbox consumer back. */
  flowGate(): Promise<void> {
    return this.held ?? Promise.resolve();
  }

  /**
   * Graceful stop (after this node's routes were removed): stops reading, then takes what was
   * appended meanwhile into the local sessions (saved with each entry), so that nothing waits in
   * an inbox nobody reads (a node that left gracefully is not cleaned up by a survivor).
   */
  async stop(): Promise<void> {
    await Promise.all([...this.stubs]);
    if (this.stopConsuming === undefined) return;
    await this.stopConsuming();
    this.stopConsuming = undefined;
    await new Promise((resolve) => setTimeout(resolve, 300)); // appends already on their way
    await this.port.drain(this.ctx.nodeId, (batch) => this.deliverBatch(batch));
  }

  /** Appends `stored` to each target node's inbox; the publisher's ack waits for all of them. */
  forward(targets: Iterable<string>, stored: StoredMessage): void {
    for (const nodeId of targets) this.waitFor(this.port.append(nodeId, stored));
  }

  /** A shared-subscription copy for one node; the publisher's ack waits for it when `wait`. */
  appendShared(nodeId: string, stored: StoredMessage, target: SharedTarget, wait: boolean): void {
    const p = this.port.append(nodeId, stored, target);
    if (wait) this.waitFor(p);
    else
      p.catch((e: unknown) => {
        this.stats.appendFailures++;
        this.ctx.reportPortError(e);
      });
  }

  private waitFor(p: Promise<void>): void {
    // appends of broker-made messages (wills, admin publishes) are never taken by an ack: keep few
    if (this.waits.length >= 1024) this.waits.splice(0, 512);
    this.stats.appended++;
    p.catch(() => {
      this.stats.appendFailures++;
    });
    this.waits.push(p);
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
        for (const { message: stored, target, forClient } of batch) {
          const message = fromStored(stored, now);
          if (forClient !== undefined) {
            if (!deliverToClient(ctx, forClient, stored, message)) ctx.observer.messageDropped(message.qos, 'no_subscribers');
          } else if (target === undefined) ctx.router.publish(message, message.publisherId);
          else if (this.shared !== undefined) this.shared.deliver(message, stored, target);
          else ctx.router.publishToGroup(target.filter, target.group, message);
        }
      } finally {
        endFeed();
      }
    });
  }

  /**
   * Runs `deliver` and returns the snapshots of the local persistent sessions whose outbound
   * state it changed (taken now, so that they are written before any later save of the same session).
   */
  savingTouched(deliver: () => void, sessions: Iterable<Session> = this.ctx.sessions.values()): SessionSnapshot[] {
    const before = new Map<Session, Signature>();
    for (const s of sessions) if (s.persistent && !s.ended) before.set(s, { gen: s.matchGen, queued: s.queue.length, inflight: s.inflight.size });
    deliver();
    const snapshots: SessionSnapshot[] = [];
    for (const [s, sig] of before) {
      if (s.ended || (s.matchGen === sig.gen && s.queue.length === sig.queued && s.inflight.size === sig.inflight)) continue;
      this.toSave.delete(s);
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
      append: (nodeId: string, stored: StoredMessage, clientId: string): void => {
        this.port.append(nodeId, stored, undefined, clientId).catch((e: unknown) => this.ctx.reportPortError(e));
      },
    };
    const p: Promise<void> = retireStub(this.ctx, session, newOwner, view, out, caught)
      .catch((e: unknown) => this.ctx.reportPortError(e))
      .finally(() => this.stubs.delete(p));
    this.stubs.add(p);
    return true;
  }

  /** A persistent session changed (subscriptions): saved at the end of this turn. */
  sessionChanged(session: Session): void {
    if (!session.persistent || session.ended) return;
    this.toSave.add(session);
    if (this.saveScheduled) return;
    this.saveScheduled = true;
    setImmediate(() => this.flushSaves());
  }

  private flushSaves(): void {
    this.saveScheduled = false;
    const store = this.ctx.ports.sessions;
    const sessions = [...this.toSave];
    this.toSave.clear();
    if (store === undefined) return;
    for (const s of sessions) {
      if (s.ended || this.ctx.sessions.get(s.clientId) !== s) continue;
      this.stats.sessionsSaved++;
      store.save(s.snapshot()).catch((e: unknown) => this.ctx.reportPortError(e));
    }
  }

  /** CONNECT accepted: store the will, index and save a persistent session. */
  connected(session: Session, will: Will | undefined): void {
    const ctx = this.ctx;
    const clientId = session.clientId;
    if (will !== undefined) {
      const delaySeconds = session.protocolVersion === 5 ? (will.properties?.willDelayInterval ?? 0) : 0;
      let properties = will.properties;
      if (properties?.willDelayInterval !== undefined) {
        const { willDelayInterval: _d, ...rest } = properties;
        properties = Object.keys(rest).length > 0 ? rest : undefined;
      }
      const message = toStored(createMessage(will.topic, Buffer.from(will.payload), will.qos, will.retain, properties, clientId, ctx.clock.now()));
      this.willsStored.add(clientId);
      this.port.setWill(ctx.nodeId, { clientId, message, delaySeconds }).catch((e: unknown) => ctx.reportPortError(e));
    } else if (this.willsStored.delete(clientId)) {
      this.port.deleteWill(ctx.nodeId, clientId).catch((e: unknown) => ctx.reportPortError(e));
    }
    if (session.persistent) {
      this.port.indexSession(ctx.nodeId, clientId).catch((e: unknown) => ctx.reportPortError(e));
      this.sessionChanged(session);
    }
  }

  /** The connection ended on this node: this node handles (or discarded) the will. */
  disconnected(clientId: string): void {
    if (!this.willsStored.delete(clientId)) return;
    this.port.deleteWill(this.ctx.nodeId, clientId).catch((e: unknown) => this.ctx.reportPortError(e));
  }

  /** The session ended or moved to another node: no longer this node's to adopt. */
  sessionGone(clientId: string): void {
    this.disconnected(clientId);
    this.port.unindexSession(this.ctx.nodeId, clientId).catch((e: unknown) => this.ctx.reportPortError(e));
  }
}
