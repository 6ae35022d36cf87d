/**
 * RouteTable on Redis: a hash of (node, filter) pairs plus a change stream, written together by
 * one Lua script; `watch` tails the stream (see stream-tail.ts) and resyncs when it fell behind
 * the trimmed stream.
 *
 * A resync is paged and in place (docs/capacity.md, "What breaks first"): the watcher's routes are
 * kept while HSCAN pages of the table are handed to it (RouteResync.page: kept or added), then the
 * routes it holds are checked against the table in chunks (MISSING_ROUTES) and those gone are dropped. No
 * step holds more than a page of routes besides the watcher's own state, and a publish during the
 * resync still reaches every node that had a route before and still has it. Why nothing is missed
 * without one atomic read (SNAPSHOT_FIELDS): see `resyncPaged`.
 *
 * After a Redis reconnect the table may be empty (Redis restarted without persistence) and the
 * other nodes re-write their routes only when THEY reconnect, which ioredis's backoff can put up
 * to a second or more after this node. A sweeping resync would drop their routes from this node's
 * replica meanwhile, so messages for them would not be forwarded (and a QoS 1 publisher would
 * be acknowledged for a message its remote subscriber never gets). So the first resync after a
 * reconnect only adds (the union of the table and what the watcher knows: nothing known is
 * dropped), and a sweeping resync `reconnectGraceMs` later (default 5 s) removes what really went
 * away. Forwarding to a node that no longer has the route is harmless: it delivers to nobody.
 */
import type { RouteChange, RouteResync, RouteTable } from '@mqtt-broker/core';
import { type Keys, parseRouteField, routeField } from './keys.js';
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
  /** Routes per HSCAN page and per chunk of routes checked by a resync (default 2000). */
  resyncPageSize?: number;
}

type Route = { filter: string; nodeId: string };

/**
 * KEYS: routes hash. ARGV: cursor, count. One HSCAN page with each `node\0filter` field split:
 * {next cursor, node, filter, node, filter, ...}. The filters arrive as strings of their own (no
 * slice of a field kept alive by the replica, no copy made here).
 */
const SCAN_ROUTES = `
local page = redis.call('HSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])
local out = {page[1]}
local kv = page[2]
for i = 1, #kv, 2 do
  local f = kv[i]
  local z = string.find(f, '\0', 1, true)
  out[#out + 1] = string.sub(f, 1, z - 1)
  out[#out + 1] = string.sub(f, z + 1)
end
return out`;

/** KEYS: routes hash. ARGV: node, filter, node, filter, ... Returns the (0-based) positions of the routes not in the hash. */
const MISSING_ROUTES = `
local out = {}
for i = 1, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], ARGV[i] .. '\0' .. ARGV[i + 1]) == 0 then out[#out + 1] = (i - 1) / 2 end
end
return out`;

/**
 * A snapshot field as a route whose filter is a string of its own: a slice of the field would keep
 * the whole `node\0filter` string alive as long as the engine's replica holds the filter (about
 * 30 B more per route on a node that started from, or resynced to, a snapshot).
 */
