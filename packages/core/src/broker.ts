/**
 * createBroker(): wires the engine (channels, sessions, router, retained messages, $SYS) and
 * implements the Broker interface of api.ts. The engine context object is shared by every part;
 * session lifecycle (end, offline/expiry, persistence through the SessionStore port) lives here.
 */
import { ReasonCode } from '@mqtt-broker/mqtt-codec';
import type { Authenticator, Authorizer, Broker, BrokerLimits, BrokerOptions, BrokerStats, ClientConnection, ConnectionHandler } from './api.js';
import { Channel, ChannelState } from './channel/channel.js';
import { type Clock, type TimerHandle, systemClock } from './clock.js';
import type { EngineContext, EngineCounters } from './engine-context.js';
import { DEFAULT_LIMITS } from './limits.js';
import { ConnectRate } from './quota/connect-rate.js';
import { UserQuotas, userQuotasConfigured } from './quota/user-quotas.js';
import { noopObserver } from './observer.js';
import { adoptDeadNode } from './cluster/adoption.js';
import { ClusterDurability, durabilityOf } from './cluster/durable.js';
import type { DurablePort } from './cluster/durable-port.js';
import { startRetainedSync } from './cluster/retained-sync.js';
import { handOver, releaseClientId } from './cluster/takeover.js';
import type { BrokerPorts } from './ports.js';
import { ClusterLink } from './router/cluster-link.js';
import { RetainedMessages } from './router/retained-store.js';
import { Router } from './router/router.js';
import { publishSysTopics } from './router/sys-topics.js';
import type { Message } from './session/message.js';
import type { Session } from './session/session.js';
import { cancelWill, firePendingWill } from './session/will.js';

/** Options beyond api.ts's BrokerOptions: an injectable clock and the ports. */
export interface EngineOptions extends BrokerOptions {
  clock?: Clock;
  ports?: BrokerPorts;
  /** Durable cross-node QoS 1/2 and node-failure cleanup (cluster mode; cluster/durable-port.ts). */
  durable?: DurablePort;
  /** Called when a port write fails (the engine carries on with its in-memory state). */
  onPortError?: (error: unknown) => void;
}

/** Exported for the admin facade (src/admin.ts) only; not re-exported from the package. */
export class Engine implements Broker, EngineContext {
  readonly nodeId: string;
  readonly version: string;
  readonly limits: BrokerLimits;
  readonly observer;
  readonly clock: Clock;
  readonly ports: BrokerPorts;
  authenticator: Authenticator | undefined;
  authorizer: Authorizer | undefined;
  readonly counters: EngineCounters = {
    connected: 0,
    connectionsTotal: 0,
    inflight: 0,
    queued: 0,
    bytesReceived: 0,
    bytesSent: 0,
    messagesReceived: 0,
    messagesSent: 0,
    publishReceived: 0,
    publishSent: 0,
  };
  readonly router: Router;
  readonly retained: RetainedMessages;
  readonly sessions = new Map<string, Session>();
  readonly userQuotas: UserQuotas | undefined;
  readonly connectRate: ConnectRate | undefined;
  readonly channels = new Set<Channel>();
  draining = false;
  private closed = false;
  readonly startedAt: number;
  /** When each channel's socket was accepted (the admin API's "connected since"). */
  readonly acceptedAt = new WeakMap<Channel, number>();
  private sysTimer: TimerHandle | undefined = undefined;
  private readonly portErrorHandler: (error: unknown) => void;
  private readonly pendingPortWrites = new Set<Promise<unknown>>();
  /** Resolves when state from the ports is loaded (retained messages, the route replica). */
  readonly ready: Promise<void>;
  private readonly cluster: ClusterLink | undefined;
  private readonly durability: ClusterDurability | undefined = undefined;
  private stopRetainedSync: (() => void) | undefined = undefined;
  private stopTakeovers: (() => Promise<void>) | undefined = undefined;

