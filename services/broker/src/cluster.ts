/**
 * Cluster mode (REDIS_URL or REDIS_CLUSTER_NODES): builds the Redis ports for createBroker,
 * reports readiness (Redis connected and the route replica loaded) and exports the cluster
 * metrics (names from deploy/grafana/README.md). Unset: single node, nothing here runs.
 */
import { createRedisPorts, type RedisPorts } from '@mqtt-broker/cluster-redis';
import type { BrokerPorts } from '@mqtt-broker/core';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BrokerConfig } from './config.js';

export interface ClusterMode {
  ports: BrokerPorts;
  /** Resolves once Redis answered and the route table was read (after createBroker). */
  synced(): Promise<void>;
  /** True while the Redis connection is up (and the first sync is done). */
  isReady(): boolean;
  /** Starts the heartbeat (once the node serves). */
  start(): Promise<void>;
  close(): Promise<void>;
  readonly redis: RedisPorts;
}

export function clusterConfigured(config: BrokerConfig): boolean {
  return config.redisUrl !== undefined || config.redisClusterNodes !== undefined;
}

export function createClusterMode(config: BrokerConfig, log: Logger, registry: Registry): ClusterMode {
  let lastErrorLog = 0;
  const redis = createRedisPorts({
    nodeId: config.nodeId,
    ...(config.redisUrl !== undefined ? { url: config.redisUrl } : {}),
    ...(config.redisClusterNodes !== undefined ? { clusterNodes: config.redisClusterNodes } : {}),
    onError: (err) => {
      const now = Date.now();
      if (now - lastErrorLog < 5000) return; // a Redis outage logs once per 5 s, not per command
      lastErrorLog = now;
      log.warn({ event: 'redis_error', err }, 'Redis error');
    },
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
  const stats = redis.bus.stats;
  new Gauge({
    name: 'mqtt_cluster_nodes',
    help: 'live nodes in the membership',
    registers: [registry],
    collect() {
      this.set(redis.membership.alive.length);
    },
  });
  new Counter({
    name: 'mqtt_cluster_forwarded_messages_total',
    help: 'messages sent to a peer node',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [peer, n] of stats.sentByPeer) this.inc({ peer }, n);
    },
  });
  new Counter({
    name: 'mqtt_cluster_received_messages_total',
    help: 'messages received from a peer node',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [peer, n] of stats.receivedByPeer) this.inc({ peer }, n);
    },
  });
  new Counter({
    name: 'mqtt_cluster_dropped_messages_total',
    help: 'QoS 0 messages to peer nodes dropped (Redis backlog over its bound)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.messagesDropped);
    },
  });
  new Counter({
    name: 'mqtt_cluster_bus_publishes_total',
    help: 'PUBLISH commands sent to node channels (one per destination node per event-loop turn)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.publishes);
    },
  });
  return {
    ports: redis.ports,
    redis,
    async synced() {
      // the route snapshot of the engine was requested first on the same connection: when this
      // answer arrives, that one has too
      await redis.routes.routes();
      synced = true;
    },
    isReady: () => synced && connected,
    start: () => redis.start(),
    close: () => redis.close(),
  };
}
