/**
 * The docker-compose topology (/docker-compose.yml) as plain processes: one redis-server, three
 * broker processes (NODE_ID broker1..3) on it, and Debian's haproxy running deploy/haproxy.cfg
 * with only the addresses rewritten (binds on free local ports, each `server brokerN brokerN:port`
 * pointed at that node's local MQTT/WebSocket port with its HTTP port for the /readyz check, check
 * interval shortened). MQTT.js clients connect through HAProxy only. Checked: leastconn spreads
 * clients over the three nodes and messages cross nodes over TCP and WebSocket; a node whose
 * /readyz stops answering (SIGSTOP: a hung process) is taken out of rotation, and new clients are
 * served by the others; it comes back once it answers again.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { type RunningRedis, startRedis } from '@mqtt-broker/cluster-redis/testing';
import { awaitRoute, metricValue, metricsText, notProbe, waitUntil } from './cluster-ops-support.js';
import { closeAllClients, collect, connect, uid } from './helpers/clients.js';
import { freePort, type RunningBroker, startBroker, suiteSkipReason, tcpOpen } from './helpers/processes.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url)); // services/broker/dist/test -> repo root
const haproxyAvailable = spawnSync('haproxy', ['-v']).status === 0;
const skip = suiteSkipReason() || (!haproxyAvailable && 'haproxy not installed');

interface Front {
  mqtt: number;
  ws: number;
  stats: number;
}

/** deploy/haproxy.cfg with local addresses: the ports differ, nothing else. */
function localHaproxyConfig(nodes: Map<string, RunningBroker>, front: Front): string {
  let cfg = readFileSync(join(ROOT, 'deploy/haproxy.cfg'), 'utf8')
    .replace('bind :1883', `bind 127.0.0.1:${front.mqtt}`)
    .replace('bind :8083', `bind 127.0.0.1:${front.ws}`)
    .replace('bind :8404', `bind 127.0.0.1:${front.stats}`)
    .replaceAll('inter 2s', 'inter 200ms')
    .replace(/^(\s*log stdout.*)$/m, '    log stderr format raw local0 info');
  cfg = cfg.replace(/^(\s*server (broker\d) )broker\d:(\d+)$/gm, (_m, head: string, name: string, port: string) => {
    const node = nodes.get(name);
    if (node === undefined) throw new Error(`no node for ${name}`);
    return `${head}127.0.0.1:${port === '1883' ? node.ports.mqtt : node.ports.ws} port ${node.ports.http}`;
  });
  assert.doesNotMatch(cfg, /^\s*server broker\d broker\d:/m, 'every server line was rewritten');
  return cfg;
}

