// The k6 scripts of load-tests/k6 run under Node with shims for k6/x/mqtt (over MQTT.js 3.1.1),
// k6/metrics and k6/execution, against a real mosquitto on a free port, with small settings:
// the scripts' own logic (topics, shared group, pacing, sequence tracking, latency, summary) is
// exercised end to end. Compatibility with the real xk6-mqtt extension needs k6 itself
// (load-tests/k6/README.md).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from '../testing/chart.mjs';

const SHIM = join(ROOT, 'deploy/testing/k6-shim');
const hasMosquitto = spawnSync('mosquitto', ['-h']).error === undefined;
let broker;
let port;

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const p = s.address().port;
  await new Promise((r) => s.close(r));
  return p;
}

before(async () => {
  if (!hasMosquitto) return;
  port = await freePort();
  broker = spawn('mosquitto', ['-p', String(port)], { stdio: 'ignore' });
  // Wait until it accepts connections (bounded).
  const end = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > end) throw new Error('mosquitto did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
});
after(() => broker?.kill('SIGTERM'));

function runScript(script, specs, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', join(SHIM, 'register.mjs'), join(SHIM, 'run.mjs'), join(ROOT, 'load-tests/k6', script), ...specs], {
      env: { ...process.env, MQTT_BROKER_ADDRESS: `mqtt://127.0.0.1:${port}`, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${script} exited ${code}: ${err}`));
      const last = out.trim().split('\n').at(-1);
      resolve(JSON.parse(last));
    });
  });
}

const count = (r, name) => r.data.metrics[name]?.values.count ?? 0;
const skip = !hasMosquitto && 'mosquitto not installed';

test('point-to-point: every message arrives once, latency recorded', { skip, timeout: 30_000 }, async () => {
  const r = await runScript('point-to-point.js', ['default:3'], { PAIRS: '3', RATE: '40', SECONDS: '1', SETTLE_MS: '300', QOS: '1' });
  assert.equal(count(r, 'mqtt_k6_published'), 120);
  assert.equal(count(r, 'mqtt_k6_received'), 120);
  assert.equal(count(r, 'mqtt_messages_lost'), 0);
  assert.equal(count(r, 'mqtt_delivery_latency'), 120);
  assert.equal(r.data.metrics.mqtt_connect_ok.values.rate, 1);
  assert.match(r.summaryText, /delivered 120 of 120 expected \(100\.000%\)/);
});

test('fan-out: each subscriber gets every message of the publisher', { skip, timeout: 30_000 }, async () => {
  // the warm-up is the time the subscribers have to connect and subscribe: 3 s, not 1 s, so that a
  // loaded CI machine does not make them miss the first messages (seen: 118 of 120)
  const env = { SUBSCRIBERS: '4', RATE: '30', SECONDS: '1', WARMUP_SECONDS: '3', SETTLE_MS: '500', QOS: '1' };
  const r = await runScript('fan-out.js', ['subscriber:4', 'publisher:1@3000'], env);
  assert.equal(count(r, 'mqtt_k6_published'), 30);
  assert.equal(count(r, 'mqtt_k6_received'), 120);
  assert.equal(count(r, 'mqtt_messages_lost'), 0);
});

test('fan-out: subscribers that join late are not counted as losses', { skip, timeout: 30_000 }, async () => {
  // The publisher starts before the subscribers: their first messages are missed, and the
  // tracker only counts gaps after the first message seen, so this checks there are no false
  // positives while delivery continues in order.
  const env = { SUBSCRIBERS: '2', RATE: '50', SECONDS: '1', WARMUP_SECONDS: '0', SETTLE_MS: '500', QOS: '0' };
  const r = await runScript('fan-out.js', ['publisher:1', 'subscriber:2@300'], env);
  assert.equal(count(r, 'mqtt_k6_published'), 50);
  assert.ok(count(r, 'mqtt_k6_received') < 100, 'late subscribers missed the first messages');
  assert.equal(count(r, 'mqtt_messages_lost'), 0);
});

test('shared fan-in: each message goes to exactly one consumer of the group', { skip, timeout: 30_000 }, async () => {
  const env = { PUBLISHERS: '5', CONSUMERS: '2', RATE: '20', SECONDS: '1', WARMUP_SECONDS: '3', SETTLE_MS: '500', QOS: '1' };
  const r = await runScript('shared-fan-in.js', ['consumer:2', 'device:5@3000'], env);
  assert.equal(count(r, 'mqtt_k6_published'), 100);
  assert.equal(count(r, 'mqtt_k6_received'), 100, 'not 200: the group shares the messages');
  assert.match(r.summaryText, /delivered 100 of 100/);
});

test('connection ramp: connections open, subscribe, hold and close', { skip, timeout: 30_000 }, async () => {
  const r = await runScript('connection-ramp.js', ['default:20'], { TARGET: '20', RAMP: '0', HOLD: '1' });
  assert.equal(r.data.metrics.mqtt_connect_ok.values.passes, 20);
  assert.equal(r.data.metrics.mqtt_connect_ok.values.rate, 1);
  assert.equal(r.data.metrics.mqtt_connect_duration.values.count, 20);
});

test('the sequence tracker counts gaps as lost and repeats as duplicated', { timeout: 10_000 }, () => {
  const code = `
    globalThis.__ENV = {};
    const { SequenceTracker } = await import(${JSON.stringify(join(ROOT, 'load-tests/k6/lib/common.js'))});
    const { summary } = await import(${JSON.stringify(join(SHIM, 'metrics.mjs'))});
    const t = new SequenceTracker();
    for (const [p, seq] of [['a', 1], ['a', 2], ['b', 7], ['a', 5], ['a', 5], ['b', 8], ['a', 6], ['b', 10]]) t.observe({ publisherId: p, seq });
    const m = summary().metrics;
    console.log(JSON.stringify([m.mqtt_messages_lost.values.count, m.mqtt_messages_duplicated.values.count]));
  `;
  const r = spawnSync(process.execPath, ['--import', join(SHIM, 'register.mjs'), '--input-type=module', '-e', code], {
    encoding: 'utf8',
    env: { ...process.env },
    timeout: 10_000,
  });
  assert.equal(r.status, 0, r.stderr);
  // a: 1,2,(3,4 lost),5,5(dup),6 -> 2 lost, 1 duplicated; b: 7,8,(9 lost),10 -> 1 lost.
  assert.deepEqual(JSON.parse(r.stdout), [3, 1]);
});
