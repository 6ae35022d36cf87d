/**
 * The set of (filter, node) routes a route watcher knows (route-table.ts keeps it to merge after
 * a Redis reconnect). It holds every route of the cluster, as many as the engine's replica, so it
 * is built like that replica (docs/capacity.md): one SplitMap entry per filter whose value is the
 * node id, or an array of node ids when several nodes have the filter; node id strings are
 * interned, and the filter string is the one the watcher hands to the engine, so a route costs a
 * map entry here and no string of its own. SplitMap keeps it below V8's 2^24-entry Map limit.
 * Filters are opaque strings here (shared routes carry a weight suffix).
 */
import { SplitMap } from '@mqtt-broker/topics';

export class RouteKeys {
  readonly #byFilter = new SplitMap<string | string[]>();
  readonly #nodeIds = new Map<string, string>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Adds the route; returns true when it was not there. */
  add(filter: string, nodeId: string): boolean {
    let id = this.#nodeIds.get(nodeId);
    if (id === undefined) {
      id = nodeId;
      this.#nodeIds.set(id, id);
    }
    const nodes = this.#byFilter.get(filter);
    if (nodes === undefined) this.#byFilter.set(filter, id);
    else if (typeof nodes === 'string') {
      if (nodes === id) return false;
      this.#byFilter.set(filter, [nodes, id]);
    } else {
      if (nodes.includes(id)) return false;
      nodes.push(id);
    }
    this.#size++;
    return true;
  }

  /** Removes the route; returns false when it was not there. */
  delete(filter: string, nodeId: string): boolean {
    const nodes = this.#byFilter.get(filter);
    if (nodes === undefined) return false;
    if (typeof nodes === 'string') {
      if (nodes !== nodeId) return false;
      this.#byFilter.delete(filter);
    } else {
      const at = nodes.indexOf(nodeId);
      if (at === -1) return false;
      nodes.splice(at, 1);
      if (nodes.length === 1) this.#byFilter.set(filter, nodes[0]);
    }
    this.#size--;
    return true;
  }

  has(filter: string, nodeId: string): boolean {
    const nodes = this.#byFilter.get(filter);
    if (nodes === undefined) return false;
    return typeof nodes === 'string' ? nodes === nodeId : nodes.includes(nodeId);
  }

  *routes(): IterableIterator<{ filter: string; nodeId: string }> {
    for (const [filter, nodes] of this.#byFilter.entries()) {
      if (typeof nodes === 'string') yield { filter, nodeId: nodes };
      else for (const nodeId of nodes) yield { filter, nodeId };
    }
  }
}
