/**
 * Cross-node routing through the RouteTable and NodeBus ports ("route to nodes, not to
 * clients", ARCHITECTURE.md section 3).
 *
 * - Routes: this node adds (filter, nodeId) when its first local subscription to a filter
 *   appears and removes it with the last one (reference counted here, written through).
 * - Replica: every node keeps a local RouteReplica (@mqtt-broker/topics: literal filters in one
 *   exact-match map, wildcard filters in a lean trie, node ids interned) of the other nodes'
 *   routes (snapshot at start, then the table's change feed), so the publish path matches remote
 *   nodes synchronously and never awaits. Its own routes are in `refs` only (forward() never
 *   sends to itself through the replica), which keeps the subscribing node's copy small too.
 * - Forwarding: a message published by a local client is sent once to each other node that has
 *   a matching route; a message received from the bus is delivered locally only (no loops).
 *   With a DurablePort, QoS 1/2 copies go to the nodes' durable inboxes instead (../cluster/durable.ts),
 *   and so do the QoS 1/2 copies for this node's own persistent sessions: the router diverts them
 *   (router.ts, `durableLocal`) and forward() appends the message once to this node's own inbox,
 *   so that the publisher's ack means they survive a kill of this node too.
 *
 * - This node's routes follow the local reference counts only (the feed's echo of our own
 *   changes is ignored, so a quick add/remove cannot be undone by a late echo).
 *
 * Retained replication and cross-node takeover live in ../cluster/. Shared groups: with a
 * DurablePort one member cluster-wide per message (../cluster/shared-routes.ts); without one,
 * they are balanced per node (each node with members of a group delivers one copy).
 */
import { RouteReplica } from '@mqtt-broker/topics';
import type { ClusterDurability } from '../cluster/durable.js';
import { parseSharedRoute, type SharedRoute, SharedRoutes } from '../cluster/shared-routes.js';
import type { EngineContext } from '../engine-context.js';
import type { NodeBus, RouteChange, RouteResync, RouteTable, StoredMessage } from '../ports.js';
import { fromStored, type Message, toStored } from '../session/message.js';
import { beginFeed, endFeed, type FlowBlocker, noteCongested, releaseFeeders } from '../session/flow-control.js';
import { HeldFeeder } from './held-feeder.js';
import { PeerFlow } from './peer-flow.js';

export class ClusterLink {
  /** The other nodes' routes (never this node's: those are the keys of `refs`). */
  private readonly replica = new RouteReplica();
  private readonly targets = new Set<string>();
  private readonly refs = new Map<string, number>();
  private readonly collect = (nodeId: string): void => {
    if (nodeId !== this.nodeId) this.targets.add(nodeId);
  };
  private unwatch: (() => void) | undefined = undefined;
  private stopListening: (() => Promise<void>) | undefined = undefined;
  private readonly nodeId: string;
  /** Holds local publishers back while a node they forward to is congested. */
  private readonly flow: PeerFlow;
  /**
   * Holds local publishers back while this node's inbox consumer is held by a congested local
   * session: their copies for persistent sessions wait in the inbox then, and the publisher would
   * otherwise no longer be slowed by its slow subscriber as it was with direct delivery.
   */
  private readonly inboxFlow: FlowBlocker;
  private inboxFlowWaiting = false;
  /**
   * The bus's receiver as a feeder: a local session that a burst of remote copies congests holds
   * it back (the bus keeps the rest, uncredited), so the sending node's window fills and holds its
   * publishers, where before the session's queue limit dropped the burst (QoS 0).
   */
  private readonly busFeeder = new HeldFeeder();

  constructor(
    private readonly ctx: EngineContext,
    private readonly routes: RouteTable,
    private readonly bus: NodeBus,
    private readonly durability: ClusterDurability | undefined = undefined,
  ) {
    this.nodeId = ctx.nodeId;
    this.flow = new PeerFlow(ctx, bus);
    this.inboxFlow = { feeders: undefined, ctx };
    if (durability !== undefined) {
      this.shared = new SharedRoutes(ctx, routes, durability);
      durability.shared = this.shared;
      durability.routes = this;
      ctx.router.durableLocal = durability.port;
    }
  }

  /** Shared subscriptions across nodes (only with durable inboxes, which carry the group). */
  readonly shared: SharedRoutes | undefined = undefined;

  async start(): Promise<void> {
    // changes seen before the snapshot is loaded are replayed onto it, in order
    let held: RouteChange[] | undefined = [];
    this.unwatch = this.routes.watch(
      (change) => {
        if (held !== undefined) held.push(change);
        else this.apply(change);
      },
      this.resync,
    );
    try {
      for (const r of await this.routes.routes()) this.apply({ op: 'add', filter: r.filter, nodeId: r.nodeId });
    } finally {
      const pending = held;
      held = undefined;
      for (const c of pending) this.apply(c);
    }
    this.stopListening = await this.bus.listen(
      this.nodeId,
      (stored) => this.onRemote(stored),
      () => this.busFeeder.flowHeld(),
    );
  }

