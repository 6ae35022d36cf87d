/**
 * Shared subscriptions across nodes (ARCHITECTURE.md section 3; docs/cluster.md "Shared
 * subscriptions"): each message goes to exactly one member of a group cluster-wide.
 *
 * - Routes: a node with members of `$share/<group>/<filter>` writes the route
 *   `$share/<group>/<filter>\u0001<member count>` (U+0001 cannot occur in a topic filter). When the
 *   count changes, the old route is removed and the new one added (in that order, so every replica
 *   sees one weight per node at a time). Plain routes are not written for shared groups.
 * - Publishing node: matches its replica of shared routes, and for each matching group picks one
 *   node by smooth weighted round robin over the member counts (deterministic, so the spread is
 *   even, not just even on average). Its own node delivers to one local member at once; a copy for
 *   another node goes into that node's durable inbox tagged with the group, whatever its QoS.
 * - Receiving node: delivers a tagged copy to one member of that local group (round robin over
 *   connected members). If the group has no member any more, the copy is passed to another node of
 *   the group (once: a second miss drops it).
 */
import { SubscriptionTrie } from '@mqtt-broker/topics';
import type { EngineContext } from '../engine-context.js';
import type { RouteTable, StoredMessage } from '../ports.js';
import type { SharedGroup } from '../router/sub-entry.js';
import type { Message } from '../session/message.js';
import type { ClusterDurability } from './durable.js';
import type { SharedTarget } from './durable-port.js';

const MARK = '\u0001';
const PREFIX = '$share/';

export interface SharedRoute {
  group: string;
  filter: string;
  count: number;
}

export function sharedRoute(group: string, filter: string, count: number): string {
  return `${PREFIX}${group}/${filter}${MARK}${count}`;
}

/** Undefined for a plain route. */
export function parseSharedRoute(route: string): SharedRoute | undefined {
  if (!route.startsWith(PREFIX)) return undefined;
  const mark = route.lastIndexOf(MARK);
  if (mark < 0) return undefined;
  const body = route.slice(PREFIX.length, mark);
  const slash = body.indexOf('/');
  if (slash <= 0) return undefined;
  return { group: body.slice(0, slash), filter: body.slice(slash + 1), count: Number(route.slice(mark + 1)) };
}

interface Weighted {
  nodeId: string;
  group: string;
  filter: string;
  count: number;
}

export class SharedRoutes {
  private replica = new SubscriptionTrie<string, Weighted>();
  /** This node's current route per `group\0filter`. */
  private readonly local = new Map<string, string>();
  /** Smooth weighted round robin state per `group\0filter`: node -> current weight. */
  private readonly wrr = new Map<string, Map<string, number>>();
  private readonly candidates = new Map<string, Weighted[]>();
  private readonly collect = (w: Weighted): void => {
    const key = `${w.group}\u0000${w.filter}`;
    const list = this.candidates.get(key);
    if (list === undefined) this.candidates.set(key, [w]);
    else list.push(w);
  };
  /** Shared copies sent to other nodes, delivered here, and dropped (no member anywhere). */
  readonly stats = { forwarded: 0, deliveredLocal: 0, rerouted: 0, dropped: 0 };

  constructor(
    private readonly ctx: EngineContext,
    private readonly routes: RouteTable,
    private readonly durability: ClusterDurability,
  ) {}

  /** A route change from the feed (this node's own changes are ignored: local state follows the router). */
  apply(op: 'add' | 'remove', route: SharedRoute, nodeId: string): void {
    if (nodeId === this.ctx.nodeId) return;
    const key = `${route.group}\u0000${nodeId}`;
    if (op === 'add') this.replica.add(route.filter, key, { nodeId, group: route.group, filter: route.filter, count: route.count });
    else this.replica.remove(route.filter, key);
  }

  /** Replaces the replica of the other nodes' shared routes. */
  reset(routes: Array<{ route: SharedRoute; nodeId: string }>): void {
    this.replica = new SubscriptionTrie<string, Weighted>();
    for (const [, route] of this.local) {
      const r = parseSharedRoute(route);
      if (r !== undefined) this.addLocal(r);
    }
    for (const { route, nodeId } of routes) this.apply('add', route, nodeId);
  }

