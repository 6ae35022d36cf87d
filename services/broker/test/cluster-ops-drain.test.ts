/**
 * Issue 4, behaviour 11: a node that receives SIGTERM drains (ARCHITECTURE.md section 4): /readyz
 * turns 503, its 5.0 clients get DISCONNECT 0x8B (Server shutting down), persistent sessions are
 * saved to Redis before the process exits, and the clients reconnect to another node and resume
 * their sessions (session present, queued messages in order, subscriptions still routed).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningRedis, startRedis } from '@mqtt-broker/cluster-redis/testing';
import { awaitRoute, connectAndCollect, metricsText, metricValue, notProbe, readyStatus, waitUntil } from './cluster-ops-support.js';
import { closeAllClients, collect, connect, serverDisconnect, uid } from './helpers/clients.js';
import { type RunningBroker, startBroker, suiteSkipReason } from './helpers/processes.js';

const skip = suiteSkipReason();

describe('behaviour 11: SIGTERM drains a node; its clients resume elsewhere', { skip, timeout: 60_000 }, () => {
  let redis: RunningRedis;
  const nodes: RunningBroker[] = [];
  let a: RunningBroker;
  let b: RunningBroker;
  let c: RunningBroker;

  before(async () => {
    redis = await startRedis();
    for (const id of ['a', 'b', 'c']) nodes.push(await startBroker({ env: { REDIS_URL: redis.url, NODE_ID: id, DRAIN_SECONDS: '1' } }));
    [a, b, c] = nodes;
  });

  after(async () => {
    closeAllClients();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  });

  it('connected and offline persistent sessions on the drained node resume on other nodes with their queued messages', async () => {
    const online = uid('d11on');
    const parked = uid('d11off');
    const optsOf = (clientId: string) => ({ protocolVersion: 5 as const, clientId, clean: false, properties: { sessionExpiryInterval: 300 } });
    // an offline session parked on A with messages queued for it
    const queued = async () => metricValue(await metricsText(a.ports.http), 'mqtt_queued_messages');
    const p = (await connect(a.url, optsOf(parked))).client;
    await p.subscribeAsync(`${parked}/q`, { qos: 1 });
    const pub = (await connect(b.url, { protocolVersion: 5 })).client;
    await awaitRoute(pub, p, `${parked}/q`); // B routes it to A (polled, not slept)
    await p.endAsync();
    // a connected session on A
    const on = (await connect(a.url, optsOf(online))).client;
    await on.subscribeAsync(`${online}/q`, { qos: 2 });
    await awaitRoute(pub, on, `${online}/q`);
    const queuedBefore = await queued();
    for (let i = 0; i < 10; i++) await pub.publishAsync(`${parked}/q`, `p${i}`, { qos: 1 });
    await waitUntil(async () => (await queued()) >= queuedBefore + 10, 10_000, 'the 10 messages queued on A');
    const live = collect(on, 3, 3000, notProbe);
    for (let i = 0; i < 3; i++) await pub.publishAsync(`${online}/q`, `live${i}`, { qos: 2 });
    assert.deepEqual(
      (await live).map((m) => m.payload.toString()),
      ['live0', 'live1', 'live2'],
    );
    // SIGTERM: the connected client is told to go (0x8B) and both sessions are saved before exit
    const disconnect = serverDisconnect(on, 5000);
    const t0 = Date.now();
    const exited = a.stop(10_000);
    await waitUntil(async () => (await readyStatus(a.ports.http)) !== 200, 3000, '/readyz leaves 200 on the draining node');
    assert.equal((await disconnect).reasonCode, 0x8b, 'DISCONNECT Server shutting down');
    on.end(true);
    assert.equal(await exited, 0, 'clean exit after the drain');
    const drainMs = Date.now() - t0;

    // the offline session resumes on C: everything A had queued, in order
    const resumed = await connectAndCollect(c.url, optsOf(parked), 10, 5000, notProbe);
    assert.equal(resumed.connack.sessionPresent, true);
    assert.deepEqual(
      (await resumed.messages).map((m) => m.payload),
      Array.from({ length: 10 }, (_, i) => `p${i}`),
    );
    // the connected one resumes on B and its subscription is routed again (published on C)
    const back = await connectAndCollect(b.url, optsOf(online), 1, 5000, notProbe);
    assert.equal(back.connack.sessionPresent, true);
    const pubC = (await connect(c.url, { protocolVersion: 5 })).client;
    await awaitRoute(pubC, back.client, `${online}/q`);
    await pubC.publishAsync(`${online}/q`, 'after', { qos: 2 });
    assert.deepEqual(
      (await back.messages).map((m) => m.payload),
      ['after'],
    );
    console.log(`# SIGTERM to exit with DRAIN_SECONDS=1: ${drainMs} ms`);
    back.client.end(true);
    resumed.client.end(true);
  });

  it('the survivors keep serving cross-node traffic without the drained node', async () => {
    const topic = `${uid('d11x')}/t`;
    const sub = (await connect(b.url)).client;
    await sub.subscribeAsync(topic, { qos: 1 });
    const pub = (await connect(c.url)).client;
    await awaitRoute(pub, sub, topic);
    const got = collect(sub, 1, 3000, notProbe);
    await pub.publishAsync(topic, 'x', { qos: 1 });
    assert.equal((await got)[0].payload.toString(), 'x');
    assert.equal(await readyStatus(a.ports.http), 0, 'the drained node is gone');
  });
});

describe('SIGTERM while Redis is unreachable', { skip, timeout: 60_000 }, () => {
  it('the node still exits within DRAIN_SECONDS + 5 s, logging what it could not finish', async () => {
    const redis = await startRedis();
    const node = await startBroker({ env: { REDIS_URL: redis.url, NODE_ID: uid('d11down'), DRAIN_SECONDS: '1', LOG_LEVEL: 'info' } });
    try {
      const sub = (await connect(node.url, { protocolVersion: 4, clientId: uid('d11p'), clean: false })).client;
      await sub.subscribeAsync(`${uid('d11t')}/#`, { qos: 1 });
      await redis.stop();
      await waitUntil(async () => (await readyStatus(node.ports.http)) !== 200, 5000, '/readyz leaves 200 once Redis is gone');
      const t0 = Date.now();
      const exit = await node.stop(30_000); // SIGKILL only after 30 s
      const ms = Date.now() - t0;
      sub.end(true);
      console.log(`# SIGTERM to exit with Redis unreachable, DRAIN_SECONDS=1: ${ms} ms, exit ${exit}`);
      assert.ok(ms < 1000 + 5000, `exited within DRAIN_SECONDS + 5 s (${ms} ms)`);
      assert.equal(exit, 1, 'exit code 1: the shutdown did not complete');
      assert.match(node.stdout(), /"event":"shutdown_timeout"/, 'the unfinished shutdown is logged');
    } finally {
      await node.stop();
      await redis.stop();
    }
  });
});
