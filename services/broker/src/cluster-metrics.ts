/**
 * The cluster's Prometheus metrics (names queried by deploy/grafana/dashboards/mqtt-broker.json,
 * listed in deploy/grafana/README.md). Like metrics.ts, nothing here costs a prom-client call per
 * message or per Redis command: the ports count in plain numbers (bus and durable stats) and the
 * Redis latency histogram keeps its buckets as plain counters per operation; prom-client reads
 * them when Prometheus scrapes. The inbox stream lag (one XLEN) and the live node count are read
 * from Redis on scrape, at most every POLL_MS (a scrape never waits more than READ_TIMEOUT_MS).
 */
import { inboxLag, REDIS_OPS, type RedisDurableStats, type RedisOp, type RedisPorts, type RedisTimer } from '@mqtt-broker/cluster-redis';
import { Counter, Gauge, type Metric, type Registry } from 'prom-client';

/** Seconds: 100 us .. 2.5 s (a healthy local Redis answers in well under a millisecond). */
export const REDIS_LATENCY_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const POLL_MS = 2000;
const READ_TIMEOUT_MS = 500;

interface OpTally {
  /** Observations per bucket (not cumulative); the last slot is above the largest bound. */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * `mqtt_redis_command_duration_seconds{command}`: a histogram whose buckets are plain numbers per
 * operation (`observe` is O(buckets) with no allocation), exported on scrape in the Prometheus
 * histogram layout (`_bucket{le}` cumulative, `_sum`, `_count`). Registered with the registry as
 * a custom metric object (name, help, type, get, reset), which prom-client renders like its own.
 */
export class RedisLatencyHistogram {
  readonly name = 'mqtt_redis_command_duration_seconds';
  readonly help = 'Redis command round trips, by what they were for (route, bus, stream, session, retained, registry, heartbeat)';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly byOp = new Map<RedisOp, OpTally>();
  /** Pass this to the ports (RedisPortsOptions.timer). */
  readonly observe: RedisTimer;