  /**
   * The route feed missed changes or the store was reset (e.g. Redis restarted empty): the replica
   * of the other nodes' routes is resynced in place, page by page (RouteResync: routes named by a
   * page are kept or added, the ones gone are dropped at the end, none during the union window
   * after a reconnect), so a publish meanwhile still reaches every node that keeps its route, and
   * no second replica is built. This node's routes are written again.
   */
  private readonly resync: RouteResync = {
    begin: () => {
      this.resyncShared = [];
    },
    page: (routes) => {
      for (const r of routes) {
        const route = parseSharedRoute(r.filter);
        if (route !== undefined) this.resyncShared?.push({ route, nodeId: r.nodeId });
        else if (r.nodeId !== this.nodeId) this.replica.add(r.filter, r.nodeId);
      }
    },
    held: () => this.replica.routes(),
    drop: (filter, nodeId) => {
      this.replica.remove(filter, nodeId);
    },
    end: (swept) => {
      const shared = this.resyncShared ?? [];
      this.resyncShared = undefined;
      if (swept) this.shared?.reset(shared);
      else for (const s of shared) this.shared?.apply('add', s.route, s.nodeId);
      this.republish().catch((e: unknown) => this.ctx.reportPortError(e));
    },
  };
  /** Shared routes named by the pages of a resync in progress (a few per group, not per device). */
  private resyncShared: Array<{ route: SharedRoute; nodeId: string }> | undefined = undefined;

  /**
   * Writes every local route again (the shared table may have lost them, e.g. Redis came back
   * empty after a restart). Idempotent.
   */
  async republish(): Promise<void> {
    await Promise.all([...[...this.refs.keys()].map((filter) => this.routes.addRoute(filter, this.nodeId)), ...(this.shared?.republish() ?? [])]);
  }

  /**
   * Stops watching and listening. The node's routes are removed, except when `keepRoutes`: a node
   * with durable inboxes leaves them for the survivor that adopts its sessions (docs/cluster.md, "Drain").
   */
  async stop(keepRoutes = false): Promise<void> {
    this.unwatch?.();
    this.unwatch = undefined;
    await this.stopListening?.();
    this.stopListening = undefined;
    if (!keepRoutes) await this.routes.removeNode(this.nodeId);
  }

  /** True when this node's replica has the route (filter, nodeId). */
  routeVisible(filter: string, nodeId: string): boolean {
    if (nodeId === this.nodeId) return this.refs.has(filter);
    return this.replica.has(filter, nodeId);
  }

  private apply(change: RouteChange): void {
    const shared = parseSharedRoute(change.filter);
    if (shared !== undefined) {
      this.shared?.apply(change.op, shared, change.nodeId);
      return;
    }
    if (change.nodeId === this.nodeId) return; // this node's routes follow refs
    if (change.op === 'add') this.replica.add(change.filter, change.nodeId);
    else this.replica.remove(change.filter, change.nodeId);
  }

  /** A filter gained its first plain subscriber or a shared group on this node (reference counted). */
  filterAdded(filter: string): void {
    const refs = this.refs.get(filter) ?? 0;
    this.refs.set(filter, refs + 1);
    if (refs > 0) return;
    this.routes.addRoute(filter, this.nodeId).catch((e: unknown) => this.ctx.reportPortError(e));
  }

  /** The reverse of filterAdded. */
  filterRemoved(filter: string): void {
    const refs = (this.refs.get(filter) ?? 1) - 1;
    if (refs > 0) {
      this.refs.set(filter, refs);
      return;
    }
    this.refs.delete(filter);
    this.routes.removeRoute(filter, this.nodeId).catch((e: unknown) => this.ctx.reportPortError(e));
  }

  /** Sends a locally published message to every other node with a matching route; returns how many. */
  forward(message: Message): number {
    const router = this.ctx.router;
    // copies for local persistent sessions the router held back: into this node's own inbox
    const local = router.takeDiverted();
    if (message.topic.charCodeAt(0) === 0x24 && message.topic.startsWith('$SYS/')) {
      if (local) this.durability?.forward([this.nodeId], toStored(message), message);
      return 0; // per-node statistics
    }
    const groups = this.shared === undefined ? 0 : this.shared.publish(message, () => toStored(message));
    const localGroups = router.takeDivertedGroups();
    if (localGroups !== undefined && this.durability !== undefined) {
      const stored = toStored(message);
      for (const g of localGroups) this.durability.appendShared(this.nodeId, stored, { group: g.group, filter: g.filter, hops: 0 }, true);
      this.holdWhileInboxHeld(this.durability);
    }
    if (this.replica.size === 0 && !local) return groups;
    const targets = this.targets;
    this.replica.match(message.topic, this.collect);
    const n = targets.size + groups;
    if (local) targets.add(this.nodeId);
    if (targets.size === 0) return groups;
    const stored: StoredMessage = toStored(message);
    // QoS 1/2 into the nodes' durable inboxes (the publisher's ack waits for them), QoS 0 on pub/sub
    if (message.qos > 0 && this.durability !== undefined) {
      this.durability.forward(targets, stored, message);
      if (local) this.holdWhileInboxHeld(this.durability);
    } else
      for (const nodeId of targets) {
        this.bus.send(nodeId, stored);
        this.flow.sent(nodeId);
      }
    targets.clear();
    return n;
  }

  /** The active publisher just diverted copies to this node's inbox: hold it back while the inbox consumer is held. */
  private holdWhileInboxHeld(durability: ClusterDurability): void {
    if (durability.flowBlockers === undefined) return;
    noteCongested(this.inboxFlow);
    if (this.inboxFlowWaiting) return;
    this.inboxFlowWaiting = true;
    durability.flowGate().then(() => {
      this.inboxFlowWaiting = false;
      releaseFeeders(this.inboxFlow);
    });
  }

  /** A QoS 0 copy from the bus (QoS 1/2 come through the inbox when there is one): delivered here only. */
  private onRemote(stored: StoredMessage): void {
    const message = fromStored(stored, this.ctx.clock.now());
    beginFeed(this.busFeeder);
    try {
      this.ctx.router.publish(message, message.publisherId);
    } finally {
      endFeed();
    }
  }
}
