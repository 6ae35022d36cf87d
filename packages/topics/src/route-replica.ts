/**
 * RouteReplica: which nodes have a filter matching topic T, for every node's routes (the cluster
 * route replica each broker node keeps, docs/cluster.md "Subscribe"), in as little memory as the
 * question allows. docs/capacity.md has the measurements behind the design.
 *
 * - Node ids are interned to small integers (freed and reused when a node has no route left), and
 *   a filter's nodes are a NodeSet: a bare integer for one node, a small sorted array for more.
 * - Literal filters (no '+'/'#': one per device in the common layout) live in one flat exact-match
 *   SplitMap filter -> NodeSet: one entry per distinct filter, no trie nodes, no per-route object.
 *   Since a topic matches a literal filter only when equal to it, matching them is one lookup.
 * - Filters with wildcards live in a WildcardTrie of lean nodes; a match walks it only when it
 *   is not empty.
 * - SplitMap keeps every Map below V8's 2^24-entry limit, so no number of filters (or of
 *   literal children under one trie level) throws.
 *
 * match() reports each matching node once per call (a per-node stamp, no Set allocated).
 */
import { MqttProtocolError, ReasonCode } from '@mqtt-broker/mqtt-codec';
import { type NodeSet, nodeSetAdd, nodeSetHas, nodeSetRemove } from './node-set.js';
import { SplitMap } from './split-map.js';
import { isValidTopicFilter } from './validate.js';
import { WildcardTrie } from './wildcard-trie.js';

const PLUS = 0x2b;
const HASH = 0x23;

function isWildcard(filter: string): boolean {
  for (let i = 0; i < filter.length; i++) {
    const c = filter.charCodeAt(i);
    if (c === PLUS || c === HASH) return true;
  }
  return false;
}

export interface RouteReplicaOptions {
  /** Entries per underlying Map before another is started (tests force a small one). */
  mapLimit?: number;
}

