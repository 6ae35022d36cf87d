/**
 * Cluster membership: every node refreshes a heartbeat key with a TTL (`SET ... PX`) and is
 * listed in a sorted set of members. A member whose heartbeat key is gone is dead or has left;
 * the first survivor to win `SET NX` on its cleanup key runs `onNodeDead` (wills, sessions
 * adopted, their routes written, then the dead node's routes removed and its inbox drained),
 * removes whatever routes of it are left, then drops it from the member set.
 *
 * A node that stops gracefully leaves the same way (docs/cluster.md, "Drain"): it keeps its
 * routes and member entry, deletes its heartbeat (`leave`) and tells the others (node bus), so
 * that a survivor's cleanup starts at once instead of a TTL later. A node starting again under
 * the same id first waits for that cleanup (`awaitOwnCleanup`).
 */
import type { Keys } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { type RedisTimer, timed } from './timing.js';

export interface MembershipOptions {
  /** Heartbeat TTL; a node is declared dead this long after its last heartbeat. */
  ttlMs?: number;
  /** Cleanup work after a dead node (its routes are removed by `removeRoutes`). */
  onNodeDead?: (nodeId: string) => Promise<void>;
  removeRoutes?: (nodeId: string) => Promise<void>;
  onError?: (error: unknown) => void;
  /** Told how long each heartbeat/membership command took. */
  timer?: RedisTimer;
}

export class RedisMembership {
  private heartbeatTimer: NodeJS.Timeout | undefined = undefined;
  private detectTimer: NodeJS.Timeout | undefined = undefined;
  private readonly ttlMs: number;
  /** Nodes seen alive at the last check (this one included). */
  alive: string[] = [];
  /** Dead nodes this node cleaned up. */
  cleanedUp = 0;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
    readonly nodeId: string,
    private readonly options: MembershipOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 5000;
  }

  async start(): Promise<void> {
    await this.beat();
    this.heartbeatTimer = setInterval(() => this.beat().catch((e: unknown) => this.options.onError?.(e)), Math.max(100, Math.floor(this.ttlMs / 3)));
    this.detectTimer = setInterval(() => this.detect().catch((e: unknown) => this.options.onError?.(e)), Math.max(100, Math.floor(this.ttlMs / 2)));
    this.heartbeatTimer.unref();
    this.detectTimer.unref();
  }

  /** Writes the heartbeat and the member entry now (also right after a Redis reconnect). */
  async beat(): Promise<void> {
    await this.timed(this.client.set(this.keys.heartbeat(this.nodeId), String(Date.now()), 'PX', this.ttlMs));
    await this.timed(this.client.zadd(this.keys.members, Date.now(), this.nodeId));
  }

  async isAlive(nodeId: string): Promise<boolean> {
    return (await this.timed(this.client.exists(this.keys.heartbeat(nodeId)))) === 1;
  }

  /** The members whose heartbeat is alive now (read from Redis, this node included), sorted. */
  async liveNodes(): Promise<string[]> {
    const members = await this.timed(this.client.zrange(this.keys.members, 0, -1));
    const alive = await Promise.all(members.map(async (nodeId) => nodeId === this.nodeId || (await this.isAlive(nodeId))));
    const live = members.filter((_, i) => alive[i]);
    if (!live.includes(this.nodeId)) live.push(this.nodeId);
    return live.sort();
  }

  private timed<T>(p: Promise<T>): Promise<T> {
    return timed(this.options.timer, 'heartbeat', p);
  }

  /** Finds dead members and cleans up after those this node wins the lock for. */
  async detect(): Promise<void> {
    const members = await this.timed(this.client.zrange(this.keys.members, 0, -1));
    const alive: string[] = [];
    for (const nodeId of members) {
      if (nodeId === this.nodeId || (await this.isAlive(nodeId))) alive.push(nodeId);
      else await this.cleanUp(nodeId);
    }
    this.alive = alive;
  }

  /**
   * Cleans up after `nodeId` now if its heartbeat is gone and this node wins its cleanup lock
   * (a survivor that already holds the lock, this one included, is left to finish). Called by
   * `detect`, and at once by a node whose connecting client waits for that node (takeover.ts):
   * the client then waits for the heartbeat TTL, not for the next detection round as well.
   */
  async cleanUp(nodeId: string): Promise<void> {
    if (nodeId === this.nodeId || (await this.isAlive(nodeId))) return;
    if ((await this.client.zscore(this.keys.members, nodeId)) === null) return; // cleaned up already
    const won = await this.client.set(this.keys.cleanup(nodeId), this.nodeId, 'PX', 30_000, 'NX');
    if (won !== 'OK') return;
    // the routes stay until the adopted sessions' routes are written (onNodeDead removes them
    // then); removed here too when there is no onNodeDead or it left some
    await this.options.onNodeDead?.(nodeId);
    await this.options.removeRoutes?.(nodeId);
    await this.client.zrem(this.keys.members, nodeId);
    this.cleanedUp++;
  }

  /** Stops the heartbeat and detection timers (nothing written). */
  stopTimers(): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    if (this.detectTimer !== undefined) clearInterval(this.detectTimer);
    this.heartbeatTimer = undefined;
    this.detectTimer = undefined;
  }

  /**
   * Leaves the cluster (graceful stop) as a dead node would, announced: the heartbeat is deleted,
   * the member entry stays until a survivor has cleaned up (adopted the sessions, drained the
   * inbox). Returns the other live members, to be told (node bus) so that they clean up now.
   */
  async leave(): Promise<string[]> {
    this.stopTimers();
    const others = (await this.liveNodes()).filter((n) => n !== this.nodeId);
    await this.client.del(this.keys.heartbeat(this.nodeId));
    if (others.length === 0) {
      // nobody to clean up: what this node saved stays in Redis for whoever starts next
      // (the inbox was drained into the saved sessions by the engine's stop)
      await this.client.zrem(this.keys.members, this.nodeId);
    }
    return others;
  }

  /** Old name of `leave` (kept for callers that do not announce). */
  async stop(): Promise<void> {
    await this.leave();
  }

  /**
   * Before this node serves again under the same id: if a previous run left (or died) and a
   * survivor is cleaning up after it (member entry, no heartbeat, other live nodes), waits until
   * that cleanup is done (at most `maxMs`), so that it does not remove routes or drain an inbox
   * this run already uses.
   */
  async awaitOwnCleanup(maxMs: number): Promise<void> {
    try {
      await this.awaitCleanupOfPreviousRun(maxMs);
    } finally {
      // a previous run's adoption mark would tell clients waiting for this run's death that its
      // sessions are restored already (DurablePort.cleanupState)
      await this.client.del(this.keys.adopted(this.nodeId));
    }
  }

  private async awaitCleanupOfPreviousRun(maxMs: number): Promise<void> {
    const deadline = Date.now() + maxMs;
    while (Date.now() < deadline) {
      const [member, alive] = await Promise.all([this.client.zscore(this.keys.members, this.nodeId), this.client.exists(this.keys.heartbeat(this.nodeId))]);
      if (member === null || alive === 1) return;
      const others = (await this.liveNodes()).filter((n) => n !== this.nodeId);
      if (others.length === 0) {
        await this.client.zrem(this.keys.members, this.nodeId); // nobody will: this run takes over
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
