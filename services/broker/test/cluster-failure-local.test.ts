/**
 * Node failure with the publisher on the SAME node as the persistent subscriber (docs/cluster.md,
 * "Durable QoS 1/2 between nodes", local copies): three broker processes on one real
 * redis-server. Node A holds a persistent session; a publisher connected to A is acknowledged for
 * every message; A is killed with SIGKILL; the subscriber's client reconnects to B. Every
 * acknowledged message must arrive there (session present = 1): at least once for QoS 1, exactly
 * once for QoS 2. Before local copies for persistent sessions went through A's durable inbox, they
 * lived only in A's memory and all of them were lost.
 *
 * Each case starts its own victim node A (B and C stay): (a) the session is offline on A, QoS 1;
 * (b) the subscriber is online on A (a raw client that reads and never acknowledges), QoS 1;
 * (c) as (a) with QoS 2.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningRedis, startRedis } from '@mqtt-broker/cluster-redis/testing';
import mqtt, { type MqttClient } from 'mqtt';
import type { IPublishPacket } from 'mqtt-packet';
import { waitUntil } from './cluster-ops-support.js';
import { closeAllClients, connect, uid } from './helpers/clients.js';
import { type RunningBroker, startBroker, suiteSkipReason } from './helpers/processes.js';
import { RawClient } from './helpers/raw.js';

const TTL_MS = 1000;
const N = 1000;
const skip = suiteSkipReason();
const resumed = new Set<MqttClient>();

interface Resumed {
  client: MqttClient;
  sessionPresent: boolean;
  /** payload -> times received */
  counts: Map<string, number>;
}

/** Publishes N numbered QoS `qos` messages on `topic` through `url` and resolves once every one is acknowledged. */
async function publishAcknowledged(url: string, topic: string, qos: 1 | 2): Promise<string[]> {
  const pub = (await connect(url, { protocolVersion: 5 })).client;
  const payloads = Array.from({ length: N }, (_, i) => String(i));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('publisher not acknowledged within 15 s')), 15_000);
  });
  // one after another in small windows: MQTT.js would otherwise hold all of them in flight at once
  for (let i = 0; i < N; i += 50) {
    await Promise.race([Promise.all(payloads.slice(i, i + 50).map((p) => pub.publishAsync(topic, p, { qos }))), timeout]);
  }
  clearTimeout(timer);
  return payloads;
}

/**
 * The subscriber's client id reconnects to `node` (persistent session, fresh client state) and
 * counts what arrives; the listener is attached before CONNACK (queued messages of a resumed
 * session follow it in the same chunk).
 */
function resume(node: RunningBroker, clientId: string, protocolVersion: 4 | 5): Promise<Resumed> {
  return new Promise((resolve, reject) => {
    const counts = new Map<string, number>();
    // the CONNECT waits for the dead node's cleanup (about the heartbeat TTL plus a few hundred ms)
    const client = mqtt.connect(node.url, {
      clientId,
      clean: false,
      protocolVersion,
      ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 600 } } : {}),
      reconnectPeriod: 0,
      connectTimeout: 15_000,
    });
    resumed.add(client);
    const timer = setTimeout(() => reject(new Error('no CONNACK within 15 s')), 15_000);
    client.on('message', (_topic, payload) => counts.set(payload.toString(), (counts.get(payload.toString()) ?? 0) + 1));
    client.once('connect', (connack) => {
      clearTimeout(timer);
      resolve({ client, sessionPresent: connack.sessionPresent, counts });
    });
    client.on('error', () => {});
  });
}

/** A persistent 5.0 session subscribed to `<base>/#` at `qos` on `url`, then offline; resolves with its client id. */
async function offlineSession(url: string, base: string, qos: 1 | 2): Promise<string> {
  const clientId = `${base}-sub`;
  const sub = (await connect(url, { clientId, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 600 } })).client;
  await sub.subscribeAsync(`${base}/#`, { qos });
  await sub.endAsync();
  return clientId;
}

/**
 * `clientId` reconnects to `node` with its session present, and every message of `acked` arrives
 * (bounded wait). With `watchMs`, it then keeps counting that long for late duplicates (a window
 * in which nothing more must arrive). Logs the counts under `label`.
 */
