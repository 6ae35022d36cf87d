/**
 * Issue 4, behaviour 10: behaviours 1, 3 and 4 against a three-master Redis Cluster the
 * harness creates (`redis-server --cluster-enabled yes` x3 + `redis-cli --cluster create`),
 * the broker configured with REDIS_CLUSTER_NODES. The bodies are the ones cluster-behaviour.test.ts
 * runs on one redis-server (cluster-behaviours.ts); what is Redis Cluster's own is here.
 *
 * Node channels use sharded pub/sub (SSUBSCRIBE/SPUBLISH, ioredis `shardedSubscribers`). ioredis
 * had bugs there (issue 1759, PR 2043), so this file proves it end to end: cross-node delivery
 * works, the node channels are listed by PUBSUB SHARDCHANNELS on the shards, and the nodes sent
 * SPUBLISH (never PUBLISH) according to INFO commandstats. The multi-key Lua scripts would fail
 * with CROSSSLOT on a cluster if their keys spanned slots; the last test also checks the slots.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Keys } from '@mqtt-broker/cluster-redis';
import { type RunningRedisCluster, redisCli, startRedisCluster } from '@mqtt-broker/test-support';
import { publishAcrossNodes, retainedEverywhere, sessionMoves, useThreeNodes } from './cluster-behaviours.js';
import { suiteSkipReason } from './helpers/processes.js';

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

describe('behaviour 10: the cluster on a three-master Redis Cluster', { skip, timeout: 90_000 }, () => {
  const nodes = useThreeNodes(
    () => startRedisCluster(),
    (cluster) => ({ REDIS_CLUSTER_NODES: cluster.spec }),
  );

  it('1: publish on A, subscribe on B over sharded pub/sub: QoS 0, 1, 2 in order; C gets nothing', async () => {
    const cluster = nodes().backend;
    // sharded pub/sub really carried it: SPUBLISH went up, plain PUBLISH did not
    await publishAcrossNodes(nodes(), 'rc1', async () => {
      const publishesBefore = await commandCalls(cluster, 'publish');
      const spublishBefore = await commandCalls(cluster, 'spublish');
      return async () => {
        assert.ok((await commandCalls(cluster, 'spublish')) > spublishBefore, 'SPUBLISH used');
        assert.equal(await commandCalls(cluster, 'publish'), publishesBefore, 'no plain PUBLISH');
      };
    });
    const channels: string[] = [];
    for (const node of cluster.nodes) channels.push(...(await redisCli(node.port, 'PUBSUB', 'SHARDCHANNELS')).split('\n').filter((l) => l !== ''));
    const keys = new Keys();
    for (const id of ['a', 'b', 'c']) assert.ok(channels.includes(keys.nodeChannel(id)), `${keys.nodeChannel(id)} subscribed on its shard`);
  });

  it('3: retained messages set or cleared on one node are seen on every node, wildcards too', () => retainedEverywhere(nodes(), 'rc3'));

  it('4: a persistent session moves from A to C: session present, queued messages in order, QoS 2 kept', () => sessionMoves(nodes(), 'rc4'));

  it('keys written together by one Lua script share a hash slot', async () => {
    const keys = new Keys();
    const port = nodes().backend.nodes[0].port;
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
