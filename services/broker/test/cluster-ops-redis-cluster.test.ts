/**
 * Issue 4, behaviour 10: behaviours 1, 3 and 4 against a three-master Redis Cluster the
 * harness creates (`redis-server --cluster-enabled yes` x3 + `redis-cli --cluster create`),
 * the broker configured with REDIS_CLUSTER_NODES.
 *
 * Node channels use sharded pub/sub (SSUBSCRIBE/SPUBLISH, ioredis `shardedSubscribers`). ioredis
 * had bugs there (issue 1759, PR 2043), so this file proves it end to end: cross-node delivery
 * works, the node channels are listed by PUBSUB SHARDCHANNELS on the shards, and the nodes sent
 * SPUBLISH (never PUBLISH) according to INFO commandstats. The multi-key Lua scripts would fail
 * with CROSSSLOT on a cluster if their keys spanned slots; the last test also checks the slots.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Keys } from '@mqtt-broker/cluster-redis';
import { type RunningRedisCluster, redisCli, startRedisCluster } from '@mqtt-broker/cluster-redis/testing';
import { connectAndCollect, metricValue, metricsText } from './cluster-ops-support.js';
import { closeAllClients, collect, collectFor, connect, uid } from './helpers/clients.js';
import { type RunningBroker, startBroker, suiteSkipReason } from './helpers/processes.js';

const skip = suiteSkipReason();

async function commandCalls(cluster: RunningRedisCluster, command: string): Promise<number> {
  let total = 0;
  for (const node of cluster.nodes) {
    const info = await redisCli(node.port, 'INFO', 'commandstats');
    const m = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
    if (m !== null) total += Number(m[1]);
  }
  return total;
}

describe('behaviour 10: the cluster on a three-master Redis Cluster', { skip, timeout: 60_000 }, () => {
  let cluster: RunningRedisCluster;
  const nodes: RunningBroker[] = [];
  let a: RunningBroker;
  let b: RunningBroker;
  let c: RunningBroker;

  before(async () => {
    cluster = await startRedisCluster();
    for (const id of ['a', 'b', 'c']) nodes.push(await startBroker({ env: { REDIS_CLUSTER_NODES: cluster.spec, NODE_ID: id } }));
    [a, b, c] = nodes;
  });

  after(async () => {
    closeAllClients();
    await Promise.all(nodes.map((n) => n.stop()));
    await cluster?.stop();
  });

  it('1: publish on A, subscribe on B over sharded pub/sub: QoS 0, 1, 2 in order; C gets nothing', async () => {
    const topic = `${uid('rc1')}/x`;
    const sub = (await connect(b.url, { protocolVersion: 5 })).client;
    await sub.subscribeAsync(topic, { qos: 2 });
    await new Promise((r) => setTimeout(r, 300));
    const pub = (await connect(a.url, { protocolVersion: 5 })).client;
    const publishesBefore = await commandCalls(cluster, 'publish');
    const spublishBefore = await commandCalls(cluster, 'spublish');
    const got = collect(sub, 90, 10_000);
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
    assert.equal(metricValue(await metricsText(c.ports.http), 'mqtt_cluster_received_messages_total', '{peer="a"}'), 0, 'node C received nothing');
    assert.ok(metricValue(await metricsText(b.ports.http), 'mqtt_cluster_received_messages_total', '{peer="a"}') >= 90);
    // sharded pub/sub really carried it: SPUBLISH went up, plain PUBLISH did not
    assert.ok((await commandCalls(cluster, 'spublish')) > spublishBefore, 'SPUBLISH used');
    assert.equal(await commandCalls(cluster, 'publish'), publishesBefore, 'no plain PUBLISH');
    const channels: string[] = [];
    for (const node of cluster.nodes) channels.push(...(await redisCli(node.port, 'PUBSUB', 'SHARDCHANNELS')).split('\n').filter((l) => l !== ''));
    const keys = new Keys();
    for (const id of ['a', 'b', 'c']) assert.ok(channels.includes(keys.nodeChannel(id)), `${keys.nodeChannel(id)} subscribed on its shard`);
  });

  it('3: retained messages set or cleared on one node are seen on every node, wildcards too', async () => {
    const base = uid('rc3');
    const pubA = (await connect(a.url)).client;
    await pubA.publishAsync(`${base}/room/1`, 'on', { qos: 1, retain: true });
    await pubA.publishAsync(`${base}/room/2`, 'off', { qos: 1, retain: true });
    await new Promise((r) => setTimeout(r, 200));
    for (const node of [b, c]) {
      const sub = (await connect(node.url)).client;
      const got = collect(sub, 2, 3000);
      await sub.subscribeAsync(`${base}/+/#`, { qos: 1 });
      const msgs = await got;
      assert.deepEqual(msgs.map((m) => `${m.topic}=${m.payload}`).sort(), [`${base}/room/1=on`, `${base}/room/2=off`]);
      assert.ok(msgs.every((m) => m.packet.retain));
      sub.end(true);
    }
    const pubC = (await connect(c.url)).client;
    await pubC.publishAsync(`${base}/room/1`, '', { qos: 1, retain: true });
    await new Promise((r) => setTimeout(r, 200));
    const sub = (await connect(b.url)).client;
    const got = collectFor(sub, 500);
    await sub.subscribeAsync(`${base}/#`, { qos: 1 });
    assert.deepEqual(
      (await got).map((m) => m.topic),
      [`${base}/room/2`],
    );
  });

  it('4: a persistent session moves from A to C: session present, queued messages in order, QoS 2 kept', async () => {
    const clientId = uid('rc4');
    const topic = `${clientId}/q`;
    const opts = { protocolVersion: 5 as const, clientId, clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = (await connect(a.url, opts)).client;
    await first.subscribeAsync(topic, { qos: 2 });
    await first.endAsync();
    await new Promise((r) => setTimeout(r, 200));
    const pub = (await connect(b.url, { protocolVersion: 5 })).client;
    for (let i = 0; i < 20; i++) await pub.publishAsync(topic, String(i), { qos: i % 2 === 0 ? 2 : 1 });
    await new Promise((r) => setTimeout(r, 200));
    const { client: moved, connack, messages } = await connectAndCollect(c.url, opts, 20);
    assert.equal(connack.sessionPresent, true);
    const got = await messages;
    for (const qos of [1, 2]) {
      assert.deepEqual(
        got.filter((m) => m.qos === qos).map((m) => Number(m.payload)),
        Array.from({ length: 20 }, (_, i) => i).filter((i) => (i % 2 === 0 ? 2 : 1) === qos),
        `QoS ${qos} messages all there, in order`,
      );
    }
    const more = collect(moved, 1, 3000);
    await new Promise((r) => setTimeout(r, 200));
    const pubA = (await connect(a.url)).client;
    await pubA.publishAsync(topic, 'after', { qos: 1 });
    assert.equal((await more)[0].payload.toString(), 'after');
    assert.equal((await collectFor(moved, 300)).length, 0, 'nothing delivered twice');
    moved.end(true);
  });

  it('keys written together by one Lua script share a hash slot', async () => {
    const keys = new Keys();
    const port = cluster.nodes[0].port;
    const slot = async (key: string): Promise<number> => Number((await redisCli(port, 'CLUSTER', 'KEYSLOT', key)).trim());
    const groups = [
      [keys.routes, keys.routeChanges],
      [keys.retained, keys.retainedChanges],
      [keys.owner('dev-1'), keys.epoch('dev-1'), keys.session('dev-1')],
      [keys.heartbeat('a'), keys.cleanup('a'), keys.nodeChannel('a')],
    ];
    for (const group of groups) {
      const slots = new Set(await Promise.all(group.map(slot)));
      assert.equal(slots.size, 1, `${group.join(', ')} in one slot`);
    }
  });
});