async function everyAcknowledgedArrives(label: string, node: RunningBroker, clientId: string, protocolVersion: 4 | 5, acked: string[], watchMs = 0): Promise<{ r: Resumed; duplicated: string[] }> {
  const r = await resume(node, clientId, protocolVersion);
  assert.equal(r.sessionPresent, true, 'session present on B');
  const ok = await waitUntil(() => acked.every((p) => r.counts.has(p)), 15_000, 'every acknowledged message').then(
    () => true,
    () => false,
  );
  if (watchMs > 0) await new Promise((resolve) => setTimeout(resolve, watchMs));
  const missing = acked.filter((p) => !r.counts.has(p));
  const duplicated = [...r.counts].filter(([, n]) => n > 1).map(([p]) => p);
  console.log(`# ${label}: ${acked.length} acknowledged, ${r.counts.size} distinct received on B, missing ${missing.length}, duplicated ${duplicated.length}`);
  assert.ok(ok, `every acknowledged message delivered; missing ${missing.length}: ${missing.slice(0, 10).join(',')}`);
  return { r, duplicated };
}

describe('cluster node failure: acknowledged local copies for persistent sessions survive kill -9 of the publishing node', { skip, timeout: 60_000 }, () => {
  let redis: RunningRedis | undefined;
  let b: RunningBroker | undefined;
  const all: RunningBroker[] = [];
  const env = (id: string): Record<string, string> => ({ REDIS_URL: redis?.url ?? '', NODE_ID: id, CLUSTER_HEARTBEAT_TTL_MS: String(TTL_MS), MAX_QUEUED_MESSAGES: '5000' });
  const tag = uid('l');

  before(async () => {
    if (skip !== false) return;
    redis = await startRedis();
    b = await startBroker({ env: env(`${tag}-b`) });
    all.push(b, await startBroker({ env: env(`${tag}-c`) }));
  });

  after(async () => {
    closeAllClients();
    for (const c of resumed) c.end(true);
    await Promise.all(all.map((n) => n.stop()));
    await redis?.stop();
  });

  async function victim(name: string): Promise<RunningBroker> {
    const a = await startBroker({ env: env(`${tag}-${name}`) });
    all.push(a);
    return a;
  }

  it('(a) offline persistent QoS 1 session on A, publisher on A: every acknowledged message arrives on B', async () => {
    const a = await victim('a1');
    const base = uid('la');
    const clientId = await offlineSession(a.url, base, 1);
    const acked = await publishAcknowledged(a.url, `${base}/t`, 1);
    a.kill();
    await everyAcknowledgedArrives('(a) QoS 1 offline', b as RunningBroker, clientId, 5, acked);
  });

  it('(b) persistent QoS 1 subscriber online on A that never acknowledges: every acknowledged message arrives on B', async () => {
    const a = await victim('a2');
    const base = uid('lb');
    const clientId = `${base}-sub`;
    const raw = await RawClient.connected(a.ports.mqtt, 4, { clientId, clean: false });
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `${base}/#`, qos: 1 }] });
    await raw.next('suback');

    const acked = await publishAcknowledged(a.url, `${base}/t`, 1);
    // the raw client was sent messages (online delivery) and acknowledged none of them
    await waitUntil(() => raw.received.some((p) => p.cmd === 'publish'), 5000, 'a first PUBLISH on the raw subscriber');
    const first = raw.received.find((p) => p.cmd === 'publish') as IPublishPacket;
    assert.equal(first.qos, 1);
    a.kill();
    await raw.closedWithin(3000);
    raw.destroy();

    await everyAcknowledgedArrives('(b) QoS 1 online, unacknowledged on A', b as RunningBroker, clientId, 4, acked);
  });

  it('(c) offline persistent QoS 2 session on A, publisher on A: every acknowledged message arrives on B exactly once', async () => {
    const a = await victim('a3');
    const base = uid('lc');
    const clientId = await offlineSession(a.url, base, 2);
    const acked = await publishAcknowledged(a.url, `${base}/t`, 2);
    a.kill();
    // a late duplicate would come right behind the originals: watch a little longer
    const { r, duplicated } = await everyAcknowledgedArrives('(c) QoS 2 offline', b as RunningBroker, clientId, 5, acked, 500);
    assert.deepEqual(duplicated, [], 'no QoS 2 message delivered twice');
    assert.equal(r.counts.size, acked.length, 'nothing else delivered');
  });
});
