import type { RouteChange, RouteTable } from '@mqtt-broker/core';

/** Routes as a set of (filter, node) pairs; watchers are told of changes asynchronously, in order. */
export class MemoryRouteTable implements RouteTable {
  private readonly routesByKey = new Map<string, { filter: string; nodeId: string }>();
  private readonly watchers = new Set<(change: RouteChange) => void>();

  async addRoute(filter: string, nodeId: string): Promise<void> {
    const key = `${nodeId}\u0000${filter}`;
    if (this.routesByKey.has(key)) return;
    this.routesByKey.set(key, { filter, nodeId });
    this.emit({ op: 'add', filter, nodeId });
  }

  async removeRoute(filter: string, nodeId: string): Promise<void> {
    if (this.routesByKey.delete(`${nodeId}\u0000${filter}`)) this.emit({ op: 'remove', filter, nodeId });
  }

  async removeNode(nodeId: string): Promise<void> {
    for (const r of [...this.routesByKey.values()]) if (r.nodeId === nodeId) await this.removeRoute(r.filter, nodeId);
  }

  async routes(): Promise<Array<{ filter: string; nodeId: string }>> {
    return [...this.routesByKey.values()].map((r) => ({ ...r }));
  }

  watch(listener: (change: RouteChange) => void): () => void {
    this.watchers.add(listener);
    return () => {
      this.watchers.delete(listener);
    };
  }

  private emit(change: RouteChange): void {
    const targets = [...this.watchers];
    queueMicrotask(() => {
      for (const w of targets) if (this.watchers.has(w)) w(change);
    });
  }
}
