/**
 * One client's session: the state that outlives a network connection (MQTT 5.0 4.1).
 *
 * Outbound delivery lives here: a message for this session is written at once when the client
 * is connected, its socket is writable and (QoS > 0) its in-flight window has room; otherwise it
 * is queued in a bounded FIFO (overflow policy from the limits). The window is the smaller of
 * our maxInflight and the client's Receive Maximum [MQTT-3.3.4-7]. Packet identifiers are
 * allocated from a rotating counter, skipping identifiers still in flight [MQTT-2.2.1-3].
 *
 * The session does not encode packets: the connected channel implements `Outlet` and does the
 * encoding (shared frames, topic aliases, maximum packet size).
 */
import type { ProtocolVersion, QoS } from '@mqtt-broker/mqtt-codec';
import type { AuthAttributes, ClientIdentity } from '../api.js';
import type { TimerHandle } from '../clock.js';
import type { EngineContext } from '../engine-context.js';
import type { SessionSnapshot, StoredIdentity, StoredSubscription } from '../ports.js';
import type { SharedGroup, SubEntry } from '../router/sub-entry.js';
import { FLOW_STALL_ASSURED_MS, FLOW_STALL_MS, type Feeder, flowHigh, flowLow, noteCongested, releaseFeeders, releaseFeedersSoon } from './flow-control.js';
import { ensureOwned, fromStored, isExpired, type Message, toStored } from './message.js';
import { RingQueue } from './ring-queue.js';

/** What a session needs from its live connection. Implemented by the channel. */
export interface Outlet {
  /** False while the socket is above its high-water mark. */
  readonly writable: boolean;
  /** Outbound QoS 1/2 messages allowed in flight. */
  readonly sendWindow: number;
  readonly protocolVersion: ProtocolVersion;
  /** Writes a PUBLISH; returns false when it was not written (too large for the client). */
  sendPublish(message: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined, packetId: number, dup: boolean): boolean;
  sendPubrel(packetId: number): void;
}

export interface Inflight {
  packetId: number;
  /** 0: PUBLISH sent, waiting for PUBACK/PUBREC; 1: PUBREL sent, waiting for PUBCOMP. */
  state: 0 | 1;
  qos: 1 | 2;
  retain: boolean;
  message: Message | undefined;
  subscriptionIds: number[] | undefined;
  group: SharedGroup | undefined;
}

export interface Pending {
  message: Message;
  qos: QoS;
  retain: boolean;
  subscriptionIds: number[] | undefined;
  group: SharedGroup | undefined;
}

export interface PendingWill {
  message: Message;
  timer: TimerHandle | undefined;
}

export class Session {
  readonly clientId: string;
  readonly identity: ClientIdentity;
  protocolVersion: ProtocolVersion;
  outlet: Outlet | undefined = undefined;
  /** Subscriptions by the filter as subscribed (with any `$share/{group}/` prefix). */
  readonly subscriptions = new Map<string, SubEntry>();
  // Outbound and QoS 2 state is created on first use: most connections (idle devices, QoS 0
  // traffic) never need it, and three empty collections cost ~600 bytes per connection. Reads go
  // through getters that return shared empty instances, which are never written to.
  private inflightMap: Map<number, Inflight> | undefined = undefined;
  private pending: RingQueue<Pending> | undefined = undefined;
  private qos2In: Set<number> | undefined = undefined;
  /** Seconds the session outlives its connection; 0xFFFFFFFF = never. */
  expiryInterval = 0;
  expiryTimer: TimerHandle | undefined = undefined;
  disconnectedAt: number | undefined = undefined;
  pendingWill: PendingWill | undefined = undefined;
  /** Set once the session has ended; late callbacks must ignore it. */
  ended = false;
  /** A copy the router must pass this session by: it reached the session by another path first (cluster/durable.ts). */
  skipCopy: Message | undefined = undefined;
  /** Connections held back because this session's queue is above the high-water mark (flow-control.ts). */
  feeders: Set<Feeder> | undefined = undefined;
  /** Clock ms of the last send from the queue, or of its first entry since it was empty (isStalled). */
  private progressAt = 0;
  /** Queued messages at QoS 1 or 2 (isStalled waits longer before letting those overflow). */
  private queuedAssured = 0;
  private nextPacketId = 1;

