/**
 * Node failure (issue 4, behaviours 6 and 7; docs/cluster.md "Node failure"): three broker
 * processes on one real redis-server with a short heartbeat TTL; the node that hosts a
 * persistent subscriber is killed with SIGKILL while another node's publisher is sending. The
 * subscriber (one MQTT.js client with two servers, so that its QoS 2 state survives the move)
 * reconnects to the third node. Every message whose PUBACK/PUBREC the publisher got must arrive:
 * at least once for QoS 1, exactly once for QoS 2. The wills of the killed node's clients are
 * published by a survivor within the heartbeat TTL plus a few seconds; a will discarded by a
 * normal DISCONNECT is not.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type RunningRedis, startRedis } from '@mqtt-broker/cluster-redis/testing';
import mqtt, { type IConnackPacket, type MqttClient } from 'mqtt';
import { awaitRoute } from './cluster-ops-support.js';
import { closeAllClients, collect, connect, uid } from './helpers/clients.js';
import { type RunningBroker, startBroker, suiteSkipReason } from './helpers/processes.js';

const TTL_MS = 1000;
const N = 300;
const skip = suiteSkipReason();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(20);
  }
  return check();
}

interface Roaming {
  client: MqttClient;
  received: string[];
  connacks: Array<{ port: number; connack: IConnackPacket; at: number }>;
}

/** A persistent subscriber that connects to `first` and, when that connection is lost, to `then`. */
function roamingSubscriber(clientId: string, first: RunningBroker, then: RunningBroker, protocolVersion: 4 | 5): Promise<Roaming> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect({
      servers: [
        { host: '127.0.0.1', port: first.ports.mqtt },
        { host: '127.0.0.1', port: then.ports.mqtt },
      ],
      clientId,
      clean: false,
      protocolVersion,
      ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 600 } } : {}),
      reconnectPeriod: 100,
      connectTimeout: 30_000,
      resubscribe: false,
    });
    const roaming: Roaming = { client, received: [], connacks: [] };
    client.on('message', (_topic, payload) => roaming.received.push(payload.toString()));
    client.on('connect', (connack) => {
      roaming.connacks.push({ port: Number(client.options.port), connack, at: Date.now() });
      if (roaming.connacks.length === 1) resolve(roaming);
    });
    client.on('error', () => {});
    setTimeout(() => reject(new Error('subscriber did not connect')), 5000).unref();
  });
}

async function startCluster(redis: RunningRedis, tag: string): Promise<RunningBroker[]> {
  const nodes: RunningBroker[] = [];
  for (const id of ['a', 'b', 'c']) {
    nodes.push(await startBroker({ env: { REDIS_URL: redis.url, NODE_ID: `${tag}-${id}`, CLUSTER_HEARTBEAT_TTL_MS: String(TTL_MS) } }));
  }
  return nodes;
}

/**
 * Publishes N numbered messages from `pub` (one every 2 ms, not waiting for acks) and kills
 * `victim` after the first third; resolves with the payloads the publisher got an ack for.
 */
async function publishThroughKill(pub: MqttClient, topic: string, qos: 1 | 2, victim: RunningBroker): Promise<{ acked: Set<string>; killedAt: number }> {
  const acked = new Set<string>();
  const sends: Array<Promise<unknown>> = [];
  let killedAt = 0;
  for (let i = 0; i < N; i++) {
    if (i === Math.floor(N / 3)) {
      victim.kill();
      killedAt = Date.now();
    }
    const payload = String(i);
    sends.push(pub.publishAsync(topic, payload, { qos }).then(() => acked.add(payload), () => {}));
    await sleep(2);
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(sends), new Promise((resolve) => (timer = setTimeout(resolve, 15_000)))]);
  clearTimeout(timer);
  return { acked, killedAt };
}