export class RouteReplica {
  readonly #exact: SplitMap<NodeSet>;
  readonly #wild: WildcardTrie;
  /** index -> node id ('' when the index is free) */
  readonly #ids: string[] = [];
  readonly #index = new Map<string, number>();
  /** index -> number of routes of that node */
  readonly #counts: number[] = [];
  readonly #free: number[] = [];
  /** index -> stamp of the last match that reported it */
  readonly #seen: number[] = [];
  #stamp = 0;
  #size = 0;
  #visit: (nodeId: string) => void = () => {};
  readonly #emit = (set: NodeSet): void => {
    const stamp = this.#stamp;
    const seen = this.#seen;
    if (typeof set === 'number') {
      if (seen[set] !== stamp) {
        seen[set] = stamp;
        this.#visit(this.#ids[set]);
      }
      return;
    }
    for (let k = 0; k < set.length; k++) {
      const i = set[k];
      if (seen[i] !== stamp) {
        seen[i] = stamp;
        this.#visit(this.#ids[i]);
      }
    }
  };

  constructor(options: RouteReplicaOptions = {}) {
    this.#exact = new SplitMap(options.mapLimit);
    this.#wild = new WildcardTrie(options.mapLimit);
  }

  /** Number of (filter, node) routes. */
  get size(): number {
    return this.#size;
  }

  /** Number of distinct filters with at least one route. */
  get filterCount(): number {
    return this.#exact.size + this.#wild.filterCount;
  }

  /** Number of nodes with at least one route. */
  get nodeCount(): number {
    return this.#index.size;
  }

  /**
   * Adds the route (filter, nodeId); returns true when it is new. Throws MqttProtocolError(0x8F)
   * for an invalid filter, so a bad filter never reaches the replica.
   */
  add(filter: string, nodeId: string): boolean {
    if (!isValidTopicFilter(filter)) {
      throw new MqttProtocolError(ReasonCode.TopicFilterInvalid, 'invalid topic filter', 'MQTT-4.7.1-1');
    }
    const i = this.#intern(nodeId);
    let added: boolean;
    if (isWildcard(filter)) added = this.#wild.add(filter, i);
    else {
      const set = this.#exact.get(filter);
      added = !nodeSetHas(set, i);
      if (added) {
        const next = nodeSetAdd(set, i);
        if (next !== set) this.#exact.set(filter, next);
      }
    }
    if (added) {
      this.#counts[i]++;
      this.#size++;
    } else if (this.#counts[i] === 0) this.#release(i);
    return added;
  }

  /** Removes the route (filter, nodeId); returns false when there was none. */
  remove(filter: string, nodeId: string): boolean {
    const i = this.#index.get(nodeId);
    if (i === undefined) return false;
    let removed: boolean;
    if (isWildcard(filter)) removed = this.#wild.remove(filter, i);
    else {
      const set = this.#exact.get(filter);
      removed = nodeSetHas(set, i);
      if (removed) {
        const next = nodeSetRemove(set, i);
        if (next === undefined) this.#exact.delete(filter);
        else if (next !== set) this.#exact.set(filter, next);
      }
    }
    if (!removed) return false;
    this.#size--;
    if (--this.#counts[i] === 0) this.#release(i);
    return true;
  }

  /** Removes every route of `nodeId` (one pass over the replica); returns how many. */
  removeNode(nodeId: string): number {
    const i = this.#index.get(nodeId);
    if (i === undefined) return 0;
    const exact: string[] = [];
    for (const [filter, set] of this.#exact.entries()) if (nodeSetHas(set, i)) exact.push(filter);
    const wild: string[] = [];
    for (const [filter, set] of this.#wild.entries()) if (nodeSetHas(set, i)) wild.push(filter);
    for (const f of exact) this.remove(f, nodeId);
    for (const f of wild) this.remove(f, nodeId);
    return exact.length + wild.length;
  }

  has(filter: string, nodeId: string): boolean {
    const i = this.#index.get(nodeId);
    if (i === undefined) return false;
    return isWildcard(filter) ? this.#wild.has(filter, i) : nodeSetHas(this.#exact.get(filter), i);
  }

  /** Every route, as (filter, nodeId) pairs (no particular order). */
  *routes(): IterableIterator<[string, string]> {
    yield* this.#pairs(this.#exact.entries());
    yield* this.#pairs(this.#wild.entries());
  }

  /** A route resync iterates every route: no generator per filter here (a bare integer for one node). */
  *#pairs(entries: IterableIterator<[string, NodeSet]>): IterableIterator<[string, string]> {
    const ids = this.#ids;
    for (const [filter, set] of entries) {
      if (typeof set === 'number') yield [filter, ids[set]];
      else for (let k = 0; k < set.length; k++) yield [filter, ids[set[k]]];
    }
  }

  /**
   * Calls visit(nodeId) once for each node with a filter matching `topic` (a valid topic name).
   * The visitor must not add to or remove from the replica while the match runs.
   */
  match(topic: string, visit: (nodeId: string) => void): void {
    if (this.#size === 0) return;
    const outer = this.#visit;
    this.#visit = visit;
    // a new stamp per match; wraps long before 2^53
    this.#stamp = this.#stamp === Number.MAX_SAFE_INTEGER ? 1 : this.#stamp + 1;
    try {
      const set = this.#exact.get(topic);
      if (set !== undefined) this.#emit(set);
      this.#wild.match(topic, this.#emit);
    } finally {
      this.#visit = outer;
    }
  }

  clear(): void {
    this.#exact.clear();
    this.#wild.clear();
    this.#ids.length = 0;
    this.#index.clear();
    this.#counts.length = 0;
    this.#free.length = 0;
    this.#seen.length = 0;
    this.#size = 0;
  }

  #intern(nodeId: string): number {
    let i = this.#index.get(nodeId);
    if (i !== undefined) return i;
    i = this.#free.pop() ?? this.#ids.length;
    this.#ids[i] = nodeId;
    this.#counts[i] = 0;
    this.#seen[i] = 0;
    this.#index.set(nodeId, i);
    return i;
  }

  /** A node's last route went: its index is reused by the next new node. */
  #release(i: number): void {
    this.#index.delete(this.#ids[i]);
    this.#ids[i] = '';
    this.#free.push(i);
  }
}