  // Scratch fields for the router's per-publish de-duplication (one copy per session).
  matchGen = 0;
  matchQos: QoS = 0;
  matchRetainAsPublished = false;
  matchSubIds: number[] | undefined = undefined;

  constructor(
    readonly ctx: EngineContext,
    clientId: string,
    username: string | undefined,
    protocolVersion: ProtocolVersion,
  ) {
    this.clientId = clientId;
    this.identity = { clientId, username };
    this.protocolVersion = protocolVersion;
  }

  /** Outbound QoS 1/2 messages awaiting acknowledgement, by packet id (read-only view). */
  get inflight(): ReadonlyMap<number, Inflight> {
    return this.inflightMap ?? EMPTY_INFLIGHT;
  }

  /** Messages waiting for the connection, the socket or the in-flight window (read it, do not write it). */
  get queue(): RingQueue<Pending> {
    return this.pending ?? EMPTY_QUEUE;
  }

  /** Inbound QoS 2 packet ids for which PUBREC was sent and PUBREL not yet received [MQTT-4.3.3-8]. */
  get inboundQos2(): ReadonlySet<number> {
    return this.qos2In ?? EMPTY_IDS;
  }

  addInboundQos2(packetId: number): void {
    (this.qos2In ??= new Set()).add(packetId);
  }

  /** Returns true when the id was known. */
  deleteInboundQos2(packetId: number): boolean {
    const set = this.qos2In;
    if (set === undefined || !set.delete(packetId)) return false;
    if (set.size === 0) this.qos2In = undefined;
    return true;
  }

  /** The identity of the connection that now holds this session (attributes from its authenticator). */
  setIdentity(username: string | undefined, attributes: AuthAttributes | undefined): void {
    const identity = this.identity as { username: string | undefined; attributes?: AuthAttributes };
    identity.username = username;
    if (attributes === undefined) delete identity.attributes;
    else identity.attributes = attributes;
  }

  get persistent(): boolean {
    return this.expiryInterval > 0;
  }

  /** Hand one message to this session (already filtered, QoS already downgraded). */
  deliver(message: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined, group: SharedGroup | undefined): void {
    if (message === this.skipCopy) return;
    const out = this.outlet;
    const ctx = this.ctx;
    if (out === undefined) {
      // QoS 0 is not queued for offline clients (like Mosquitto's default) [MQTT-3.1.2-5 allows either].
      if (qos === 0) {
        ctx.observer.messageDropped(0, 'qos0_offline');
        return;
      }
      this.enqueue(message, qos, retain, subscriptionIds, group);
      return;
    }
    if (qos === 0) {
      if (out.writable) {
        if (out.sendPublish(message, 0, retain, subscriptionIds, 0, false)) ctx.observer.messageDelivered(0);
        return;
      }
      this.enqueue(message, 0, retain, subscriptionIds, group);
      return;
    }
    if (out.writable && (this.pending === undefined || this.pending.length === 0) && this.inflight.size < out.sendWindow) {
      this.sendNew(out, message, qos, retain, subscriptionIds, group);
      return;
    }
    if (this.inflight.size >= out.sendWindow) ctx.observer.limitHit('max_inflight');
    this.enqueue(message, qos, retain, subscriptionIds, group);
  }

  private sendNew(out: Outlet, message: Message, qos: 1 | 2, retain: boolean, subIds: number[] | undefined, group: SharedGroup | undefined): void {
    const packetId = this.allocatePacketId();
    // In flight before the write: an acknowledgement may arrive re-entrantly from the write.
    (this.inflightMap ??= new Map()).set(packetId, { packetId, state: 0, qos, retain, message, subscriptionIds: subIds, group });
    this.ctx.counters.inflight++;
    if (!out.sendPublish(message, qos, retain, subIds, packetId, false)) {
      this.completeInflight(packetId); // dropped as too large
      return;
    }
    this.ctx.observer.messageDelivered(qos);
  }