describe('the docker-compose topology as processes: redis, three nodes, HAProxy in front', { skip, timeout: 60_000 }, () => {
  let redis: RunningRedis;
  const nodes = new Map<string, RunningBroker>();
  const front: Front = { mqtt: 0, ws: 0, stats: 0 };
  let haproxy: ChildProcess | undefined;
  let haproxyLog = '';
  const dir = mkdtempSync(join(tmpdir(), 'cluster-topology-'));
  let mqttUrl = '';
  let wsUrl = '';

  before(async () => {
    redis = await startRedis();
    for (const id of ['broker1', 'broker2', 'broker3']) nodes.set(id, await startBroker({ env: { REDIS_URL: redis.url, NODE_ID: id } }));
    Object.assign(front, { mqtt: await freePort(), ws: await freePort(), stats: await freePort() });
    const path = join(dir, 'haproxy.cfg');
    writeFileSync(path, localHaproxyConfig(nodes, front));
    haproxy = spawn('haproxy', ['-db', '-f', path], { stdio: ['ignore', 'ignore', 'pipe'] });
    haproxy.stderr?.on('data', (d: Buffer) => {
      if (haproxyLog.length < 200_000) haproxyLog += d.toString();
    });
    await waitUntil(() => tcpOpen(front.mqtt), 5000, `haproxy listening (log: ${haproxyLog})`);
    mqttUrl = `mqtt://127.0.0.1:${front.mqtt}`;
    wsUrl = `ws://127.0.0.1:${front.ws}/mqtt`;
  });

  after(async () => {
    closeAllClients();
    if (haproxy !== undefined && haproxy.exitCode === null && haproxy.signalCode === null) {
      const exited = new Promise((r) => haproxy?.once('exit', r));
      haproxy.kill('SIGTERM');
      await exited;
    }
    for (const node of nodes.values()) if (!node.exited) process.kill(node.pid, 'SIGCONT');
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function connectedPerNode(): Promise<number[]> {
    return Promise.all([...nodes.values()].map(async (n) => metricValue(await metricsText(n.ports.http), 'mqtt_connected_clients')));
  }

  it('MQTT.js over TCP and WebSocket through HAProxy: clients spread over the nodes, messages cross them', async () => {
    const topic = `${uid('topo')}/t`;
    // leastconn: three connections opened one after the other land on three different nodes
    const subTcp = (await connect(mqttUrl, { protocolVersion: 5 })).client;
    const subWs = (await connect(wsUrl, { protocolVersion: 4 })).client;
    const pub = (await connect(mqttUrl, { protocolVersion: 5 })).client;
    assert.deepEqual(await connectedPerNode(), [1, 1, 1], 'one client on each node');
    await subTcp.subscribeAsync(topic, { qos: 1 });
    await subWs.subscribeAsync(topic, { qos: 1 });
    await awaitRoute(pub, subTcp, topic);
    await awaitRoute(pub, subWs, topic);
    const gotTcp = collect(subTcp, 20, 5000, notProbe);
    const gotWs = collect(subWs, 20, 5000, notProbe);
    for (let i = 0; i < 20; i++) await pub.publishAsync(topic, String(i), { qos: 1 });
    const expected = Array.from({ length: 20 }, (_, i) => String(i));
    assert.deepEqual(
      (await gotTcp).map((m) => m.payload.toString()),
      expected,
    );
    assert.deepEqual(
      (await gotWs).map((m) => m.payload.toString()),
      expected,
    );
    for (const c of [subTcp, subWs, pub]) await c.endAsync();
  });

  it('a node whose /readyz fails is taken out of rotation and comes back when it answers', async () => {
    const hung = nodes.get('broker2');
    assert.ok(hung !== undefined);
    process.kill(hung.pid, 'SIGSTOP'); // /readyz no longer answers (a hung process)
    try {
      await waitUntil(() => /brokers_mqtt\/broker2 is DOWN/.test(haproxyLog), 5000, 'HAProxy marks broker2 down');
      const topic = `${uid('topo2')}/t`;
      const clients = [];
      for (let i = 0; i < 6; i++) clients.push((await connect(mqttUrl, { protocolVersion: 5 }, 3000)).client);
      const sub = clients[0];
      await sub.subscribeAsync(topic, { qos: 1 });
      for (let i = 1; i < 6; i++) await awaitRoute(clients[i], sub, topic);
      const got = collect(sub, 5, 3000, notProbe);
      for (let i = 1; i < 6; i++) await clients[i].publishAsync(topic, String(i), { qos: 1 });
      assert.equal((await got).length, 5, 'all served by the two healthy nodes');
      for (const c of clients) c.end(true);
    } finally {
      process.kill(hung.pid, 'SIGCONT');
    }
    await waitUntil(() => /brokers_mqtt\/broker2 is UP/.test(haproxyLog), 5000, 'HAProxy puts broker2 back');
    await waitUntil(async () => (await connectedPerNode()).every((n) => n === 0), 3000, 'earlier clients gone');
    const again = [];
    for (let i = 0; i < 3; i++) again.push((await connect(mqttUrl, { protocolVersion: 5 })).client);
    assert.deepEqual(await connectedPerNode(), [1, 1, 1], 'the recovered node gets connections again');
    for (const c of again) c.end(true);
  });
});