describe('cluster node failure: kill -9 the node of a persistent subscriber', { skip, timeout: 120_000 }, () => {
  let redis: RunningRedis | undefined;
  const all: RunningBroker[] = [];

  after(async () => {
    closeAllClients();
    await Promise.all(all.map((n) => n.stop()));
    await redis?.stop();
  });

  it('6 (QoS 1) and 7: every acknowledged message delivered at least once after the move to C; wills published by a survivor', async () => {
    redis ??= await startRedis();
    const [a, b, c] = await startCluster(redis, 'f1');
    all.push(a, b, c);
    const base = uid('f1');
    const topic = `${base}/data`;

    // behaviour 7: a client with a will on A, watched from C; another one that leaves normally
    const watcher = (await connect(c.url, { protocolVersion: 5 })).client;
    await watcher.subscribeAsync(`${base}/will/#`, { qos: 1 });
    const wills = collect(watcher, 1, 15_000);
    await connect(a.url, { protocolVersion: 5, clientId: `${base}-dying`, will: { topic: `${base}/will/dying`, payload: Buffer.from('gone'), qos: 1, retain: false } });
    const polite = (await connect(a.url, { protocolVersion: 5, clientId: `${base}-polite`, will: { topic: `${base}/will/polite`, payload: Buffer.from('never'), qos: 1, retain: false } })).client;
    await polite.endAsync();

    const sub = await roamingSubscriber(`${base}-sub`, a, c, 5);
    await sub.client.subscribeAsync(topic, { qos: 1 });
    const pub = (await connect(b.url, { protocolVersion: 5 })).client;
    await awaitRoute(pub, sub.client, topic); // route visible on B
    const { acked, killedAt } = await publishThroughKill(pub, topic, 1, a);
    assert.ok(acked.size > N / 2, `most messages acknowledged (${acked.size})`);

    const willMsgs = await wills;
    const willDelay = Date.now() - killedAt;
    assert.deepEqual(
      willMsgs.map((m) => `${m.topic}=${m.payload}`),
      [`${base}/will/dying=gone`],
    );

    const complete = await until(() => [...acked].every((p) => sub.received.includes(p)), 20_000);
    const missing = [...acked].filter((p) => !sub.received.includes(p));
    const moved = sub.connacks.find((x) => x.port === c.ports.mqtt);
    console.log(
      `# QoS 1: ${acked.size}/${N} acknowledged, ${new Set(sub.received).size} distinct received (${sub.received.length - new Set(sub.received).size} duplicates), missing ${missing.length}; will published ${willDelay} ms after the kill (TTL ${TTL_MS} ms); session resumed on C ${moved === undefined ? '-' : moved.at - killedAt} ms after the kill`,
    );
    assert.ok(moved !== undefined, 'the subscriber reconnected to C');
    assert.equal(moved.connack.sessionPresent, true, 'session present on C');
    assert.ok(complete, `every acknowledged message delivered; missing: ${missing.slice(0, 20).join(',')}`);
    assert.ok(willDelay < TTL_MS + 4000, `will within TTL + a few seconds (${willDelay} ms)`);
    const extraWills = await collect(watcher, 1, 500).catch(() => []);
    assert.equal(extraWills.length, 0, 'the will discarded by a normal DISCONNECT is not published');
    sub.client.end(true);
  });

  it('6 (QoS 2): every acknowledged message delivered exactly once after the move to C (3.1.1 publisher)', async () => {
    redis ??= await startRedis();
    const [a, b, c] = await startCluster(redis, 'f2');
    all.push(a, b, c);
    const base = uid('f2');
    const topic = `${base}/data`;
    const sub = await roamingSubscriber(`${base}-sub`, a, c, 5);
    await sub.client.subscribeAsync(topic, { qos: 2 });
    const pub = (await connect(b.url, { protocolVersion: 4 })).client;
    await awaitRoute(pub, sub.client, topic); // route visible on B
    const { acked } = await publishThroughKill(pub, topic, 2, a);
    assert.ok(acked.size > N / 2, `most messages acknowledged (${acked.size})`);
    const complete = await until(() => [...acked].every((p) => sub.received.includes(p)), 20_000);
    await sleep(500); // late duplicates would show up now
    const counts = new Map<string, number>();
    for (const p of sub.received) counts.set(p, (counts.get(p) ?? 0) + 1);
    const dups = [...counts].filter(([, k]) => k > 1).map(([p]) => p);
    const missing = [...acked].filter((p) => !counts.has(p));
    console.log(`# QoS 2: ${acked.size}/${N} acknowledged, ${counts.size} distinct received, duplicates ${dups.length}, missing ${missing.length}`);
    assert.ok(
      sub.connacks.some((x) => x.port === c.ports.mqtt && x.connack.sessionPresent),
      'resumed on C',
    );
    assert.ok(complete, `every acknowledged message delivered; missing: ${missing.slice(0, 20).join(',')}`);
    assert.deepEqual(dups, [], 'no message delivered twice');
    sub.client.end(true);
  });
});
