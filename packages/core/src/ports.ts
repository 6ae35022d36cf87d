/**
 * Ports: the interfaces through which the engine reaches state that may live outside this
 * process. The embedded single-node broker needs none of them (all its state is in the engine's
 * memory); `@mqtt-broker/store-memory` implements them in memory, and a cluster implementation
 * (Redis) can implement them later without touching channel/session/router.
 *
 * Rules for implementations:
 * - The publish hot path never awaits a port: local delivery is synchronous. Ports are written
 *   through (fire and forget from the engine's point of view, errors reported by rejecting) and
 *   read on slow paths only (CONNECT of an unknown client id, broker start).
 * - Every method must be safe to call concurrently; the conformance suite in `./testing`
 *   (`runPortConformance`) states the expected behaviour.
 */
import type { ProtocolVersion, Properties, QoS } from '@mqtt-broker/mqtt-codec';
import type { AuthAttributes } from './api.js';

/** An application message as stored or sent between nodes (payload owned, not a view). */
export interface StoredMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** 5.0 properties to pass through (never Topic Alias or Subscription Identifiers). */
  properties?: Properties;
  /** Epoch milliseconds after which the message is expired; 0 = never. */
  expiresAt: number;
  /** Client id of the publisher (for No Local), when published by a client. */
  publisherId?: string;
}

export interface StoredSubscription {
  /** The filter as subscribed, including a `$share/{group}/` prefix. */
  topicFilter: string;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionIdentifier?: number;
}

export interface StoredInflight {
  packetId: number;
  /** 'publish': PUBLISH sent, waiting for PUBACK/PUBREC; 'pubrel': PUBREL sent, waiting for PUBCOMP. */
  state: 'publish' | 'pubrel';
  qos: 1 | 2;
  retain: boolean;
  /** Present for state 'publish'. */
  message?: StoredMessage;
  subscriptionIds?: number[];
}

export interface StoredQueued {
  message: StoredMessage;
  qos: QoS;
  retain: boolean;
  subscriptionIds?: number[];
}

/** Who a session acts as: what the authorizer checks its deliveries against. */
export interface StoredIdentity {
  username: string | undefined;
  attributes?: AuthAttributes;
}

/** Everything a persistent session is, serialisable (JSON-safe apart from Buffers). */
export interface SessionSnapshot {
  clientId: string;
  protocolVersion: ProtocolVersion;
  /** Seconds the session outlives its connection; 0xFFFFFFFF = never expires. */
  expiryIntervalSeconds: number;
  /** Epoch ms when the last connection closed; undefined while connected. */
  disconnectedAt: number | undefined;
  subscriptions: StoredSubscription[];
  inflight: StoredInflight[];
  queued: StoredQueued[];
  /** Inbound QoS 2 packet ids received (PUBREC sent) and not yet released. */
  inboundQos2: number[];
  nextPacketId: number;
  /**
   * The identity of the connection that last held the session (absent in snapshots saved before
   * it was stored): a session restored without its connection is authorized as that identity.
   */
  identity?: StoredIdentity;
}

/** Persistent sessions. */
export interface SessionStore {
  load(clientId: string): Promise<SessionSnapshot | undefined>;
  /** Insert or replace. */
  save(snapshot: SessionSnapshot): Promise<void>;
  /** Removing a missing session is not an error. */
  delete(clientId: string): Promise<void>;
  clientIds(): Promise<string[]>;
  /**
   * Optional (a clustered store that fences writes by client ownership, docs/cluster.md
   * "Fencing"): `listener` is told each client id whose save or delete was refused because
   * another node owns it now. The refused call still resolves; the engine drops its copy of the
   * session as on a takeover, without saving it.
   */
  onFenced?(listener: (clientId: string) => void): void;
}

/** Retained messages (topic -> message). The engine keeps its own index for wildcard lookups. */
export interface RetainStore {
  set(topic: string, message: StoredMessage): Promise<void>;
  delete(topic: string): Promise<void>;
  get(topic: string): Promise<StoredMessage | undefined>;
  loadAll(): Promise<StoredMessage[]>;
  /**
   * Optional (clustered stores): changes made by any node after the call, in order, so that every
   * node's retained index stays current. `onResync` receives every retained message when the
   * watcher missed changes (the index must be replaced). Returns an unsubscribe function.
   */
  watch?(listener: (change: RetainChange) => void, onResync?: (messages: StoredMessage[]) => void): () => void;
}

/** A retained message set or deleted, by `nodeId` (a node ignores its own changes). */
export interface RetainChange {
  op: 'set' | 'delete';
  topic: string;
  /** Present for 'set'. */
  message?: StoredMessage;
  nodeId: string;
}

export interface RouteChange {
  op: 'add' | 'remove';
  filter: string;
  nodeId: string;
}

