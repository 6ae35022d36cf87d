/**
 * Helpers shared by the cluster*.test.ts files: scrape a node's /metrics and /readyz and poll
 * (re-exported from @mqtt-broker/test-support), and connect with the message listener attached
 * before CONNACK (queued messages of a resumed session follow the CONNACK in the same chunk).
 */
import { after, before } from 'node:test';
import { createRedisClient, type RedisClient } from '@mqtt-broker/cluster-redis';
import { type RunningRedis, startRedis } from '@mqtt-broker/cluster-redis/testing';
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from 'mqtt';
import { closeAllClients } from './helpers/clients.js';
import { type RunningBroker, startBroker } from './helpers/processes.js';

export { httpGet, metricsText, metricValue, readyStatus, waitUntil } from '@mqtt-broker/test-support';

export interface CollectedMessage {
  topic: string;
  payload: string;
  qos: number;
}

/** Connects and collects n messages; with `accept`, only the accepted ones (route probes left out) count. */
export function connectAndCollect(
  url: string,
  options: IClientOptions,
  n: number,
  timeoutMs = 5000,
  accept: (m: CollectedMessage) => boolean = () => true,
): Promise<{ connack: IConnackPacket; client: mqtt.MqttClient; messages: Promise<CollectedMessage[]> }> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, ...options });
    const got: CollectedMessage[] = [];
    let done: () => void = () => {};
    const messages = new Promise<CollectedMessage[]>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`expected ${n} messages, got ${got.length}: ${got.map((m) => m.payload).join(',')}`)), timeoutMs);
      done = () => {
        clearTimeout(timer);
        res(got);
      };
    });
    client.on('message', (topic, payload, packet) => {
      const m = { topic, payload: payload.toString(), qos: packet.qos };
      if (!accept(m)) return;
      got.push(m);
      if (got.length === n) done();
    });
    client.once('connect', (connack) => resolve({ connack, client, messages }));
    client.once('error', reject);
  });
}

/** Payload prefix of the QoS 0 messages awaitRoute publishes; tests leave them out with notProbe. */
export const ROUTE_PROBE = 'route-probe:';

/** False for a route probe (see awaitRoute). */
export function notProbe(m: { payload: Buffer | string }): boolean {
  return !m.payload.toString().startsWith(ROUTE_PROBE);
}

/**
 * Waits (bounded) until a message `pub` publishes on `topic` reaches `sub`, that is until the
 * route from pub's node to sub's node is visible there: the observable condition a fixed sleep
 * after SUBSCRIBE used to guess. Publishes QoS 0 probes one at a time and stops when the latest
 * one arrives; an earlier probe was either dropped (no route yet) or delivered before it (the bus
 * keeps one publisher's order), so normally none arrives later. Tests still leave probes out
 * (notProbe): a probe can take another path (a moved client's tombstone). Resolves with the ms taken.
 */
export async function awaitRoute(pub: MqttClient, sub: MqttClient, topic: string, timeoutMs = 10_000): Promise<number> {
  const t0 = Date.now();
  for (let k = 0; ; k++) {
    const payload = `${ROUTE_PROBE}${k}`;
    const arrived = new Promise<boolean>((resolve) => {
      const onMessage = (t: string, p: Buffer) => {
        if (t !== topic || p.toString() !== payload) return;
        clearTimeout(timer);
        sub.removeListener('message', onMessage);
        resolve(true);
      };
      const timer = setTimeout(() => {
        sub.removeListener('message', onMessage);
        resolve(false);
      }, 250);
      sub.on('message', onMessage);
    });
    pub.publish(topic, payload, { qos: 0 });
    if (await arrived) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`route for ${topic}: no probe delivered within ${timeoutMs} ms`);
  }
}

/**
 * A `redis-server` and nodes `a` and `b` on it (default settings) for a describe block: started
 * before it, stopped after it with every client (a node left SIGSTOPped is continued first).
 */
export function useTwoNodes(): { redis: () => RunningRedis; nodes: RunningBroker[] } {
  let redis: RunningRedis | undefined;
  const nodes: RunningBroker[] = [];
  before(async () => {
    redis = await startRedis();
    for (const id of ['a', 'b']) nodes.push(await startBroker({ env: { REDIS_URL: redis.url, NODE_ID: id } }));
  });
  after(async () => {
    closeAllClients();
    for (const n of nodes) if (!n.exited) process.kill(n.pid, 'SIGCONT');
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  });
  return {
    redis: () => {
      if (redis === undefined) throw new Error('redis not started');
      return redis;
    },
    nodes,
  };
}

/**
 * For tests that kill nodes: `nodePair(tag, ttlMs)` starts nodes `<tag>-a` and `<tag>-b` with that
 * heartbeat TTL on one `redis-server` (started on first use) and gives them with an ioredis
 * client to it; everything is stopped after the describe block with every client.
 */
export function useNodePairs(): (tag: string, ttlMs: number) => Promise<{ a: RunningBroker; b: RunningBroker; redis: RunningRedis; client: RedisClient }> {
  let redis: RunningRedis | undefined;
  let client: RedisClient | undefined;
  const nodes: RunningBroker[] = [];
  after(async () => {
    closeAllClients();
    client?.disconnect();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  });
  return async (tag, ttlMs) => {
    const server = (redis ??= await startRedis());
    client ??= createRedisClient({ url: server.url });
    const env = (id: string) => ({ REDIS_URL: server.url, NODE_ID: `${tag}-${id}`, CLUSTER_HEARTBEAT_TTL_MS: String(ttlMs) });
    const [a, b] = await Promise.all([startBroker({ env: env('a') }), startBroker({ env: env('b') })]);
    nodes.push(a, b);
    return { a, b, redis: server, client };
  };
}
