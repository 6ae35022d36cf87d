// The check: every metric the Grafana dashboard queries exists on a running node's
// /metrics. Starts the real broker (services/broker/dist/src/main.js, built by `tsc -b`) on free
// ports, connects a real MQTT.js client that subscribes and publishes at QoS 0 and 1, then scrapes.
// The cluster variant starts a real redis-server (the cluster-redis test harness) and two nodes in
// cluster mode, forwards messages between them and moves a client id from one to the other, then
// requires every cluster metric the dashboard queries on a cluster node's /metrics, with values.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import mqtt from 'mqtt';
import { METRICS } from '../grafana/build-dashboard.mjs';
import { ROOT } from '../testing/chart.mjs';

const MAIN = join(ROOT, 'services/broker/dist/src/main.js');
const HARNESS = join(ROOT, 'packages/cluster-redis/dist/src/testing/index.js');
const skip = !existsSync(MAIN) && 'services/broker is not built (run tsc -b)';
let node;
const clusterNodes = [];
after(() => {
  if (node && node.exitCode === null) node.kill('SIGKILL');
  for (const n of clusterNodes) if (n.exitCode === null) n.kill('SIGKILL');
});

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function until(what, fn, timeoutMs) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {}
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Metric families of a Prometheus text exposition (histograms add _bucket/_sum/_count). */
function families(text) {
  const names = new Set();
  for (const line of text.split('\n')) {
    const m = line.match(/^# TYPE (\S+) (\S+)/);
    if (!m) continue;
    names.add(m[1]);
    if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m[1] + s);
  }
  return names;
}

test('every single-node metric queried by the dashboard is on a running node /metrics', { skip, timeout: 30_000 }, async (t) => {
  const single = await startNode('dashboard-test');
  node = single.child;

  const client = await mqtt.connectAsync(single.url, { clientId: 'dashboard-test', reconnectPeriod: 0 });
  try {
    await client.subscribeAsync('dash/#', { qos: 1 });
    const got = new Promise((resolve) => {
      let n = 0;
      client.on('message', () => ++n === 2 && resolve());
    });
    await client.publishAsync('dash/a', 'x', { qos: 0 });
    await client.publishAsync('dash/b', 'y', { qos: 1, retain: true });
    await got;

    const text = await single.metrics();
    const present = families(text);
    const missing = [...METRICS.broker, ...METRICS.process].filter((name) => !present.has(name));
    assert.deepEqual(missing, [], 'queried by the dashboard but not exported by the broker');
    // Values a user would see move: one client, messages in and out.
    assert.match(text, /^mqtt_connected_clients 1$/m);
    assert.match(text, /^mqtt_messages_published_total\{qos="1"\} 1$/m);
    assert.match(text, /^mqtt_messages_delivered_total\{qos="1"\} 1$/m);
    assert.match(text, /^mqtt_retained_messages 1$/m);
    const absent = METRICS.cluster.filter((n) => !present.has(n));
    if (absent.length > 0) t.diagnostic(`single node: cluster metrics not exported (expected): ${absent.join(', ')}`);
  } finally {
    await client.endAsync();
    const exited = new Promise((r) => node.once('exit', r));
    node.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }
});

/** Starts main.js (in cluster mode with `redisUrl`); resolves once /readyz is 200. */
async function startNode(nodeId, redisUrl) {
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  let stderr = '';
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(mqttPort),
      MQTT_WS_PORT: 'off',
      HTTP_PORT: String(httpPort),
      GRPC_PORT: 'off',
      LOG_LEVEL: 'warn',
      NODE_ID: nodeId,
      ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl }),
      SYS_INTERVAL_SECONDS: '0',
      DRAIN_SECONDS: '0',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.on('data', (d) => (stderr += d));
  const base = `http://127.0.0.1:${httpPort}`;
  await until(`/readyz of ${nodeId}`, async () => (await fetch(`${base}/readyz`)).status === 200, 15_000).catch((e) => {
    throw new Error(`${e.message}; broker stderr: ${stderr}`);
  });
  const metrics = async () => {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    return res.text();
  };
  return { child, url: `mqtt://127.0.0.1:${mqttPort}`, metrics };
}

