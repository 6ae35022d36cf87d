/**
 * Wills in a cluster (docs/cluster.md, "Node failure" and "Drain").
 *
 * Every will of a client connected here is kept in this node's will hash (DurablePort.setWill),
 * with the client's user name so that whoever publishes it runs the same authorizer check
 * [MQTT-3.1.2-8]. Its `dueAt` tells its state:
 * - 0: the connection is alive. If the node dies, a survivor publishes it at once (the
 *   connection died with the node).
 * - > 0: the connection ended and the will waits, either for its Will Delay Interval (the local
 *   timer of session/will.ts; due at the delay or the session's end, whichever is first
 *   [MQTT-3.1.3-9]) or, after the server closed the connection on shutdown, for
 *   max(Will Delay Interval, drain grace) (`held` here). It stays in the hash until it is
 *   published or discarded, so a node death during the wait hands it to the survivor.
 *
 * A held will (a shutdown hold, or a pending will taken from a dead or drained node) is moved to
 * this node's hash and waits on a timer. It is discarded when its client connects here (the new
 * CONNECT replaces it) or its session is taken over by another node; at its due time it is
 * published only if the client registry shows no newer connection: no owner at all, the node the
 * will came from, or this node's own adoption of the session (same epoch). Anything else means
 * the client connected somewhere meanwhile, which discards the will [MQTT-3.1.3-9].
 */
import type { Will } from '@mqtt-broker/mqtt-codec';
import type { EngineContext } from '../engine-context.js';
import type { TimerHandle } from '../clock.js';
import { createMessage, fromStored, type Message, toStored } from '../session/message.js';
import type { Session } from '../session/session.js';
import { publishWill } from '../session/will.js';
import type { DurablePort, StoredWill } from './durable-port.js';

/** Default grace of a will whose connection a shutdown (drain) closed. */
export const DEFAULT_DRAIN_WILL_GRACE_MS = 30_000;
const NEVER_EXPIRES = 0xffffffff;
/** At start, a previous run's wills wait this long at least: the route replica is loading. */
const RESTART_HOLD_MS = 2000;

interface Held {
  will: StoredWill;
  /** The node the will was stored on before (this node for a shutdown hold). */
  from: string;
  /** The registration epoch this node got when it adopted the client's session. */
  adoptedEpoch: number | undefined;
  timer: TimerHandle;
}

export class ClusterWills {
  /** Clients whose will is in this node's hash for a connection of this node (alive, or in its Will Delay). */
  private readonly live = new Set<string>();
  private readonly held = new Map<string, Held>();
  private stopped = false;
  /** Wills published when due, discarded because the client came back (tests, metrics). */
  readonly stats = { heldPublished: 0, heldDiscarded: 0 };

  constructor(
    private readonly ctx: EngineContext,
    private readonly port: DurablePort,
  ) {}

  /**
   * Takes the wills a previous run of this node id left (it stopped with no survivor to take
   * them): issued before any CONNECT is served, so a new connection's will is never taken.
   */
  start(): Promise<number> {
    return this.adopt(this.ctx.nodeId, RESTART_HOLD_MS);
  }

  /** Timers stop; the hash keeps the waiting wills for the survivor that cleans up after this node. */
  stop(): void {
    this.stopped = true;
    for (const h of this.held.values()) this.ctx.clock.clearTimer(h.timer);
    this.held.clear();
  }

  /** CONNECT accepted: the will is stored (replacing whatever this client had waiting here). */
  connected(session: Session, will: Will | undefined): void {
    const clientId = session.clientId;
    const wasHeld = this.release(clientId); // [MQTT-3.1.3-9] reconnected: the waiting will is discarded
    if (will !== undefined) {
      const delaySeconds = session.protocolVersion === 5 ? (will.properties?.willDelayInterval ?? 0) : 0;
      let properties = will.properties;
      if (properties?.willDelayInterval !== undefined) {
        const { willDelayInterval: _d, ...rest } = properties;
        properties = Object.keys(rest).length > 0 ? rest : undefined;
      }
      const message = toStored(createMessage(will.topic, Buffer.from(will.payload), will.qos, will.retain, properties, clientId, this.ctx.clock.now()));
      this.live.add(clientId);
      this.set({ clientId, message, delaySeconds, dueAt: 0, ...this.user(session) });
    } else if (this.live.delete(clientId) || wasHeld) {
      this.delete(clientId);
    }
  }

  /** A v5 will started its Will Delay Interval here (session/will.ts): stored with its due time. */
  pending(session: Session, message: Message, delaySeconds: number, dueAt: number): void {
    if (!this.live.has(session.clientId)) return;
    this.set({ clientId: session.clientId, message: toStored(message), delaySeconds, dueAt, ...this.user(session) });
  }

  /** The will of `clientId`'s last connection here was published (or its session ended): no longer stored. */
  done(clientId: string): void {
    if (this.live.delete(clientId)) this.delete(clientId);
  }

