/**
 * Shared subscriptions across nodes (issue 4, behaviour 8; docs/cluster.md "Shared
 * subscriptions"): members of one group on three broker processes; each message reaches exactly
 * one member cluster-wide, spread by member count; a member that leaves stops receiving and no
 * message is lost for the others.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningRedis, startRedis } from '@mqtt-broker/cluster-redis/testing';
import type { MqttClient } from 'mqtt';
import { awaitRoute, metricsText, metricValue, notProbe, ROUTE_PROBE, waitUntil } from './cluster-ops-support.js';
import { closeAllClients, connect, uid } from './helpers/clients.js';
import { type RunningBroker, startBroker, suiteSkipReason } from './helpers/processes.js';

const skip = suiteSkipReason();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await sleep(20);
}

describe('shared subscriptions across three nodes', { skip, timeout: 60_000 }, () => {
  let redis: RunningRedis;
  const nodes: RunningBroker[] = [];

  before(async () => {
    redis = await startRedis();
    for (const id of ['a', 'b', 'c']) nodes.push(await startBroker({ env: { REDIS_URL: redis.url, NODE_ID: `sh-${id}` } }));
  });

  after(async () => {
    closeAllClients();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  });

  it('8: each message to exactly one member, spread within ±20%; a member that leaves is replaced by the others', async () => {
    const base = uid('c8');
    const topic = `${base}/jobs`;
    const members: Array<{ client: MqttClient; got: string[]; probes: string[] }> = [];
    for (const node of nodes) {
      const client = (await connect(node.url, { protocolVersion: 5 })).client;
      const m = { client, got: [] as string[], probes: [] as string[] };
      client.on('message', (_t, payload) => (notProbe({ payload }) ? m.got : m.probes).push(payload.toString()));
      await client.subscribeAsync(`$share/workers/${topic}`, { qos: 1 });
      members.push(m);
    }
    // a plain subscriber still gets every message
    const watcher = (await connect(nodes[1].url, { protocolVersion: 5 })).client;
    const all: string[] = [];
    const watcherProbes: string[] = [];
    watcher.on('message', (_t, payload) => (notProbe({ payload }) ? all : watcherProbes).push(payload.toString()));
    await watcher.subscribeAsync(topic, { qos: 1 });

    const publishers = await Promise.all(nodes.map(async (n) => (await connect(n.url, { protocolVersion: 5 })).client));
    // every member and the watcher reachable from every node: QoS 0 probes from each node until
    // each of them got one (a bounded poll of the routes, left out of the counts)
    for (const [i, p] of publishers.entries()) {
      const from = `${ROUTE_PROBE}${i}:`;
      let k = 0;
      await waitUntil(
        () => {
          if ([...members.map((m) => m.probes), watcherProbes].every((got) => got.some((x) => x.startsWith(from)))) return true;
          p.publish(topic, `${from}${k++}`, { qos: 0 });
          return false;
        },
        10_000,
        `group and watcher routes visible on node ${i}`,
      );
    }
    const perNode = 100;
    await Promise.all(publishers.map((p, i) => Promise.all(Array.from({ length: perNode }, (_, k) => p.publishAsync(topic, `${i}:${k}`, { qos: 1 })))));
    const total = perNode * publishers.length;
    await until(() => members.reduce((n, m) => n + m.got.length, 0) >= total && all.length >= total, 10_000);
    await sleep(300); // duplicates, if any, would arrive now
    const received = members.flatMap((m) => m.got);
    const counts = members.map((m) => m.got.length);
    console.log(`# shared: ${total} messages from 3 nodes -> members on A/B/C got ${counts.join('/')}; plain subscriber got ${all.length}`);
    assert.equal(received.length, total, 'each message delivered once in the group');
    assert.equal(new Set(received).size, total, 'no message to two members');
    assert.equal(all.length, total, 'the plain subscriber got everything');
    for (const n of counts) assert.ok(Math.abs(n - total / 3) <= (total / 3) * 0.2, `spread within ±20%: ${counts.join('/')}`);

    // the member on C leaves: the others take everything, nothing is lost
    await members[2].client.endAsync();
    // gone from C, then from A's routes: 20 probes in a row from A (each seen by the watcher, so
    // A routed it) without a copy forwarded to C, where the group was picked 1 in 3 before
    await waitUntil(async () => metricValue(await metricsText(nodes[2].ports.http), 'mqtt_shared_subscriptions') === 0, 10_000, 'the member left C');
    const forwardedToC = async () => metricValue(await metricsText(nodes[0].ports.http), 'mqtt_cluster_forwarded_messages_total', '{peer="sh-c"}');
    let clean = 0;
    await waitUntil(
      async () => {
        const sent = await forwardedToC();
        await awaitRoute(publishers[0], watcher, topic);
        clean = (await forwardedToC()) === sent ? clean + 1 : 0;
        return clean >= 20;
      },
      15_000,
      'A no longer routes the group to C',
    );
    const before = members.map((m) => m.got.length);
    await Promise.all(Array.from({ length: 60 }, (_, k) => publishers[0].publishAsync(topic, `after:${k}`, { qos: 1 })));
    await until(() => members[0].got.length + members[1].got.length - before[0] - before[1] >= 60, 10_000);
    await sleep(300);
    const after = members.slice(0, 2).flatMap((m, i) => m.got.slice(before[i]));
    assert.equal(after.length, 60, 'the remaining members got each message once');
    assert.equal(new Set(after).size, 60);
    assert.ok(members[0].got.length > before[0] && members[1].got.length > before[1], 'both remaining members served');
  });
});
