/**
 * createRedisPorts(): every core port on one Redis (or Redis Cluster), for one node.
 */
import type { BrokerPorts } from '@mqtt-broker/core';
import { RedisClientRegistry } from './client-registry.js';
import { Keys } from './keys.js';
import { RedisMembership } from './membership.js';
import { RedisNodeBus } from './node-bus.js';
import { createRedisClient, onReconnect, type RedisClient, type RedisConnectOptions } from './redis-client.js';
import { RedisRetainStore } from './retain-store.js';
import { RedisRouteTable } from './route-table.js';
import { RedisSessionStore } from './session-store.js';
import type { RedisTimer } from './timing.js';

export interface RedisPortsOptions extends RedisConnectOptions {
  nodeId: string;
  /** Key prefix (several clusters may share one Redis). */
  prefix?: string;
  heartbeatTtlMs?: number;
  /**
   * Cleanup after a dead (or departed) node: publish its wills, adopt its sessions, remove its
   * routes once the adopted ones are written, drain its inbox. Its remaining routes are removed after.
   */
  onNodeDead?: (nodeId: string) => Promise<void>;
  onError?: (error: unknown) => void;
  /** Use this client instead of connecting (it is closed by close()). */
  client?: RedisClient;
  /** Told the round trip of each command the ports send (timing.ts); for a latency histogram. */
  timer?: RedisTimer;
}

export interface RedisPorts {
  ports: Required<BrokerPorts>;
  client: RedisClient;
  keys: Keys;
  routes: RedisRouteTable;
  retained: RedisRetainStore;
  sessions: RedisSessionStore;
  registry: RedisClientRegistry;
  bus: RedisNodeBus;
  membership: RedisMembership;
  /** Starts the heartbeat (call once the node serves). */
  start(): Promise<void>;
  /**
   * Stops tails and subscriber, leaves the cluster (heartbeat deleted, the other nodes told: one
   * of them adopts what this node saved; the routes stay for it), then disconnects.
   */
  close(): Promise<void>;
}

export function createRedisPorts(options: RedisPortsOptions): RedisPorts {
  const client = options.client ?? createRedisClient(options);
  const onError = options.onError;
  const timer = options.timer;
  client.on('error', (e: unknown) => onError?.(e));
  const keys = new Keys(options.prefix);
  const routes = new RedisRouteTable(client, keys, { onError, timer });
  const retained = new RedisRetainStore(client, keys, options.nodeId, { onError, timer });
  const registry = new RedisClientRegistry(client, keys, timer);
  // session writes are fenced by this node's ownership of the client id (docs/cluster.md, "Fencing")
  const sessions = new RedisSessionStore(client, keys, { timer, nodeId: options.nodeId, epochOf: (clientId) => registry.epochOf(clientId) });
  const membership = new RedisMembership(client, keys, options.nodeId, {
    ttlMs: options.heartbeatTtlMs,
    removeRoutes: (nodeId) => routes.removeNode(nodeId),
    onNodeDead: options.onNodeDead,
    onError,
    timer,
  });
  const bus = new RedisNodeBus(client, keys, {
    nodeId: options.nodeId,
    isAlive: (n) => membership.isAlive(n),
    onTakeoverRequest: (clientId, epoch) => registry.forget(clientId, epoch),
    onError,
    timer,
  });
  let started = false;
  // Redis may have come back empty (restart without persistence): after every reconnect the node
  // writes again what it holds in memory. Heartbeat first (peers then wait for our takeover
  // replies), then the client registrations; routes are re-written by the route watchers' resync.
  const restoreAfterReconnect = async (): Promise<void> => {
    if (started) await membership.beat();
    await registry.restore();
  };
  onReconnect(client, () => {
    restoreAfterReconnect().catch((e: unknown) => onError?.(e));
  });
  return {
    ports: { sessions, retained, routes, bus, registry },
    client,
    keys,
    routes,
    retained,
    sessions,
    registry,
    bus,
    membership,
    async start() {
      started = true;
      await membership.start();
      await bus.watchLeaves(() => {
        membership.detect().catch((e: unknown) => onError?.(e));
      });
    },
    async close() {
      await routes.close();
      await retained.close();
      if (started) {
        try {
          await bus.announceLeft(await membership.leave());
        } catch (e) {
          onError?.(e);
        }
      }
      await bus.close();
      client.disconnect();
    },
  };
}