  private enqueue(message: Message, qos: QoS, retain: boolean, subIds: number[] | undefined, group: SharedGroup | undefined): void {
    const ctx = this.ctx;
    const limit = ctx.limits.maxQueuedMessages;
    const queue = (this.pending ??= new RingQueue());
    // A connected client that falls behind slows its publishers down (TCP backpressure) before
    // its queue reaches the limit; an offline one cannot drain, so only the limit applies to it.
    if (this.outlet !== undefined && queue.length >= flowHigh(ctx)) noteCongested(this);
    if (queue.length >= limit) {
      ctx.observer.limitHit('max_queued_messages');
      if (qos === 0) {
        ctx.observer.messageDropped(0, 'client_slow');
        return;
      }
      if (ctx.limits.queueOverflow === 'drop_newest' || limit === 0) {
        ctx.observer.messageDropped(qos, 'queue_full');
        return;
      }
      const oldest = queue.shift()!;
      ctx.counters.queued--;
      if (oldest.qos > 0) this.queuedAssured--;
      ctx.observer.messageDropped(oldest.qos, 'queue_full');
    }
    ensureOwned(message);
    if (queue.length === 0) this.progressAt = ctx.clock.now();
    queue.push({ message, qos, retain, subscriptionIds: subIds, group });
    ctx.counters.queued++;
    if (qos > 0) this.queuedAssured++;
  }

  /** Sends queued messages while the socket is writable and the window has room. */
  pump(): void {
    const out = this.outlet;
    const queue = this.pending;
    if (out === undefined || queue === undefined) return;
    const ctx = this.ctx;
    const before = queue.length;
    while (queue.length > 0 && out.writable) {
      const head = queue.peek()!;
      if (head.qos > 0 && this.inflight.size >= out.sendWindow) break;
      queue.shift();
      ctx.counters.queued--;
      if (head.qos > 0) this.queuedAssured--;
      // [MQTT-3.3.2-5] an expired message is not delivered
      if (isExpired(head.message, ctx.clock.now())) {
        ctx.observer.messageDropped(head.qos, 'expired');
        continue;
      }
      if (head.qos === 0) {
        if (out.sendPublish(head.message, 0, head.retain, head.subscriptionIds, 0, false)) ctx.observer.messageDelivered(0);
      } else {
        this.sendNew(out, head.message, head.qos, head.retain, head.subscriptionIds, head.group);
      }
    }
    if (queue.length < before) this.progressAt = ctx.clock.now();
    if (this.feeders !== undefined && queue.length <= flowLow(ctx)) releaseFeedersSoon(this);
  }

  /**
   * Connected with messages queued, and none sent for FLOW_STALL_MS (FLOW_STALL_ASSURED_MS while
   * QoS 1/2 messages are queued): a subscriber that stopped reading (flow-control.ts).
   */
  isStalled(now: number): boolean {
    if (this.outlet === undefined || this.queue.length === 0) return false;
    return now - this.progressAt >= (this.queuedAssured > 0 ? FLOW_STALL_ASSURED_MS : FLOW_STALL_MS);
  }

  /** [MQTT-4.4.0-1] On a resumed session resend unacknowledged PUBLISH (DUP=1) and PUBREL, in order. */
  resendInflight(): void {
    const out = this.outlet;
    if (out === undefined) return;
    for (const entry of this.inflight.values()) {
      if (entry.state === 1) out.sendPubrel(entry.packetId);
      else if (entry.message !== undefined) {
        if (!out.sendPublish(entry.message, entry.qos, entry.retain, entry.subscriptionIds, entry.packetId, true)) this.completeInflight(entry.packetId);
      }
    }
  }

  /** PUBACK (QoS 1). Returns false for an unknown packet id. */
  onPuback(packetId: number): boolean {
    const entry = this.inflight.get(packetId);
    if (entry === undefined || entry.qos !== 1) return false;
    this.completeInflight(packetId);
    this.pump();
    return true;
  }

  /** PUBREC (QoS 2). Returns 'pubrel' to answer with PUBREL, 'done' when refused, 'unknown'. */
  onPubrec(packetId: number, reasonCode: number): 'pubrel' | 'done' | 'unknown' {
    const entry = this.inflight.get(packetId);
    if (entry === undefined || entry.qos !== 2) return 'unknown';
    if (reasonCode >= 0x80) {
      // [MQTT-4.3.3-?] a PUBREC with a failure code ends the exchange
      this.completeInflight(packetId);
      this.pump();
      return 'done';
    }
    entry.state = 1;
    entry.message = undefined;
    entry.subscriptionIds = undefined;
    return 'pubrel';
  }

