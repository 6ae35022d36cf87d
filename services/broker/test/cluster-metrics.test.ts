/**
 * Cluster metrics with values a user would see move (deploy/test/dashboard-metrics.test.mjs
 * checks that every name the dashboard queries exists): redis + two nodes; a client id moved from
 * A to B counts one takeover on each side, a persistent session of a node killed with SIGKILL
 * counts as adopted on the survivor, QoS 1 batches for a stopped node pile up in its inbox and its
 * stream lag is back to 0 once it has read them (the lag read itself: cluster-redis
 * test/node-bus-request.test.ts), and the Redis latency histogram is well-formed (cumulative
 * buckets, +Inf = count) with the fixed set of operation labels only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningRedis, redisCli, startRedis } from '@mqtt-broker/cluster-redis/testing';
import { metricsText, metricValue, waitUntil } from './cluster-ops-support.js';
import { closeAllClients, connect, uid } from './helpers/clients.js';
import { type RunningBroker, startBroker, suiteSkipReason } from './helpers/processes.js';

const skip = suiteSkipReason();
const TTL_MS = 1000;

describe('cluster metrics on /metrics', { skip, timeout: 60_000 }, () => {
  let redis: RunningRedis;
  const nodes: RunningBroker[] = [];
  let a: RunningBroker;
  let b: RunningBroker;

  before(async () => {
    redis = await startRedis();
    for (const id of ['ma', 'mb']) nodes.push(await startBroker({ env: { REDIS_URL: redis.url, NODE_ID: id, CLUSTER_HEARTBEAT_TTL_MS: String(TTL_MS) } }));
    [a, b] = nodes;
  });

  after(async () => {
    closeAllClients();
    for (const n of nodes) if (!n.exited) process.kill(n.pid, 'SIGCONT');
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  });

  it('mqtt_cluster_nodes and the Redis latency histogram (fixed command labels, cumulative buckets)', async () => {
    await waitUntil(async () => metricValue(await metricsText(a.ports.http), 'mqtt_cluster_nodes') === 2, 5000, 'A sees two nodes');
    const text = await metricsText(a.ports.http);
    const commands = new Set<string>();
    for (const line of text.split('\n')) {
      const m = /^mqtt_redis_command_duration_seconds_count\{command="([^"]+)"\} /.exec(line);
      if (m !== null) commands.add(m[1]);
    }
    assert.deepEqual([...commands].sort(), ['bus', 'heartbeat', 'registry', 'retained', 'route', 'session', 'stream']);
    const buckets = text
      .split('\n')
      .filter((l) => l.startsWith('mqtt_redis_command_duration_seconds_bucket{') && l.includes('command="heartbeat"'))
      .map((l) => Number(l.split(' ').pop()));
    assert.equal(buckets.length, 15); // 14 bounds + Inf
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i] >= buckets[i - 1], 'cumulative');
    assert.ok(buckets[buckets.length - 1] > 0, 'heartbeats were timed');
    assert.equal(buckets[buckets.length - 1], metricValue(text, 'mqtt_redis_command_duration_seconds_count', '{command="heartbeat"}'));
    assert.ok(metricValue(text, 'mqtt_redis_command_duration_seconds_sum', '{command="heartbeat"}') > 0);
  });

  it('a client id moved from A to B: one takeover taken on B, one given on A', async () => {
    const before = {
      took: metricValue(await metricsText(b.ports.http), 'mqtt_session_takeovers_total', '{side="took"}'),
      gave: metricValue(await metricsText(a.ports.http), 'mqtt_session_takeovers_total', '{side="gave"}'),
    };
    const id = uid('tk');
    const opts = { clientId: id, protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 600 } };
    await connect(a.url, opts);
    const moved = await connect(b.url, opts);
    assert.equal(moved.connack.sessionPresent, true);
    assert.equal(metricValue(await metricsText(b.ports.http), 'mqtt_session_takeovers_total', '{side="took"}'), before.took + 1);
    assert.equal(metricValue(await metricsText(a.ports.http), 'mqtt_session_takeovers_total', '{side="gave"}'), before.gave + 1);
  });

  it('QoS 1 batches pile up in a stopped node inbox (XLEN); once it runs again its stream lag reads 0', async () => {
    const topic = `${uid('lag')}/t`;
    const sub = (await connect(b.url, { clientId: uid('lags'), protocolVersion: 5 })).client;
    await sub.subscribeAsync(topic, { qos: 1 });
    const pub = (await connect(a.url, { clientId: uid('lagp') })).client;
    await waitUntil(async () => {
      const got = new Promise<boolean>((resolve) => {
        sub.once('message', () => resolve(true));
        setTimeout(() => resolve(false), 200);
      });
      await pub.publishAsync(topic, 'probe', { qos: 1 });
      return got;
    }, 5000, 'route of B visible on A');
    process.kill(b.pid, 'SIGSTOP');
    try {
      for (let i = 0; i < 5; i++) await pub.publishAsync(topic, `m${i}`, { qos: 1 }); // each PUBACK waits for its XADD
      const xlen = Number((await redisCli(redis.port, 'XLEN', 'mqtt:{n:mb}:inbox')).trim());
      assert.ok(xlen >= 1, `inbox of B holds the batches (${xlen})`);
    } finally {
      process.kill(b.pid, 'SIGCONT');
    }
    await waitUntil(async () => metricValue(await metricsText(b.ports.http), 'mqtt_cluster_stream_lag') === 0, 8000, 'B read its inbox: lag back to 0');
  });

  it('a persistent session of a node killed with SIGKILL is adopted by the survivor', async () => {
    const before = metricValue(await metricsText(a.ports.http), 'mqtt_sessions_adopted_total');
    const id = uid('adopt');
    const { client } = await connect(b.url, { clientId: id, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 600 } });
    await client.subscribeAsync(`${id}/t`, { qos: 1 });
    client.end(true);
    b.kill();
    await waitUntil(async () => metricValue(await metricsText(a.ports.http), 'mqtt_sessions_adopted_total') >= before + 1, TTL_MS * 6, 'A adopted the session');
    await waitUntil(async () => metricValue(await metricsText(a.ports.http), 'mqtt_cluster_nodes') === 1, TTL_MS * 6, 'A sees one node');
  });
});
