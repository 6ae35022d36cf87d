/**
 * Behaviours 1, 3 and 4 of issue 4 (docs/cluster.md) as test bodies taking the cluster under
 * test, so that one body runs on each Redis backend: cluster-behaviour.test.ts (one standalone
 * redis-server) and cluster-ops-redis-cluster.test.ts (a three-master Redis Cluster, which adds
 * its SPUBLISH checks through `measure`). `useThreeNodes` starts the backend and three broker
 * nodes a, b, c on it for a describe block.
 *
 * No fixed sleeps: every wait is a bounded poll of what the next step needs (a route visible on
 * the publisher's node, a session offline, messages queued, retained state replicated), so a slow,
 * loaded CI machine makes the test slower, not red.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { awaitRoute, connectAndCollect, metricsText, metricValue, notProbe, waitUntil } from './cluster-ops-support.js';
import { closeAllClients, collect, collectFor, connect, uid } from './helpers/clients.js';
import { type RunningBroker, startBroker } from './helpers/processes.js';

export interface ThreeNodes<B> {
  backend: B;
  a: RunningBroker;
  b: RunningBroker;
  c: RunningBroker;
}

/**
 * before(): starts the backend, then nodes a, b, c with `env(backend)` and NODE_ID; after(): closes
 * every client, stops the nodes, then the backend. Returns the getter for the running cluster.
 */
export function useThreeNodes<B extends { stop(): Promise<void> }>(start: () => Promise<B>, env: (backend: B) => Record<string, string>): () => ThreeNodes<B> {
  let backend: B | undefined;
  const nodes: RunningBroker[] = [];
  before(async () => {
    backend = await start();
    for (const id of ['a', 'b', 'c']) nodes.push(await startBroker({ env: { ...env(backend), NODE_ID: id } }));
  });
  after(async () => {
    closeAllClients();
    await Promise.all(nodes.map((n) => n.stop()));
    await backend?.stop();
  });
  return () => {
    if (backend === undefined || nodes.length < 3) throw new Error('cluster not started');
    return { backend, a: nodes[0], b: nodes[1], c: nodes[2] };
  };
}

async function metric(node: RunningBroker, name: string, labels = ''): Promise<number> {
  return metricValue(await metricsText(node.ports.http), name, labels);
}

/** Called once the route is visible and before publishing; what it returns runs after the delivery checks. */
export type Measure = () => Promise<() => Promise<void>>;

/** Behaviour 1: publish on A, subscribe on B: QoS 0, 1 and 2 delivered in publisher order; C (no route) gets nothing. */
export async function publishAcrossNodes({ a, b, c }: ThreeNodes<unknown>, prefix: string, measure?: Measure): Promise<void> {
  const topic = `${uid(prefix)}/x`;
  const sub = (await connect(b.url, { protocolVersion: 5 })).client;
  await sub.subscribeAsync(topic, { qos: 2 });
  const pub = (await connect(a.url, { protocolVersion: 5 })).client;
  await awaitRoute(pub, sub, topic);
  const check = measure === undefined ? undefined : await measure();
  const forwardedToC = await metric(a, 'mqtt_cluster_forwarded_messages_total', '{peer="c"}');
  const receivedOnB = await metric(b, 'mqtt_cluster_received_messages_total', '{peer="a"}');
  const got = collect(sub, 90, 10_000, notProbe);
  for (let i = 0; i < 30; i++) {
    for (const qos of [0, 1, 2] as const) void pub.publishAsync(topic, `${qos}:${i}`, { qos });
  }
  const received = await got;
  for (const qos of [0, 1, 2]) {
    const seq = received.filter((m) => m.payload.toString().startsWith(`${qos}:`)).map((m) => Number(m.payload.toString().split(':')[1]));
    assert.deepEqual(
      seq,
      Array.from({ length: 30 }, (_, i) => i),
      `QoS ${qos} in publisher order`,
    );
  }
  assert.equal(await metric(c, 'mqtt_cluster_received_messages_total', '{peer="a"}'), 0, 'node C received nothing');
  assert.equal(await metric(a, 'mqtt_cluster_forwarded_messages_total', '{peer="c"}'), forwardedToC, 'A forwarded nothing to C');
  assert.ok((await metric(b, 'mqtt_cluster_received_messages_total', '{peer="a"}')) >= receivedOnB + 90, 'B received the 90 from A');
  await check?.();
}

/**
 * What a fresh subscriber to `filter` on `node` gets in 500 ms after SUBSCRIBE, as sorted
 * `topic=payload` (with whether every one had the retain flag).
 */