  /** PUBCOMP. Returns false for an unknown packet id. */
  onPubcomp(packetId: number): boolean {
    const entry = this.inflight.get(packetId);
    if (entry === undefined || entry.state !== 1) return false;
    this.completeInflight(packetId);
    this.pump();
    return true;
  }

  completeInflight(packetId: number): void {
    const map = this.inflightMap;
    if (map === undefined || !map.delete(packetId)) return;
    this.ctx.counters.inflight--;
  }

  /** Drops all outbound state (session end). */
  clearOutbound(): void {
    releaseFeeders(this);
    this.ctx.counters.inflight -= this.inflight.size;
    this.ctx.counters.queued -= this.queue.length;
    this.queuedAssured = 0;
    this.inflightMap = undefined;
    this.pending = undefined;
  }

  private allocatePacketId(): number {
    let id = this.nextPacketId;
    for (let i = 0; i < 65535; i++) {
      if (!this.inflight.has(id)) break;
      id = id === 65535 ? 1 : id + 1;
    }
    this.nextPacketId = id === 65535 ? 1 : id + 1;
    return id;
  }

  snapshot(): SessionSnapshot {
    const subscriptions: StoredSubscription[] = [];
    for (const [topicFilter, e] of this.subscriptions) {
      const s: StoredSubscription = {
        topicFilter,
        qos: e.qos,
        noLocal: e.noLocal,
        retainAsPublished: e.retainAsPublished,
        retainHandling: e.retainHandling,
      };
      if (e.subscriptionIds !== undefined) s.subscriptionIdentifier = e.subscriptionIds[0];
      subscriptions.push(s);
    }
    return {
      clientId: this.clientId,
      protocolVersion: this.protocolVersion,
      expiryIntervalSeconds: this.expiryInterval,
      disconnectedAt: this.disconnectedAt,
      subscriptions,
      inflight: [...this.inflight.values()].map((e) => ({
        packetId: e.packetId,
        state: e.state === 0 ? ('publish' as const) : ('pubrel' as const),
        qos: e.qos,
        retain: e.retain,
        ...(e.message !== undefined ? { message: toStored(e.message) } : {}),
        ...(e.subscriptionIds !== undefined ? { subscriptionIds: e.subscriptionIds } : {}),
      })),
      queued: [...this.queue].map((p) => ({
        message: toStored(p.message),
        qos: p.qos,
        retain: p.retain,
        ...(p.subscriptionIds !== undefined ? { subscriptionIds: p.subscriptionIds } : {}),
      })),
      inboundQos2: [...this.inboundQos2],
      nextPacketId: this.nextPacketId,
      identity: storedIdentity(this.identity),
    };
  }

  /** Restores outbound and inbound QoS state from a snapshot (subscriptions are restored by the router). */
  restoreState(snapshot: SessionSnapshot): void {
    const now = this.ctx.clock.now();
    this.expiryInterval = snapshot.expiryIntervalSeconds;
    this.nextPacketId = snapshot.nextPacketId;
    for (const id of snapshot.inboundQos2) this.addInboundQos2(id);
    for (const e of snapshot.inflight) {
      (this.inflightMap ??= new Map()).set(e.packetId, {
        packetId: e.packetId,
        state: e.state === 'publish' ? 0 : 1,
        qos: e.qos,
        retain: e.retain,
        message: e.message !== undefined ? fromStored(e.message, now) : undefined,
        subscriptionIds: e.subscriptionIds,
        group: undefined,
      });
      this.ctx.counters.inflight++;
    }
    for (const q of snapshot.queued) {
      (this.pending ??= new RingQueue()).push({ message: fromStored(q.message, now), qos: q.qos, retain: q.retain, subscriptionIds: q.subscriptionIds, group: undefined });
      if (q.qos > 0) this.queuedAssured++;
      this.ctx.counters.queued++;
    }
  }
}

function storedIdentity(identity: ClientIdentity): StoredIdentity {
  return identity.attributes === undefined ? { username: identity.username } : { username: identity.username, attributes: identity.attributes };
}

const EMPTY_INFLIGHT: ReadonlyMap<number, Inflight> = new Map();
const EMPTY_QUEUE = new RingQueue<Pending>();
const EMPTY_IDS: ReadonlySet<number> = new Set();
