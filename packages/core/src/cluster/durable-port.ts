/**
 * The durability port of a cluster (ARCHITECTURE.md section 3, "Forwarding" and "Membership"):
 * what the engine needs from shared storage so that a QoS 1/2 message acknowledged to its
 * publisher survives the death of the node that was to deliver it, and so that a dead node's
 * wills and persistent sessions are taken care of by a survivor. `@mqtt-broker/cluster-redis`
 * implements it with one Redis stream per node (consumer group), a will hash and a session
 * index per node. See docs/cluster.md ("Durable QoS 1/2", "Node failure").
 */
import type { ClientRegistration, SessionSnapshot, StoredMessage } from '../ports.js';

/**
 * Handles one stored batch: delivers it (synchronously) and returns the snapshots of the
 * persistent sessions that now hold a copy. The port saves them and acknowledges the batch in
 * one step (a MULTI transaction on a single Redis), so a batch is either still in the inbox or
 * in the sessions' saved state, never lost and (QoS 2) never both.
 */
export type DurableBatchHandler = (batch: DurableMessage[]) => SessionSnapshot[];

/** A copy for one member of a shared group on the receiving node (shared-routes.ts). */
export interface SharedTarget {
  group: string;
  filter: string;
  /** How many times the copy was passed on because the chosen node had no member left. */
  hops: number;
}

export interface DurableMessage {
  message: StoredMessage;
  /**
   * The same for every copy of one publish (`<node>:<seq>`): a node that receives a copy twice
   * around a takeover (directly and from the old node's stub) delivers it once.
   */
  id?: string;
  /** Present for a shared-subscription copy: deliver to one member of this group only. */
  target?: SharedTarget;
  /** Present for a copy caught by a session after its handover: deliver to this session only. */
  forClient?: string;
  /** For a `forClient` copy: how many times it was passed on because the client had moved again. */
  hops?: number;
  /**
   * A copy the publishing node appended to its OWN inbox for its persistent sessions (its other
   * local subscribers got the message at once): delivered to persistent QoS 1/2 subscriptions only.
   */
  local?: boolean;
}

/**
 * A will kept in shared storage while its client is connected, and while it waits after the
 * connection ended (published by a survivor if the node dies; cluster/wills.ts).
 */
export interface StoredWill {
  clientId: string;
  message: StoredMessage;
  /** Will Delay Interval, seconds (5.0); 0 otherwise. */
  delaySeconds: number;
  /**
   * Epoch ms when the will is due: undefined or 0 while its connection is alive (a survivor
   * publishes it at once); set once the connection ended and the will waits (Will Delay Interval,
   * or a drain's grace), published then unless the client reconnected meanwhile.
   */
  dueAt?: number;
  /** The client's user name: the authorizer's publish check of the will uses it [MQTT-3.1.2-8]. */
  username?: string;
}

/** What a survivor did after a node died. */
/** DurablePort.cleanupState. */
export type CleanupState = 'alive' | 'dead' | 'adopted' | 'cleaned';

export interface NodeCleanup {
  /** Wills published. */
  wills: number;
  /** Persistent sessions adopted by this node. */
  adopted: number;
  /** Of those, sessions whose client was already reconnecting elsewhere (handed over when it stops waiting). */
  claimed: number;
  /** Messages taken from the dead node's inbox. */
  messages: number;
}

/** Why a durable append failed; `reasonCode` is what a 5.0 publisher is answered with. */
export class DurableAppendError extends Error {
  constructor(
    readonly reasonCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'DurableAppendError';
  }
}

/** A session handed over from a node to `nodeId` shortly before it left: its plain filters, valid until `until` (ms). */
export interface MovedClient {
  clientId: string;
  nodeId: string;
  filters: string[];
  until: number;
}