  /** Writes every local shared route again (idempotent). */
  republish(): Array<Promise<void>> {
    return [...this.local.values()].map((route) => this.routes.addRoute(route, this.ctx.nodeId));
  }

  /** The router's hook: a local group gained or lost a member. */
  membersChanged(group: SharedGroup): void {
    const key = `${group.name}\u0000${group.filter}`;
    const count = group.members.length;
    const old = this.local.get(key);
    const next = count > 0 ? sharedRoute(group.name, group.filter, count) : undefined;
    if (old === next) return;
    const me = this.ctx.nodeId;
    if (old !== undefined) this.routes.removeRoute(old, me).catch((e: unknown) => this.ctx.reportPortError(e));
    if (next === undefined) {
      this.local.delete(key);
      this.replica.remove(group.filter, `${group.name}\u0000${me}`);
      return;
    }
    this.local.set(key, next);
    this.addLocal({ group: group.name, filter: group.filter, count });
    this.routes.addRoute(next, me).catch((e: unknown) => this.ctx.reportPortError(e));
  }

  private addLocal(r: SharedRoute): void {
    const me = this.ctx.nodeId;
    this.replica.add(r.filter, `${r.group}\u0000${me}`, { nodeId: me, group: r.group, filter: r.filter, count: r.count });
  }

  /** One copy per matching group, to one node each; returns how many groups were served. */
  publish(message: Message, stored: () => StoredMessage): number {
    if (this.replica.size === 0) return 0;
    this.replica.match(message.topic, this.collect);
    if (this.candidates.size === 0) return 0;
    let served = 0;
    for (const [key, list] of this.candidates) {
      const chosen = this.pick(key, list, undefined);
      if (chosen === undefined) continue;
      served++;
      if (chosen.nodeId === this.ctx.nodeId && this.ctx.router.publishToGroup(chosen.filter, chosen.group, message)) {
        this.stats.deliveredLocal++;
        continue;
      }
      const target = chosen.nodeId === this.ctx.nodeId ? this.pick(key, list, this.ctx.nodeId) : chosen;
      if (target === undefined) {
        this.stats.dropped++;
        continue;
      }
      this.stats.forwarded++;
      this.durability.appendShared(target.nodeId, stored(), { group: target.group, filter: target.filter, hops: 0 }, message.qos > 0);
    }
    this.candidates.clear();
    return served;
  }

  /** A tagged copy arrived here: one local member, or another node of the group (once). */
  deliver(message: Message, stored: StoredMessage, target: SharedTarget): void {
    if (this.ctx.router.publishToGroup(target.filter, target.group, message)) {
      this.stats.deliveredLocal++;
      return;
    }
    if (target.hops >= 1) {
      this.stats.dropped++;
      this.ctx.observer.messageDropped(message.qos, 'no_subscribers');
      return;
    }
    this.replica.match(stored.topic, this.collect);
    const key = `${target.group}\u0000${target.filter}`;
    const list = this.candidates.get(key);
    this.candidates.clear();
    const other = list === undefined ? undefined : this.pick(key, list, this.ctx.nodeId);
    if (other === undefined) {
      this.stats.dropped++;
      this.ctx.observer.messageDropped(message.qos, 'no_subscribers');
      return;
    }
    this.stats.rerouted++;
    this.durability.appendShared(other.nodeId, stored, { ...target, hops: target.hops + 1 }, false);
  }

  /** Smooth weighted round robin (nginx): each candidate gains its weight, the highest wins and pays the total. */
  private pick(key: string, list: Weighted[], exclude: string | undefined): Weighted | undefined {
    let state = this.wrr.get(key);
    if (state === undefined) this.wrr.set(key, (state = new Map()));
    let total = 0;
    let best: Weighted | undefined;
    let bestWeight = Number.NEGATIVE_INFINITY;
    for (const w of list) {
      if (w.nodeId === exclude || w.count <= 0) continue;
      const current = (state.get(w.nodeId) ?? 0) + w.count;
      state.set(w.nodeId, current);
      total += w.count;
      if (current > bestWeight || (current === bestWeight && best !== undefined && w.nodeId < best.nodeId)) {
        bestWeight = current;
        best = w;
      }
    }
    if (best !== undefined) state.set(best.nodeId, bestWeight - total);
    return best;
  }
}
