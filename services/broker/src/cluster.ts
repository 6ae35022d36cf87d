/**
 * Cluster mode (REDIS_URL or REDIS_CLUSTER_NODES): builds the Redis ports for createBroker,
 * reports readiness (Redis connected and the route replica loaded) and exports the cluster
 * metrics (cluster-metrics.ts; names from deploy/grafana/README.md). Unset: single node, nothing here runs.
 */
import { ClusterAdminFacade, createRedisPorts, RedisDurable, type RedisPorts } from '@mqtt-broker/cluster-redis';
import type { AdminFacade, BrokerPorts, DurablePort } from '@mqtt-broker/core';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { RedisLatencyHistogram, registerClusterMetrics } from './cluster-metrics.js';
import type { BrokerConfig } from './config.js';

export interface ClusterMode {
  ports: BrokerPorts;
  /** Durable cross-node QoS 1/2 (node inboxes), wills and session adoption after a node died. */
  durable: DurablePort;
  /** Resolves once Redis answered and the route table was read (after createBroker). */
  synced(): Promise<void>;
  /** True while the Redis connection is up (and the first sync is done). */
  isReady(): boolean;
  /** Starts the heartbeat (once the node serves). */
  start(): Promise<void>;
  /**
   * The admin facade for the whole cluster over this node's `local` one; it also answers the
   * other nodes' admin requests with `local` (started here, whether or not GRPC_PORT is on).
   */
  adminFacade(local: AdminFacade): AdminFacade;
  /**
   * Before serving: when a previous run under this node id left or died and a survivor is still
   * cleaning up after it, waits for that (bounded), so this run starts from a clean slate.
   */
  awaitPreviousRun(): Promise<void>;
  close(): Promise<void>;
  readonly redis: RedisPorts;
}

/** A gate that opens at most once per `ms`: true when the caller may log now. */
function oncePer(ms: number): () => boolean {
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    const now = Date.now();
    if (now - last < ms) return false;
    last = now;
    return true;
  };
}

export function clusterConfigured(config: BrokerConfig): boolean {
  return config.redisUrl !== undefined || config.redisClusterNodes !== undefined;
}

export function createClusterMode(config: BrokerConfig, log: Logger, registry: Registry): ClusterMode {
  // A Redis outage, or a lagging route replica, logs once per 5 s, not once per command.
  const redisErrorLog = oncePer(5000);
  const sealedLog = oncePer(5000);
  const heartbeatTtlMs = config.clusterHeartbeatTtlMs;
  let durable: RedisDurable | undefined;
  const latency = new RedisLatencyHistogram(registry);
  const redis = createRedisPorts({
    nodeId: config.nodeId,
    heartbeatTtlMs,
    timer: latency.observe,
    onNodeDead: async (deadNodeId) => {
      const t0 = Date.now();
      await durable?.nodeDead(deadNodeId);
      log.info({ event: 'node_cleaned_up', deadNodeId, ms: Date.now() - t0 }, 'cleaned up after a dead node');
    },
    ...(config.redisUrl !== undefined ? { url: config.redisUrl } : {}),
    ...(config.redisClusterNodes !== undefined ? { clusterNodes: config.redisClusterNodes } : {}),
    onError: (err) => {
      if (redisErrorLog()) log.warn({ event: 'redis_error', err }, 'Redis error');
    },
  });
  // a stale node's refused session write (docs/cluster.md, "Fencing"): logged once per client
  redis.sessions.onFenced((clientId, write) => {
    if (write.first) log.warn({ event: 'session_write_fenced', clientId, op: write.op, owner: write.owner }, 'session write refused: another node owns the client now');
  });
  durable = new RedisDurable(redis.client, redis.keys, {
    nodeId: config.nodeId,
    sessions: redis.sessions,
    cleanupWaitMs: heartbeatTtlMs * 2 + 10_000,
    drainWillGraceMs: config.drainWillGraceSeconds * 1000,
    cleanUpNow: (nodeId) => redis.membership.cleanUp(nodeId),
    onError: (err) => log.debug({ err }, 'durable inbox error'),
    onOrphaned: (deadNodeId, messages) =>
      log.warn({ event: 'orphaned_inbox_drained', deadNodeId, messages }, 'messages appended to a dead node inbox after its drain were delivered (a lagging node still routed to it)'),
    // a lagging node sees the route removal within about a heartbeat TTL, or is taken for dead
    orphanChecksMs: [heartbeatTtlMs / 5, heartbeatTtlMs, heartbeatTtlMs * 3],
    onSealed: (deadNodeId, messages) => {
      if (!sealedLog()) return;
      log.warn({ event: 'append_to_sealed_inbox', deadNodeId, messages }, 'refused: this node still routed to a node cleaned up long ago (its route replica lags); the publishers were not acknowledged');
    },
    timer: latency.observe,
  });
  let synced = false;
  let connected = false;
  const reconnects = new Counter({ name: 'mqtt_redis_reconnects_total', help: 'Redis connection losses', registers: [registry] });
  redis.client.on('ready', () => {
    connected = true;
    log.info({ event: 'redis_ready' }, 'Redis connected');
  });
  redis.client.on('close', () => {
    if (connected) reconnects.inc();
    connected = false;
  });
  registerClusterMetrics(registry, config.nodeId, redis, durable.stats);
  const durablePort = durable;
  let admin: ClusterAdminFacade | undefined;
  return {
    ports: redis.ports,
    durable: durablePort,
    redis,
    async synced() {
      // the route snapshot of the engine was requested first on the same connection: when this
      // answer arrives, that one has too
      await redis.routes.routes();
      synced = true;
    },
    isReady: () => synced && connected,
    start: () => redis.start(),
    adminFacade(local) {
      admin?.stop();
      admin = new ClusterAdminFacade({
        nodeId: config.nodeId,
        local,
        bus: redis.bus,
        membership: redis.membership,
        sessions: redis.sessions.unfenced(), // an operator's discard of a session no node holds
        timeoutMs: config.adminFanoutTimeoutMs,
        onError: (err) => log.warn({ event: 'admin_fanout_error', err }, 'admin fan-out: a node failed to answer'),
      });
      const serving = admin;
      serving.serve().catch((err: unknown) => log.error({ err }, 'admin fan-out: cannot serve requests'));
      return serving;
    },
    awaitPreviousRun: () => redis.membership.awaitOwnCleanup(heartbeatTtlMs * 2 + 5000),
    close: async () => {
      admin?.stop();
      // leave as a dead node would, announced (docs/cluster.md, "Drain"): no wills left to
      // publish, routes and saved sessions kept for the survivor that adopts them
      await durablePort.leave().catch((err: unknown) => log.warn({ err }, 'could not delete the stored wills'));
      await durablePort.close();
      await redis.close();
    },
  };
}