async function retainedSeen(node: RunningBroker, filter: string): Promise<{ msgs: string[]; allRetained: boolean }> {
  const sub = (await connect(node.url)).client;
  try {
    const got = collectFor(sub, 500);
    await sub.subscribeAsync(filter, { qos: 1 });
    const msgs = await got;
    return { msgs: msgs.map((m) => `${m.topic}=${m.payload}`).sort(), allRetained: msgs.every((m) => m.packet.retain) };
  } finally {
    sub.end(true);
  }
}

/** Polls retainedSeen until it shows `expected` (10 s bound) and asserts on the last look. */
async function assertRetained(node: RunningBroker, filter: string, expected: string[]): Promise<void> {
  let last = { msgs: [] as string[], allRetained: true };
  await waitUntil(
    async () => {
      last = await retainedSeen(node, filter);
      return JSON.stringify(last.msgs) === JSON.stringify(expected);
    },
    10_000,
    `retained ${expected.join(', ')} on port ${node.ports.mqtt}`,
  ).catch(() => {});
  assert.deepEqual(last.msgs, expected);
  assert.ok(last.allRetained, 'sent as retained messages');
}

/** Behaviour 3: retained messages set or cleared on one node are seen on every node, wildcards too. */
export async function retainedEverywhere({ a, b, c }: ThreeNodes<unknown>, prefix: string): Promise<void> {
  const base = uid(prefix);
  const pubA = (await connect(a.url)).client;
  await pubA.publishAsync(`${base}/room/1`, 'on', { qos: 1, retain: true });
  await pubA.publishAsync(`${base}/room/2`, 'off', { qos: 1, retain: true });
  for (const node of [b, c]) await assertRetained(node, `${base}/+/#`, [`${base}/room/1=on`, `${base}/room/2=off`]);
  const pubC = (await connect(c.url)).client;
  await pubC.publishAsync(`${base}/room/1`, '', { qos: 1, retain: true }); // cleared on C
  await assertRetained(b, `${base}/#`, [`${base}/room/2=off`]);
}

/** Behaviour 4: a persistent session moves from A to C: session present, every queued message in order, QoS 2 kept. */
export async function sessionMoves({ a, b, c }: ThreeNodes<unknown>, prefix: string): Promise<void> {
  const clientId = uid(prefix);
  const topic = `${clientId}/q`;
  const opts = { protocolVersion: 5 as const, clientId, clean: false, properties: { sessionExpiryInterval: 300 } };
  const first = (await connect(a.url, opts)).client;
  await first.subscribeAsync(topic, { qos: 2 });
  const pub = (await connect(b.url, { protocolVersion: 5 })).client;
  await awaitRoute(pub, first, topic); // B routes the topic to A
  const offlineOnA = await metric(a, 'mqtt_sessions', '{state="offline"}');
  await first.endAsync();
  await waitUntil(async () => (await metric(a, 'mqtt_sessions', '{state="offline"}')) > offlineOnA, 10_000, 'session offline on A');
  const queuedOnA = await metric(a, 'mqtt_queued_messages');
  for (let i = 0; i < 20; i++) await pub.publishAsync(topic, String(i), { qos: i % 2 === 0 ? 2 : 1 });
  await waitUntil(async () => (await metric(a, 'mqtt_queued_messages')) >= queuedOnA + 20, 10_000, 'the 20 messages queued in the session on A');
  const { client: moved, connack, messages } = await connectAndCollect(c.url, opts, 20, 5000, notProbe);
  assert.equal(connack.sessionPresent, true);
  const got = await messages;
  // MQTT.js emits a QoS 2 message only after its PUBREL round trip, so order is checked per QoS
  for (const qos of [1, 2]) {
    assert.deepEqual(
      got.filter((m) => m.qos === qos).map((m) => Number(m.payload)),
      Array.from({ length: 20 }, (_, i) => i).filter((i) => (i % 2 === 0 ? 2 : 1) === qos),
      `QoS ${qos} messages all there, in order, at their QoS`,
    );
  }
  // the subscription moved too: new messages published on A reach the client on C
  const pubA = (await connect(a.url)).client;
  await awaitRoute(pubA, moved, topic);
  const more = collect(moved, 1, 3000, notProbe);
  await pubA.publishAsync(topic, 'after', { qos: 1 });
  assert.equal((await more)[0].payload.toString(), 'after');
  const extra = await collectFor(moved, 300, notProbe);
  assert.equal(extra.length, 0, `nothing delivered twice: ${extra.map((m) => m.payload).join(',')}`);
  moved.end(true);
}
