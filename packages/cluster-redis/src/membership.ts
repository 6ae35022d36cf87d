/**
 * Cluster membership: every node refreshes a heartbeat key with a TTL (`SET ... PX`) and is
 * listed in a sorted set of members. A member whose heartbeat key expired is dead; the first
 * survivor to win `SET NX` on the dead node's cleanup key removes its routes and runs
 * `onNodeDead` (wills, sessions), then drops it from the member set.
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
      if (nodeId === this.nodeId || (await this.isAlive(nodeId))) {
        alive.push(nodeId);
        continue;
      }
      const won = await this.client.set(this.keys.cleanup(nodeId), this.nodeId, 'PX', 30_000, 'NX');
      if (won !== 'OK') continue;
      await this.options.removeRoutes?.(nodeId);
      await this.options.onNodeDead?.(nodeId);
      await this.client.zrem(this.keys.members, nodeId);
      this.cleanedUp++;
    }
    this.alive = alive;
  }

  /** Leaves the cluster (graceful stop): heartbeat and membership removed. */
  async stop(): Promise<void> {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    if (this.detectTimer !== undefined) clearInterval(this.detectTimer);
    this.heartbeatTimer = undefined;
    this.detectTimer = undefined;
    await this.client.del(this.keys.heartbeat(this.nodeId));
    await this.client.zrem(this.keys.members, this.nodeId);
  }
}