  constructor(options: EngineOptions) {
    this.nodeId = options.nodeId;
    this.version = options.version;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.observer = options.observer ?? noopObserver;
    this.clock = options.clock ?? systemClock;
    this.ports = options.ports ?? {};
    this.authenticator = options.authenticator;
    this.authorizer = options.authorizer;
    this.portErrorHandler = options.onPortError ?? (() => {});
    this.router = new Router(this);
    this.retained = new RetainedMessages(this.ports.retained, (e) => this.reportPortError(e));
    this.startedAt = this.clock.now();
    this.userQuotas = userQuotasConfigured(this.limits) ? new UserQuotas(this.limits) : undefined;
    const connectRate = this.limits.connectRatePerAddress;
    this.connectRate = connectRate > 0 ? new ConnectRate(connectRate, this.limits.quotaBurstSeconds, this.startedAt) : undefined;
    const retainPort = this.ports.retained;
    const loading: Array<Promise<void>> = [];
    if (retainPort?.watch !== undefined) {
      const sync = startRetainedSync(this, retainPort);
      this.stopRetainedSync = sync.stop;
      loading.push(sync.ready);
    } else if (retainPort !== undefined) {
      loading.push(
        retainPort.loadAll().then(
          (messages) => this.retained.load(messages, this.clock.now()),
          (e: unknown) => this.reportPortError(e),
        ),
      );
    }
    const durablePort = options.durable;
    if (durablePort !== undefined) {
      const durability = new ClusterDurability(this, durablePort);
      this.durability = durability;
      durablePort.onNodeDead((deadNodeId) => adoptDeadNode(durability, deadNodeId));
    }
    if (this.ports.routes !== undefined && this.ports.bus !== undefined) {
      const link = new ClusterLink(this, this.ports.routes, this.ports.bus, this.durability);
      this.cluster = link;
      this.router.onFilterAdded = (f) => link.filterAdded(f);
      this.router.onFilterRemoved = (f) => link.filterRemoved(f);
      const shared = link.shared;
      if (shared !== undefined) this.router.onSharedMembers = (g) => shared.membersChanged(g);
      loading.push(link.start().catch((e: unknown) => this.reportPortError(e)));
    }
    const bus = this.ports.bus;
    if (this.ports.registry !== undefined && bus?.serveTakeovers !== undefined) {
      loading.push(
        bus.serveTakeovers(this.nodeId, (clientId) => handOver(this, clientId)).then(
          (stop) => {
            this.stopTakeovers = stop;
          },
          (e: unknown) => this.reportPortError(e),
        ),
      );
    }
    if (this.durability !== undefined) loading.push(this.durability.start().catch((e: unknown) => this.reportPortError(e)));
    this.ports.sessions?.onFenced?.((clientId) => dropFenced(this, clientId));
    this.ready = Promise.all(loading).then(() => {});
    const interval = options.sysIntervalSeconds ?? 0;
    if (interval > 0) this.scheduleSys(interval * 1000);
  }

  reportPortError(error: unknown): void {
    this.portErrorHandler(error);
  }

  private track(promise: Promise<unknown>): void {
    const p = promise.catch((e: unknown) => this.reportPortError(e)).finally(() => this.pendingPortWrites.delete(p));
    this.pendingPortWrites.add(p);
  }

  private scheduleSys(ms: number): void {
    this.sysTimer = this.clock.setTimer(ms, () => {
      if (this.closed) return;
      publishSysTopics(this, this.stats(), this.startedAt);
      this.scheduleSys(ms);
    });
  }

  // ---- Broker ----

  accept(connection: ClientConnection): ConnectionHandler {
    this.observer.connectionOpened(connection.transport);
    const channel = new Channel(this, connection);
    this.acceptedAt.set(channel, this.clock.now());
    if (this.closed) {
      channel.closeBeforeConnect('server_shutdown', 'broker closed');
      return channel;
    }
    this.channels.add(channel);
    const onClose = channel.onClose.bind(channel);
    channel.onClose = (hadError: boolean) => {
      this.channels.delete(channel);
      onClose(hadError);
    };
    return channel;
  }

  stats(): BrokerStats {
    let online = 0;
    for (const s of this.sessions.values()) if (s.outlet !== undefined) online++;
    return {
      connectedClients: this.counters.connected,
      sessionsOnline: online,
      sessionsOffline: this.sessions.size - online,
      subscriptions: this.router.subscriptionCount,
      sharedSubscriptions: this.router.sharedSubscriptionCount,
      retainedMessages: this.retained.size,
      inflightMessages: this.counters.inflight,
      queuedMessages: this.counters.queued,
    };
  }

  setAuth(auth: { authenticator?: Authenticator; authorizer?: Authorizer }): void {
    if ('authenticator' in auth) this.authenticator = auth.authenticator;
    if ('authorizer' in auth) this.authorizer = auth.authorizer;
  }

