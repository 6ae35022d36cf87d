// The check: every metric the Grafana dashboard queries exists on a running node's
// /metrics. Starts the real broker (services/broker/dist/src/main.js, built by `tsc -b`) on free
// ports, connects a real MQTT.js client that subscribes and publishes at QoS 0 and 1, then scrapes.
// Cluster metrics are a proposal for the cluster issue: they are reported, not required, until
// the broker runs in cluster mode.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import mqtt from 'mqtt';
import { METRICS } from '../grafana/build-dashboard.mjs';
import { ROOT } from '../testing/chart.mjs';

const MAIN = join(ROOT, 'services/broker/dist/src/main.js');
const skip = !existsSync(MAIN) && 'services/broker is not built (run tsc -b)';
let node;
after(() => {
  if (node && node.exitCode === null) node.kill('SIGKILL');
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
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  let stderr = '';
  node = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(mqttPort),
      MQTT_WS_PORT: 'off',
      HTTP_PORT: String(httpPort),
      GRPC_PORT: 'off',
      LOG_LEVEL: 'warn',
      NODE_ID: 'dashboard-test',
      SYS_INTERVAL_SECONDS: '0',
      DRAIN_SECONDS: '0',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  node.stderr.on('data', (d) => (stderr += d));
  const base = `http://127.0.0.1:${httpPort}`;
  await until('/readyz', async () => (await fetch(`${base}/readyz`)).status === 200, 15_000).catch((e) => {
    throw new Error(`${e.message}; broker stderr: ${stderr}`);
  });

  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'dashboard-test', reconnectPeriod: 0 });
  try {
    await client.subscribeAsync('dash/#', { qos: 1 });
    const got = new Promise((resolve) => {
      let n = 0;
      client.on('message', () => ++n === 2 && resolve());
    });
    await client.publishAsync('dash/a', 'x', { qos: 0 });
    await client.publishAsync('dash/b', 'y', { qos: 1, retain: true });
    await got;

    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    const present = families(text);
    const missing = [...METRICS.broker, ...METRICS.process].filter((name) => !present.has(name));
    assert.deepEqual(missing, [], 'queried by the dashboard but not exported by the broker');
    // Values a user would see move: one client, messages in and out.
    assert.match(text, /^mqtt_connected_clients 1$/m);
    assert.match(text, /^mqtt_messages_published_total\{qos="1"\} 1$/m);
    assert.match(text, /^mqtt_messages_delivered_total\{qos="1"\} 1$/m);
    assert.match(text, /^mqtt_retained_messages 1$/m);
    const clusterPresent = METRICS.cluster.filter((name) => present.has(name));
    if (clusterPresent.length < METRICS.cluster.length) {
      const absent = METRICS.cluster.filter((n) => !present.has(n));
      t.diagnostic(`cluster metrics not exported yet: ${absent.join(', ')}`);
    }
  } finally {
    await client.endAsync();
    const exited = new Promise((r) => node.once('exit', r));
    node.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }
});