  constructor(registry: Registry) {
    for (const op of REDIS_OPS) this.byOp.set(op, { counts: new Array<number>(REDIS_LATENCY_BUCKETS.length + 1).fill(0), sum: 0, count: 0 });
    this.observe = (op, seconds) => {
      const t = this.byOp.get(op);
      if (t === undefined) return;
      let i = 0;
      while (i < REDIS_LATENCY_BUCKETS.length && seconds > REDIS_LATENCY_BUCKETS[i]) i++;
      t.counts[i]++;
      t.sum += seconds;
      t.count++;
    };
    registry.registerMetric(this as unknown as Metric);
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Array<{ value: number; labels: Record<string, string | number>; metricName: string }> }> {
    const values: Array<{ value: number; labels: Record<string, string | number>; metricName: string }> = [];
    for (const [command, t] of this.byOp) {
      let cumulative = 0;
      REDIS_LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += t.counts[i];
        values.push({ value: cumulative, labels: { le, command }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: t.count, labels: { le: '+Inf', command }, metricName: `${this.name}_bucket` });
      values.push({ value: t.sum, labels: { command }, metricName: `${this.name}_sum` });
      values.push({ value: t.count, labels: { command }, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const t of this.byOp.values()) {
      t.counts.fill(0);
      t.sum = 0;
      t.count = 0;
    }
  }
}

/** A counter read from a plain number on scrape. */
function tally(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** Registers every cluster metric except the latency histogram (made before the ports, which need its timer). */
export function registerClusterMetrics(registry: Registry, nodeId: string, redis: RedisPorts, durableStats: RedisDurableStats): void {
  const registers = [registry];
  const stats = redis.bus.stats;
  const liveNodes = polled(redis, async () => (await redis.membership.liveNodes()).length, () => redis.membership.alive.length);
  new Gauge({
    name: 'mqtt_cluster_nodes',
    help: 'live nodes in the membership (members with a current heartbeat; read on scrape, at most every 2 s)',
    registers,
    async collect() {
      this.set(await liveNodes());
    },
  });
  new Counter({
    name: 'mqtt_cluster_forwarded_messages_total',
    help: 'messages sent to a peer node',
    labelNames: ['peer'],
    registers,
    collect() {
      this.reset();
      for (const [peer, n] of stats.sentByPeer) this.inc({ peer }, n);
      for (const [peer, n] of durableStats.sentByPeer) this.inc({ peer }, n);
    },
  });
  new Counter({
    name: 'mqtt_cluster_received_messages_total',
    help: 'messages received from a peer node',
    labelNames: ['peer'],
    registers,
    collect() {
      this.reset();
      for (const [peer, n] of stats.receivedByPeer) this.inc({ peer }, n);
      for (const [peer, n] of durableStats.receivedByPeer) this.inc({ peer }, n);
    },
  });
  tally(registry, 'mqtt_cluster_dropped_messages_total', 'QoS 0 messages to peer nodes dropped (Redis backlog over its bound)', () => stats.messagesDropped);
  tally(registry, 'mqtt_cluster_bus_publishes_total', 'PUBLISH commands sent to node channels (one per destination node per event-loop turn)', () => stats.publishes);
  tally(registry, 'mqtt_cluster_durable_xadds_total', 'XADD commands to node inboxes (one per destination node per event-loop turn)', () => durableStats.xadds);
  tally(registry, 'mqtt_cluster_durable_appended_messages_total', 'QoS 1/2 messages appended to other nodes inboxes', () => durableStats.messagesAppended);
  tally(registry, 'mqtt_cluster_durable_consumed_messages_total', 'QoS 1/2 messages read from this node inbox', () => durableStats.messagesConsumed);
  tally(
    registry,
    'mqtt_cluster_durable_refused_total',
    'appends refused (Redis unavailable or backlog over its bound): no publisher was acknowledged for them',
    () => durableStats.appendsRefused,
  );
  tally(
    registry,
    'mqtt_cluster_fenced_writes_total',
    'session saves and deletes refused because another node owns the client id now (this node was stale; its copy was dropped)',
    () => redis.sessions.fencedWrites,
  );
  tally(registry, 'mqtt_cluster_sealed_out_messages_total', 'QoS 1/2 messages refused because their destination node was cleaned up and its inbox sealed (a lagging node routed to it; the publisher was not acknowledged)', () => durableStats.messagesSealedOut);
  tally(registry, 'mqtt_cluster_orphaned_messages_total', 'QoS 1/2 messages found in a dead node inbox after its drain and delivered (a lagging node routed to it)', () => durableStats.orphanedMessages);
  tally(registry, 'mqtt_sessions_adopted_total', 'persistent sessions of dead nodes adopted by this node', () => durableStats.sessionsAdopted);
  tally(registry, 'mqtt_cluster_dead_node_wills_total', 'wills of dead nodes clients published by this node', () => durableStats.willsPublished);
  new Counter({
    name: 'mqtt_session_takeovers_total',
    help: 'cross-node session takeovers: took (a client connecting here took its session from another node), gave (this node handed one over)',
    labelNames: ['side'],
    registers,
    collect() {
      this.reset();
      this.inc({ side: 'took' }, stats.takeoversTaken);
      this.inc({ side: 'gave' }, stats.takeoversGiven);
    },
  });
  const lag = polled(redis, () => inboxLag(redis.client, redis.keys, nodeId), () => 0);
  new Gauge({
    name: 'mqtt_cluster_stream_lag',
    help: "entries of this node's durable inbox stream not yet secured (unread or unacknowledged); read on scrape, at most every 2 s",
    registers,
    async collect() {
      this.set(await lag());
    },
  });
}

/**
 * A value read from Redis on scrape: at most every POLL_MS, only while connected, and never
 * waiting more than READ_TIMEOUT_MS (the last value, or `initial()`, is kept otherwise).
 */
function polled(redis: RedisPorts, read: () => Promise<number>, initial: () => number): () => Promise<number> {
  let value: number | undefined;
  let polledAt = 0;
  return async () => {
    const now = Date.now();
    if (now - polledAt >= POLL_MS && redis.client.status === 'ready') {
      polledAt = now;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), READ_TIMEOUT_MS);
      });
      const got = await Promise.race([read().catch(() => undefined), timeout]);
      clearTimeout(timer);
      if (got !== undefined) value = got;
    }
    return value ?? initial();
  };
}