  /**
   * The server closed the connection on shutdown: the will waits max(Will Delay Interval, drain
   * grace) for the client to come back, at most until its session would end.
   */
  holdOnShutdown(session: Session, message: Message, delaySeconds: number): void {
    const clientId = session.clientId;
    if (!this.live.delete(clientId)) return;
    let waitMs = Math.max(delaySeconds * 1000, this.port.drainWillGraceMs ?? DEFAULT_DRAIN_WILL_GRACE_MS);
    const expiry = session.expiryInterval;
    // a persistent session ends at its expiry, and its will with it [MQTT-3.1.3-9]; a clean session
    // ends with the connection, which the server closed: the client gets the whole grace
    if (expiry > 0 && expiry !== NEVER_EXPIRES) waitMs = Math.min(waitMs, expiry * 1000);
    const will: StoredWill = { clientId, message: toStored(message), delaySeconds, dueAt: Date.now() + waitMs, ...this.user(session) };
    this.set(will);
    this.hold(will, this.ctx.nodeId);
  }

  /** The connection ended on this node: a will that is not waiting here is deleted (published or discarded). */
  disconnected(clientId: string): void {
    if (this.ctx.sessions.get(clientId)?.pendingWill !== undefined) return; // in its Will Delay: stays stored
    if (this.live.delete(clientId)) this.delete(clientId);
  }

  /**
   * The session ended here (broker.endSession: it was removed from the sessions and its pending
   * will published; a shutdown hold stays), or was handed over to another node (takeover.ts: told
   * while the session is still registered here): then its client is connected there, and any will
   * waiting here is discarded [MQTT-3.1.3-9]. (A session dropped because the store fenced it is
   * removed first, like an ended one: a shutdown hold of it, if any, stays until its due check.)
   */
  sessionGone(clientId: string): void {
    const s = this.ctx.sessions.get(clientId);
    const handedOver = s !== undefined && !s.ended;
    const wasHeld = handedOver && this.release(clientId);
    if (this.live.delete(clientId) || wasHeld) this.delete(clientId);
  }

  /**
   * After `nodeId` died or left (adoption.ts), or at start for this node's previous run: takes its
   * wills; publishes those due (a live connection's will: at once) and holds the others here.
   * Returns how many were published now.
   */
  async adopt(nodeId: string, minHoldMs = 0): Promise<number> {
    const wills = await this.port.takeWills(nodeId);
    let published = 0;
    const now = Date.now();
    for (const will of wills) {
      if (minHoldMs > 0) will.dueAt = Math.max(will.dueAt ?? 0, now + minHoldMs);
      if ((will.dueAt ?? 0) <= now) {
        this.publish(will);
        published++;
        continue;
      }
      this.set(will);
      this.hold(will, nodeId);
    }
    return published;
  }

  /** This node adopted `clientId`'s session with registration `epoch`: that is not a reconnection. */
  adoptedClient(clientId: string, epoch: number): void {
    const h = this.held.get(clientId);
    if (h !== undefined) h.adoptedEpoch = epoch;
  }

  private hold(will: StoredWill, from: string): void {
    this.release(will.clientId);
    if (this.stopped) return;
    const delay = Math.max(0, (will.dueAt ?? 0) - Date.now());
    const timer = this.ctx.clock.setTimer(delay, () => {
      this.due(will.clientId).catch((e: unknown) => this.ctx.reportPortError(e));
    });
    this.held.set(will.clientId, { will, from, adoptedEpoch: undefined, timer });
  }

  /** Forgets a held will (its timer); true if there was one. */
  private release(clientId: string): boolean {
    const h = this.held.get(clientId);
    if (h === undefined) return false;
    this.ctx.clock.clearTimer(h.timer);
    this.held.delete(clientId);
    return true;
  }

  private async due(clientId: string): Promise<void> {
    const h = this.held.get(clientId);
    if (h === undefined) return;
    const registration = await this.ctx.ports.registry?.lookup(clientId).catch(() => undefined);
    if (this.held.get(clientId) !== h) return; // discarded or replaced meanwhile
    this.held.delete(clientId);
    const self = this.ctx.nodeId;
    const here = this.ctx.sessions.get(clientId);
    const back =
      (here !== undefined && here.outlet !== undefined) ||
      (registration !== undefined && registration.nodeId !== h.from && !(registration.nodeId === self && (h.from === self || registration.epoch === h.adoptedEpoch)));
    if (back) this.stats.heldDiscarded++;
    else {
      this.stats.heldPublished++;
      this.publish(h.will);
    }
    if (!this.live.has(clientId)) this.delete(clientId);
  }

  private publish(will: StoredWill): void {
    publishWill(this.ctx, { clientId: will.clientId, username: will.username }, fromStored(will.message, this.ctx.clock.now()));
  }

  private user(session: Session): { username?: string } {
    const username = session.identity.username;
    return username !== undefined ? { username } : {};
  }

  private set(will: StoredWill): void {
    this.port.setWill(this.ctx.nodeId, will).catch((e: unknown) => this.ctx.reportPortError(e));
  }

  private delete(clientId: string): void {
    this.port.deleteWill(this.ctx.nodeId, clientId).catch((e: unknown) => this.ctx.reportPortError(e));
  }
}