function flatRoute(field: string): Route {
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

  /**
   * All routes and the change-stream id they correspond to (one atomic read; the whole table in one
   * reply, so a node reads it this way only at start, when it holds no routes yet).
   */
  async snapshot(): Promise<{ id: string; routes: Array<{ filter: string; nodeId: string }> }> {
    const reply = (await this.timed(evalScript(this.client, SNAPSHOT_FIELDS, [this.keys.routes, this.keys.routeChanges], []))) as string[];
    return { id: reply[0], routes: reply.slice(1).map(flatRoute) };
  }

  /**
   * Changes after the call, in order. When the watcher fell behind the trimmed stream (or Redis
   * reconnected), `onResync` gets the table in pages and then the routes it holds that are gone
   * (RouteResync); without `onResync` the table's routes are replayed as adds.
   */
  watch(listener: (change: RouteChange) => void, onResync?: RouteResync): () => void {
    const startId = evalScript(this.client, LAST_ID, [this.keys.routeChanges], []) as Promise<string>;
    let union = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const tail: StreamTail = new StreamTail({
      reader: this.client.duplicate(),
      key: this.keys.routeChanges,
      startId,
      onEntry: (_id, f) => {
        const op = f.get('op')?.toString();
        const nodeId = f.get('node')?.toString() ?? '';
        const filter = f.get('filter')?.toString() ?? '';
        if (op === 'a') listener({ op: 'add', filter, nodeId });
        else if (op === 'r') listener({ op: 'remove', filter, nodeId });
      },
      resync: async () => {
        // a reconnect while this resync runs sets `union` again (and requests another resync)
        const merging = union;
        union = false;
        const target: RouteResync = onResync ?? {
          begin: () => {},
          page: (routes) => {
            for (const r of routes) listener({ op: 'add', filter: r.filter, nodeId: r.nodeId });
          },
          held: () => [],
          drop: () => {},
          end: () => {},
        };
        let id: string;
        try {
          // a reconnect during a sweeping resync stops its sweep (the table may have come back empty)
          id = await this.resyncPaged(target, () => !merging && !union);
        } catch (e) {
          if (merging) union = true;
          tail.requestResync(); // the tail keeps its position after a failed resync: try again
          throw e;
        }
        if (merging) {
          if (graceTimer !== undefined) clearTimeout(graceTimer);
          graceTimer = setTimeout(() => tail.requestResync(), this.options.reconnectGraceMs ?? 5000);
          graceTimer.unref();
        }
        return id;
      },
      onError: this.options.onError,
    });
    this.tails.set(tail, () => {
      union = true;
      tail.requestResync();
    });
    this.watchReconnects();
    return () => {
      if (graceTimer !== undefined) clearTimeout(graceTimer);
      if (this.tails.delete(tail)) tail.stop().catch(() => {});
    };
  }

  /**
   * One paged resync of `target`; returns the change-stream id the tail continues from.
   *
   * Consistency without one atomic read (SNAPSHOT_FIELDS reads id and fields in one script): the
   * stream's last id L is read first, then the table in HSCAN pages, then the target's routes are
   * checked (MISSING_ROUTES); the tail then applies every change after L, in order. Take a route r. If
   * some change to r came after L, the last of them is applied after the resync and decides r
   * (adds and removes are idempotent), whatever the pages and the check said. If none did, r was
   * in the table, or not, from L until the end of the resync: HSCAN returns every field present
   * for its whole iteration and none absent for all of it, so a page names r exactly when r is in
   * the table, and the check drops r exactly when it is not. Either way the target ends with the
   * table's routes. Changes after L that the tail cannot read any more (trimmed during a long
   * resync) are detected as usual and cause another resync.
   */
  private async resyncPaged(target: RouteResync, sweep: () => boolean): Promise<string> {
    const count = this.options.resyncPageSize ?? 2000;
    const id = (await this.timed(evalScript(this.client, LAST_ID, [this.keys.routeChanges], []))) as string;
    target.begin();
    let cursor = '0';
    do {
      const reply = (await this.timed(evalScript(this.client, SCAN_ROUTES, [this.keys.routes], [cursor, count]))) as string[];
      cursor = reply[0];
      const page: Route[] = [];
      for (let i = 1; i + 1 < reply.length; i += 2) page.push({ nodeId: reply[i], filter: reply[i + 1] });
      target.page(page);
    } while (cursor !== '0');
    const swept = sweep() && (await this.sweep(target, count, sweep));
    target.end(swept);
    return id;
  }

  /**
   * Drops the target's routes that are not in the table, checked `count` at a time. The ones gone
   * are dropped after the whole pass (the target's iterator must not see its state change); false
   * when `sweep()` turned false meanwhile (nothing dropped).
   */
  private async sweep(target: RouteResync, count: number, sweep: () => boolean): Promise<boolean> {
    const gone: string[] = [];
    // node, filter, node, filter, ...: the target's own strings, and nothing per route that lives
    // across the round trip (what is alive at a scavenge during the await ends up in the old
    // generation, which then grows until the next full GC: the resync's peak)
    let args: string[] = [];
    const check = async (): Promise<void> => {
      const missing = (await this.timed(evalScript(this.client, MISSING_ROUTES, [this.keys.routes], args))) as number[];
      for (const i of missing) gone.push(args[2 * i], args[2 * i + 1]);
      args = [];
    };
    for (const [filter, nodeId] of target.held()) {
      args.push(nodeId, filter);
      if (args.length >= 2 * count) await check();
    }
    if (args.length > 0) await check();
    if (!sweep()) return false;
    for (let i = 0; i + 1 < gone.length; i += 2) target.drop(gone[i + 1], gone[i]);
    return true;
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