  async drain(durationMs: number, serverReference?: string): Promise<void> {
    this.draining = true;
    const connected = [...this.channels].filter((c) => c.state === ChannelState.Connected);
    // spread over the window in at most 100 batches (not one timer per client)
    const batches = Math.min(connected.length, 100);
    const step = batches > 0 ? Math.max(0, durationMs) / batches : 0;
    const perBatch = batches > 0 ? Math.ceil(connected.length / batches) : 0;
    const reason = serverReference !== undefined ? 0x9c : 0x8b; // Use another server / Server shutting down
    for (let i = 0; i < connected.length; i++) {
      if (i > 0 && i % perBatch === 0 && step > 0) await new Promise<void>((resolve) => this.clock.setTimer(step, resolve));
      connected[i].disconnect('server_shutdown', reason, false, 'server shutting down', serverReference);
    }
    await this.flushSessions();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.draining = true;
    if (this.sysTimer !== undefined) this.clock.clearTimer(this.sysTimer);
    for (const channel of [...this.channels]) {
      if (channel.state === ChannelState.Connected) channel.disconnect('server_shutdown', 0x8b, false);
      else channel.closeBeforeConnect('server_shutdown', 'broker closed');
      channel.conn.destroy();
    }
    this.channels.clear();
    for (const session of this.sessions.values()) {
      if (session.expiryTimer !== undefined) this.clock.clearTimer(session.expiryTimer);
      cancelWill(this, session);
    }
    await this.flushSessions();
    this.stopRetainedSync?.();
    await this.stopTakeovers?.().catch((e: unknown) => this.reportPortError(e));
    // with durable inboxes the routes stay: a survivor adopts the saved sessions, then removes them
    if (this.cluster !== undefined) await this.cluster.stop(this.durability !== undefined).catch((e: unknown) => this.reportPortError(e));
    await this.durability?.stop().catch((e: unknown) => this.reportPortError(e));
  }

  private async flushSessions(): Promise<void> {
    const store = this.ports.sessions;
    if (store !== undefined) {
      for (const session of this.sessions.values()) if (session.persistent && !session.ended) this.track(store.save(session.snapshot()));
    }
    await Promise.all([...this.pendingPortWrites]);
  }

  // ---- EngineContext ----

  publishInternal(message: Message): number {
    if (message.retain) this.retained.apply(message); // [MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-7]
    const local = this.router.publish(message, message.publisherId);
    return this.cluster === undefined ? local : local + this.cluster.forward(message);
  }

  endSession(session: Session): void {
    if (session.ended) return;
    session.ended = true;
    if (session.expiryTimer !== undefined) this.clock.clearTimer(session.expiryTimer);
    session.expiryTimer = undefined;
    firePendingWill(this, session); // published at the latest when the session ends [MQTT-3.1.3-9]
    this.router.unsubscribeAll(session);
    session.clearOutbound();
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
    if (this.ports.sessions !== undefined) this.track(this.ports.sessions.delete(session.clientId));
    this.durability?.sessionGone(session.clientId);
    releaseClientId(this, session.clientId);
  }

  sessionOffline(session: Session): void {
    this.durability?.disconnected(session.clientId);
    if (this.closed || session.ended) return; // (ended: dropped by dropFenced, nothing to keep)
    const expiry = session.expiryInterval;
    if (expiry !== 0xffffffff) {
      session.expiryTimer = this.clock.setTimer(expiry * 1000, () => {
        session.expiryTimer = undefined;
        if (session.outlet === undefined) this.endSession(session);
      });
    }
    if (this.ports.sessions !== undefined) this.track(this.ports.sessions.save(session.snapshot()));
  }
}

/**
 * The session store refused to write `clientId`'s session: another node owns the client id now
 * (this node was paused or cut off while the client moved; docs/cluster.md, "Fencing"). Does what
 * a takeover does here (cluster/takeover.ts handOver), without the save: the connection is closed
 * (5.0: DISCONNECT 0x8E), no will, the session forgotten with its subscriptions and queue.
 */
function dropFenced(engine: Engine, clientId: string): void {
  const session = engine.sessions.get(clientId);
  if (session === undefined || session.ended) return;
  if (session.expiryTimer !== undefined) engine.clock.clearTimer(session.expiryTimer);
  session.expiryTimer = undefined;
  cancelWill(engine, session);
  session.ended = true; // before the disconnect: its sessionOffline must not save again
  engine.sessions.delete(clientId);
  (session.outlet as Channel | undefined)?.disconnect('session_taken_over', ReasonCode.SessionTakenOver, false);
  engine.router.unsubscribeAll(session);
  session.clearOutbound();
  durabilityOf(engine)?.sessionGone(clientId);
  releaseClientId(engine, clientId);
}

export function createBroker(options: EngineOptions): Broker {
  return new Engine(options);
}

/** Like createBroker, also resolving once state from the ports (retained messages) is loaded. */
export async function createBrokerReady(options: EngineOptions): Promise<Broker> {
  const engine = new Engine(options);
  await engine.ready;
  return engine;
}