export interface DurablePort {
  /**
   * Appends a message to `nodeId`'s inbox. Resolves once the storage acknowledged the write;
   * rejects with DurableAppendError when the storage is unavailable (0x80) or the backlog is over
   * its bound (0x97). Appends of one event-loop turn are batched, and the appends of one batch
   * may return the same promise (callers can tell by identity that they wait for one write).
   */
  append(nodeId: string, message: DurableMessage): Promise<void>;
  /** False while the storage is known to be unreachable (appends would fail). */
  available(): boolean;
  /**
   * Consumes `nodeId`'s inbox: `handler` is called once per stored batch, in order (first the
   * batches this node had read and not acknowledged before a restart). `gate`, when given, is
   * awaited before each batch (backpressure from slow local subscribers). Returns a function that stops.
   */
  consume(nodeId: string, handler: DurableBatchHandler, gate?: () => Promise<void>): Promise<() => Promise<void>>;
  /**
   * Takes every batch left in a dead node's inbox (read or not), in order, then deletes the inbox
   * (kept with `keep`: a node draining its own inbox while publishers may still append to it);
   * returns the message count. `held` returns a promise while a local session the batches feed
   * is congested (flow-control.ts): no further batch is handed over until it resolves.
   */
  drain(deadNodeId: string, handler: DurableBatchHandler, keep?: boolean, held?: () => Promise<void> | undefined): Promise<number>;
  /**
   * After a dead node's drain: takes what was appended to its inbox since (a publishing node whose
   * route replica still showed the dead node's routes: the append created the inbox again) as
   * `drain` does, unless the node is back and reads its inbox itself. The `last` look seals the
   * inbox: appends to it are refused from then on (DurableAppendError), until its node is back.
   * Returns the message count.
   */
  drainOrphaned?(deadNodeId: string, handler: DurableBatchHandler, last: boolean): Promise<number>;
  /** When drainOrphaned runs, ms after the drain (ascending); set with drainOrphaned. */
  readonly orphanChecksMs?: readonly number[];
  /** The will of a client connected to `nodeId`; replaced on reconnect, deleted by deleteWill. */
  setWill(nodeId: string, will: StoredWill): Promise<void>;
  deleteWill(nodeId: string, clientId: string): Promise<void>;
  /** Removes and returns every will stored for `nodeId` (atomically: a will set meanwhile is either taken or kept). */
  takeWills(nodeId: string): Promise<StoredWill[]>;
  /** Index of the persistent sessions a node holds (adoption after its death). */
  indexSession(nodeId: string, clientId: string): Promise<void>;
  unindexSession(nodeId: string, clientId: string): Promise<void>;
  indexedSessions(nodeId: string): Promise<string[]>;
  /** Moves `clientId` from `deadNodeId` to `nodeId` in the client registry, only if the dead node still owns it. */
  adoptClient(clientId: string, deadNodeId: string, nodeId: string): Promise<ClientRegistration | undefined>;
  /**
   * A survivor holds the adopted session of `clientId` while the client's new node waits for the
   * cleanup (short-lived hint; that node then takes the session over from `nodeId`).
   */
  setHolder(clientId: string, nodeId: string): Promise<void>;
  /**
   * A leaving node's tombstones (sessions it handed over in its last seconds): the survivor that
   * drains its inbox passes matching copies on to the client's new node. Optional.
   */
  setMoved?(nodeId: string, moved: MovedClient[]): Promise<void>;
  /** Removes and returns the tombstones `setMoved` stored for `nodeId`. */
  takeMoved?(nodeId: string): Promise<MovedClient[]>;
  holder(clientId: string): Promise<string | undefined>;
  /**
   * Where a previous owner stands, for the clients waiting for it (takeover.ts): 'alive' while its
   * heartbeat is there; 'dead' (no heartbeat: died, or left) until a survivor has restored its
   * persistent sessions; then 'adopted' (their holders are set; its inbox may still be draining,
   * and copies drained for a session taken over meanwhile follow it); 'cleaned' once nothing of it
   * is left (a dead node stays a member until the survivor's onNodeDead work completed).
   */
  cleanupState(nodeId: string): Promise<CleanupState>;
  /** Called by the survivor once the dead node's sessions are restored here and its routes removed. */
  markAdopted(deadNodeId: string): Promise<void>;
  /**
   * Cleans up after `nodeId` now if its heartbeat is gone and no survivor has started to (this
   * node then runs onNodeDead); resolves when that cleanup finished or was not this node's to do.
   */
  cleanUpNow(nodeId: string): Promise<void>;
  /** How long a publisher's acknowledgement may wait for an append before the append counts as failed. */
  readonly appendTimeoutMs: number;
  /** How long a connecting client waits for a dead previous owner node to be cleaned up. */
  readonly cleanupWaitMs: number;
  /**
   * How long the will of a client disconnected by a server shutdown (drain) waits for the client
   * to come back before it is published (at least its Will Delay Interval). Default 30 s.
   */
  readonly drainWillGraceMs?: number;
  /** Registers the engine's work after another node died (called by whichever survivor won the cleanup). */
  onNodeDead(handler: (deadNodeId: string) => Promise<NodeCleanup>): void;
}
