/**
 * RouteTable on Redis: a hash of (node, filter) pairs plus a change stream, written together by
 * one Lua script; `watch` tails the stream (see stream-tail.ts) and re-snapshots when it fell
 * behind the trimmed stream.
 *
 * After a Redis reconnect the table may be empty (Redis restarted without persistence) and the
 * other nodes re-write their routes only when THEY reconnect, which ioredis's backoff can put up
 * to a second or more after this node. A plain resync would drop their routes from this node's
 * replica meanwhile, so messages for them would not be forwarded (and a QoS 1 publisher would
 * be acknowledged for a message its remote subscriber never gets). So each watcher keeps the set
 * of routes it knows (`known`, a RouteKeys: as many routes as the engine's replica, sharing its
 * filter strings, a map entry per route), the first resync after a
 * reconnect hands over the union of the snapshot and the known routes, and a plain resync
 * `reconnectGraceMs` later (default 5 s) removes what really went away. Forwarding to a node
 * that no longer has the route is harmless: it delivers to nobody.
 */
import type { RouteChange, RouteTable } from '@mqtt-broker/core';
import { type Keys, parseRouteField, routeField } from './keys.js';
import { RouteKeys } from './route-keys.js';
import { ADD_ROUTE, LAST_ID, REMOVE_NODE_ROUTES, REMOVE_ROUTE, SNAPSHOT_FIELDS } from './lua.js';
import { evalScript, onReconnect, type RedisClient } from './redis-client.js';
import { StreamTail } from './stream-tail.js';
import { type RedisTimer, timed } from './timing.js';

export interface RouteTableOptions {
  /** Approximate length the change stream is trimmed to. */
  streamMaxLen?: number;
  /** After a reconnect, routes known before it are kept this long while the other nodes re-write theirs. */
  reconnectGraceMs?: number;
  onError?: (error: unknown) => void;
  /** Told how long each route command took. */
  timer?: RedisTimer;
}

/**
 * A snapshot field as a route whose filter is a string of its own: a slice of the field would keep
 * the whole `node\0filter` string alive as long as the engine's replica holds the filter (about
 * 30 B more per route on a node that started from, or resynced to, a snapshot).
 */
function flatRoute(field: string): { filter: string; nodeId: string } {
  const r = parseRouteField(field);
  return { nodeId: r.nodeId, filter: Buffer.from(r.filter, 'utf8').toString('utf8') };
}

export class RedisRouteTable implements RouteTable {
  private readonly maxLen: number;
  private readonly tails = new Map<StreamTail, () => void>();

  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
    private readonly options: RouteTableOptions = {},
  ) {
    this.maxLen = options.streamMaxLen ?? 10_000;
  }

  async addRoute(filter: string, nodeId: string): Promise<void> {
    await this.timed(evalScript(this.client, ADD_ROUTE, [this.keys.routes, this.keys.routeChanges], [routeField(filter, nodeId), nodeId, filter, this.maxLen]));
  }

  async removeRoute(filter: string, nodeId: string): Promise<void> {
    await this.timed(evalScript(this.client, REMOVE_ROUTE, [this.keys.routes, this.keys.routeChanges], [routeField(filter, nodeId), nodeId, filter, this.maxLen]));
  }

  async removeNode(nodeId: string): Promise<void> {
    await this.timed(evalScript(this.client, REMOVE_NODE_ROUTES, [this.keys.routes, this.keys.routeChanges], [nodeId, this.maxLen]));
  }

  async routes(): Promise<Array<{ filter: string; nodeId: string }>> {
    return (await this.snapshot()).routes;
  }

  /** All routes and the change-stream id they correspond to (one atomic read). */
  async snapshot(): Promise<{ id: string; routes: Array<{ filter: string; nodeId: string }> }> {
    const reply = (await this.timed(evalScript(this.client, SNAPSHOT_FIELDS, [this.keys.routes, this.keys.routeChanges], []))) as string[];
    return { id: reply[0], routes: reply.slice(1).map(flatRoute) };
  }

  /**
   * Changes after the call, in order. When the watcher fell behind the trimmed stream,
   * `onResync` receives a full snapshot (the listener's state must be replaced by it); without
   * `onResync` the snapshot's routes are replayed as adds.
   */
  watch(listener: (change: RouteChange) => void, onResync?: (routes: Array<{ filter: string; nodeId: string }>) => void): () => void {
    const startId = evalScript(this.client, LAST_ID, [this.keys.routeChanges], []) as Promise<string>;
    let known = new RouteKeys();
    let merge = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const tail: StreamTail = new StreamTail({
      reader: this.client.duplicate(),
      key: this.keys.routeChanges,
      startId,
      onEntry: (_id, f) => {
        const op = f.get('op')?.toString();
        const nodeId = f.get('node')?.toString() ?? '';
        const filter = f.get('filter')?.toString() ?? '';
        if (op === 'a') {
          known.add(filter, nodeId);
          listener({ op: 'add', filter, nodeId });
        } else if (op === 'r') {
          known.delete(filter, nodeId);
          listener({ op: 'remove', filter, nodeId });
        }
      },
      resync: async () => {
        const snap = await this.snapshot();
        const routes = snap.routes;
        const fields = new RouteKeys();
        for (const r of routes) fields.add(r.filter, r.nodeId);
        if (merge) {
          merge = false;
          for (const r of known.routes()) if (fields.add(r.filter, r.nodeId)) routes.push(r);
          if (graceTimer !== undefined) clearTimeout(graceTimer);
          graceTimer = setTimeout(() => tail.requestResync(), this.options.reconnectGraceMs ?? 5000);
          graceTimer.unref();
        }
        known = fields;
        if (onResync !== undefined) onResync(routes);
        else for (const r of routes) listener({ op: 'add', filter: r.filter, nodeId: r.nodeId });
        return snap.id;
      },
      onError: this.options.onError,
    });
    this.tails.set(tail, () => {
      merge = true;
      tail.requestResync();
    });
    this.watchReconnects();
    return () => {
      if (graceTimer !== undefined) clearTimeout(graceTimer);
      if (this.tails.delete(tail)) tail.stop().catch(() => {});
    };
  }

  private timed<T>(p: Promise<T>): Promise<T> {
    return timed(this.options.timer, 'route', p);
  }

  private watchingReconnects = false;

  /** After a reconnect Redis may have restarted empty: every watcher resyncs (and the engine re-writes its state). */
  private watchReconnects(): void {
    if (this.watchingReconnects) return;
    this.watchingReconnects = true;
    onReconnect(this.client, () => {
      for (const reconnected of this.tails.values()) reconnected();
    });
  }

  async close(): Promise<void> {
    const tails = [...this.tails.keys()];
    this.tails.clear();
    await Promise.all(tails.map((t) => t.stop()));
  }
}
