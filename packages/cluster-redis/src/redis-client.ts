/**
 * How the ports reach Redis: one command connection shared by every port (ioredis pipelines
 * commands on it in call order), plus dedicated connections for blocking stream reads and for
 * pub/sub, made with `duplicate()`. Works the same with a single Redis (`Redis`) or Redis
 * Cluster (`Cluster`).
 */
import { Cluster, Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;

export interface RedisConnectOptions {
  /** redis://host:port (single Redis). */
  url?: string;
  /** host:port list (Redis Cluster). */
  clusterNodes?: Array<{ host: string; port: number }>;
}

/** A command connection; it connects lazily and reconnects forever (offline commands are queued). */
export function createRedisClient(options: RedisConnectOptions): RedisClient {
  if (options.clusterNodes !== undefined && options.clusterNodes.length > 0) {
    return new Cluster(options.clusterNodes, {
      shardedSubscribers: true,
      redisOptions: { maxRetriesPerRequest: null },
      clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
    });
  }
  if (options.url === undefined) throw new TypeError('a Redis URL or cluster nodes are required');
  return new Redis(options.url, {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(50 * times, 1000),
  });
}

/**
 * Calls `listener` every time the client becomes ready again after having been ready once: Redis
 * may have restarted empty, so watchers resync and the engine re-writes its state.
 */
export function onReconnect(client: RedisClient, listener: () => void): void {
  let connectedBefore = client.status === 'ready';
  client.on('ready', () => {
    if (connectedBefore) listener();
    connectedBefore = true;
  });
}

/** A command refused at once because the connection to Redis is down (not queued until it returns). */
export class RedisUnavailableError extends Error {
  readonly code = 'REDIS_UNAVAILABLE';
  constructor(what: string) {
    super(`Redis is not connected: ${what} not attempted`);
    this.name = 'RedisUnavailableError';
  }
}

/** Throws RedisUnavailableError unless the connection is up (for calls that must not wait for Redis). */
export function assertReady(client: RedisClient, what: string): void {
  if (client.status !== 'ready') throw new RedisUnavailableError(what);
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

export async function evalScript(client: RedisClient, script: string, keys: string[], args: Array<string | number | Buffer>): Promise<unknown> {
  return client.eval(script, keys.length, ...keys, ...args);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