async function startClusterNode(nodeId, redisUrl) {
  const started = await startNode(nodeId, redisUrl);
  clusterNodes.push(started.child);
  return started;
}

function sample(text, name, labels = '') {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

test('every cluster metric queried by the dashboard is on a running cluster node /metrics', { skip: skip || (!existsSync(HARNESS) && 'packages/cluster-redis is not built'), timeout: 60_000 }, async () => {
  const { startRedis } = await import(pathToFileURL(HARNESS).href);
  const redis = await startRedis();
  const clients = [];
  try {
    const a = await startClusterNode('dash-a', redis.url);
    const b = await startClusterNode('dash-b', redis.url);
    // a subscriber on B, a publisher on A: messages forwarded A -> B at QoS 0 and 1
    const sub = await mqtt.connectAsync(b.url, { clientId: 'dash-sub', reconnectPeriod: 0 });
    clients.push(sub);
    await sub.subscribeAsync('dash/#', { qos: 1 });
    const pub = await mqtt.connectAsync(a.url, { clientId: 'dash-pub', reconnectPeriod: 0 });
    clients.push(pub);
    let n = 0;
    sub.on('message', () => n++);
    await until('a forwarded message on B', async () => {
      await pub.publishAsync('dash/x', 'x', { qos: 1 });
      return n > 0;
    }, 10_000);
    // the same client id on B while connected to A: B takes the session over from A
    const first = await mqtt.connectAsync(a.url, { clientId: 'dash-move', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 600 }, reconnectPeriod: 0 });
    clients.push(first);
    const second = await mqtt.connectAsync(b.url, { clientId: 'dash-move', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 600 }, reconnectPeriod: 0 });
    clients.push(second);

    const textA = await a.metrics();
    const textB = await b.metrics();
    for (const [name, text] of [['A', textA], ['B', textB]]) {
      const present = families(text);
      const missing = [...METRICS.broker, ...METRICS.process, ...METRICS.cluster].filter((m) => !present.has(m));
      assert.deepEqual(missing, [], `node ${name}: queried by the dashboard but not exported`);
    }
    assert.equal(sample(textA, 'mqtt_cluster_nodes'), 2);
    assert.ok(sample(textA, 'mqtt_cluster_forwarded_messages_total', '{peer="dash-b"}') >= 1);
    assert.ok(sample(textB, 'mqtt_cluster_received_messages_total', '{peer="dash-a"}') >= 1);
    assert.equal(sample(textB, 'mqtt_session_takeovers_total', '{side="took"}'), 1);
    assert.equal(sample(textA, 'mqtt_session_takeovers_total', '{side="gave"}'), 1);
    assert.equal(sample(textA, 'mqtt_sessions_adopted_total'), 0);
    assert.equal(sample(textA, 'mqtt_redis_reconnects_total'), 0);
    assert.equal(sample(textB, 'mqtt_cluster_stream_lag'), 0);
    // Redis round trips were timed: heartbeats and routes on both, forwarding on A (QoS 0 bus / QoS 1 stream)
    for (const command of ['heartbeat', 'route', 'registry']) {
      assert.ok(sample(textB, 'mqtt_redis_command_duration_seconds_count', `{command="${command}"}`) > 0, `B timed ${command}`);
    }
    assert.ok(sample(textA, 'mqtt_redis_command_duration_seconds_count', '{command="stream"}') > 0, 'A timed its XADDs');
    const inf = sample(textA, 'mqtt_redis_command_duration_seconds_bucket', '{le="+Inf",command="heartbeat"}');
    assert.equal(inf, sample(textA, 'mqtt_redis_command_duration_seconds_count', '{command="heartbeat"}'));
  } finally {
    for (const c of clients) c.end(true);
    await Promise.all(
      clusterNodes.map(async (child) => {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      }),
    );
    await redis.stop();
  }
});