/**
 * Cluster routes: which node has local subscribers for which filter. Reference counting of
 * local subscribers is the engine's job; the table holds one (filter, node) pair at most once.
 */
export interface RouteTable {
  addRoute(filter: string, nodeId: string): Promise<void>;
  removeRoute(filter: string, nodeId: string): Promise<void>;
  /** Remove every route of a node (it died). */
  removeNode(nodeId: string): Promise<void>;
  /** A consistent snapshot of all routes. */
  routes(): Promise<Array<{ filter: string; nodeId: string }>>;
  /**
   * Changes made after the call, in order. Returns an unsubscribe function. An implementation
   * that can miss changes (a trimmed change log) resyncs the watcher through `onResync` (in pages,
   * see RouteResync); the changes that follow bring the watcher to the table's state.
   */
  watch(listener: (change: RouteChange) => void, onResync?: RouteResync): () => void;
}

/**
 * A route watcher's side of a resync (RouteTable.watch), in pages so that neither side ever holds
 * a second copy of every route: `begin`, then `page` for each page of routes present in the table
 * (kept or added), then the table checks the routes the watcher `held` in chunks and `drop`s those
 * no longer in the table, then `end`. Without the sweep (`end(false)`, e.g. just after a reconnect,
 * when the table may still lack other nodes' routes) nothing is dropped. The watcher keeps answering
 * from its state throughout: routes it had and the table still has are never dropped.
 */
export interface RouteResync {
  begin(): void;
  page(routes: ReadonlyArray<{ filter: string; nodeId: string }>): void;
  /** The watcher's routes as [filter, nodeId] (iterated across awaits; nothing is dropped while it runs). */
  held(): Iterable<readonly [string, string]>;
  drop(filter: string, nodeId: string): void;
  /** `swept`: false when nothing was dropped (routes no page named may be gone). */
  end(swept: boolean): void;
}

/** Delivery of messages to other nodes. */
export interface NodeBus {
  /** Fire and forget (QoS 0 semantics between nodes). */
  send(nodeId: string, message: StoredMessage): void;
  /**
   * Receive messages sent to `nodeId`. Resolves once listening; returns a function that stops.
   * `held` (backpressure on the receiving side): asked after each message handed to `handler`;
   * while it returns a promise nothing more is handed over (what arrives meanwhile waits in order)
   * until that promise resolves, and what waits is not yet reported consumed to its sender, whose
   * window then fills and holds back its publishers (`congested`) instead of this node dropping.
   */
  listen(nodeId: string, handler: (message: StoredMessage) => void, held?: () => Promise<void> | undefined): Promise<() => Promise<void>>;
  /**
   * Optional, used with a ClientRegistry (session takeover across nodes, ARCHITECTURE.md
   * section 3): asks `nodeId` to give up `clientId`, registered at `epoch` by the caller: close
   * the old connection (5.0: DISCONNECT 0x8E), save the session to the SessionStore and forget
   * it. Resolves true once the node confirmed, false when it is dead or silent past `timeoutMs`
   * (the caller then proceeds with what the store holds).
   */
  takeover?(nodeId: string, clientId: string, epoch: number, timeoutMs: number): Promise<boolean>;
  /** Optional: serves takeover requests addressed to `nodeId`. Resolves once listening; returns a function that stops. */
  serveTakeovers?(nodeId: string, handler: (clientId: string, epoch: number) => Promise<void>): Promise<() => Promise<void>>;
  /**
   * Optional backpressure: true while too much sent to `nodeId` is still unconsumed by it. The
   * engine then holds back the local publishers whose messages went there (like a congested
   * session, session/flow-control.ts) until `onDrain`'s handler is called for that node.
   */
  congested?(nodeId: string): boolean;
  /** Optional: sets the handler told when a node reported congested has room again (one per bus). */
  onDrain?(handler: (nodeId: string) => void): void;
}

export interface ClientRegistration {
  nodeId: string;
  /** Grows by one on every registration of the client id; stale owners lose. */
  epoch: number;
}

/** Which node owns which client id (session takeover across nodes). */
export interface ClientRegistry {
  /** Claim the client id for `nodeId`; returns the new registration and the previous owner. */
  register(clientId: string, nodeId: string): Promise<{ registration: ClientRegistration; previous: ClientRegistration | undefined }>;
  /** Release only if (nodeId, epoch) still owns the id; returns whether it did. */
  unregister(clientId: string, registration: ClientRegistration): Promise<boolean>;
  lookup(clientId: string): Promise<ClientRegistration | undefined>;
}

/** The ports a broker may be given (all optional: none means single node, memory only). */
export interface BrokerPorts {
  sessions?: SessionStore;
  retained?: RetainStore;
  routes?: RouteTable;
  bus?: NodeBus;
  registry?: ClientRegistry;
}
