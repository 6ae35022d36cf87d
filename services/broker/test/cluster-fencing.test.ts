/**
 * Session fencing across processes (docs/cluster.md, "Fencing"): a node that was frozen while its
 * persistent client moved to another node must not overwrite the new owner's session when it
 * resumes.
 *
 * Three broker processes on one redis-server, heartbeat TTL 1 s. The persistent client X is on A
 * and subscribed; A is frozen with SIGSTOP; X's connection is dropped and X connects to B (B asks
 * A for a takeover, A cannot answer; once A's heartbeat expired a survivor cleans up after A and B
 * takes the session). Messages are published on C for X while it is offline: B queues them and
 * saves the snapshot with each inbox entry. A gets SIGCONT: it handles B's takeover request that
 * waited in its socket (and X's closed connection) and tries to save its old copy of X's session.
 * Then B is killed (SIGKILL), so the next owner of X can only read what Redis holds: X connects
 * to C and must get B's queued messages. Without fencing A's stale snapshot (subscriptions, no
 * queue) replaced B's and the messages were lost.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type RunningRedis, redisCli, startRedis } from '@mqtt-broker/cluster-redis/testing';
import mqtt, { type IConnackPacket, type MqttClient } from 'mqtt';
import { closeAllClients, connect, uid } from './helpers/clients.js';
import { type RunningBroker, startBroker, suiteSkipReason } from './helpers/processes.js';
import { metricsText, metricValue, waitUntil } from './cluster-ops-support.js';

const TTL_MS = 1000;
const skip = suiteSkipReason();

describe('cluster session fencing: a node resumed after SIGSTOP', { skip, timeout: 60_000 }, () => {
  let redis: RunningRedis | undefined;
  const nodes: RunningBroker[] = [];

  after(async () => {
    closeAllClients();
    for (const n of nodes) if (!n.exited) process.kill(n.pid, 'SIGCONT');
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  });

  it("cannot overwrite the new owner's session: the client still gets the messages queued on the new owner", async () => {
    redis = await startRedis();
    const tag = uid('fe');
    const id = (n: string): string => `${tag}-${n}`;
    for (const n of ['a', 'b', 'c']) nodes.push(await startBroker({ env: { REDIS_URL: redis.url, NODE_ID: id(n), CLUSTER_HEARTBEAT_TTL_MS: String(TTL_MS) } }));
    const [a, b, c] = nodes;
    const clientId = `${tag}-x`;
    const topic = `${tag}/x`;
    const persistent = { protocolVersion: 5 as const, clientId, clean: false, properties: { sessionExpiryInterval: 600 } };

    const x1 = (await connect(a.url, persistent)).client;
    await x1.subscribeAsync(topic, { qos: 1 });
    // the SUBACK goes out once the subscription is saved
    const sessionKey = `mqtt:{c:${clientId}}:session`;
    assert.ok((await redisCli(redis!.port, 'GET', sessionKey)).includes(topic), "A saved X's subscription before its SUBACK");

    process.kill(a.pid, 'SIGSTOP');
    const frozenAt = Date.now();
    x1.end(true); // its connection to A is gone; A sees the close when it resumes
    const moved = await connect(b.url, persistent, 20_000);
    console.log(`# B took X's session ${Date.now() - frozenAt} ms after A froze (A's takeover answer never came; A cleaned up as a dead node)`);
    assert.equal(moved.connack.sessionPresent, true, "B has X's session");
    await moved.client.endAsync(); // X offline on B

    // C -> B route: a probe subscriber on B gets C's messages once the route is in C's replica
    const probe = (await connect(b.url, { protocolVersion: 5 })).client;
    await probe.subscribeAsync(topic, { qos: 1 });
    const pub = (await connect(c.url, { protocolVersion: 5 })).client;
    await routeLive(pub, probe, topic);
    for (let i = 0; i < 5; i++) await pub.publishAsync(topic, `m${i}`, { qos: 1 });
    const inbox = `mqtt:{n:${id('b')}}:inbox`;
    await waitUntil(async () => Number((await redisCli(redis!.port, 'XLEN', inbox)).trim()) === 0, 10_000, "B saved X's queue with its inbox entries");

    process.kill(a.pid, 'SIGCONT');
    // A handles B's takeover request that waited in its socket: it saves (or tries to save) its copy of X
    await waitUntil(async () => metricValue(await metricsText(a.ports.http), 'mqtt_session_takeovers_total', '{side="gave"}') >= 1, 10_000, 'A handled the takeover request');
    const fenced = metricValue(await metricsText(a.ports.http), 'mqtt_cluster_fenced_writes_total');

    b.kill();
    const killedAt = Date.now();
    const back = mqtt.connect(c.url, { ...persistent, reconnectPeriod: 0, connectTimeout: 20_000 });
    const payloads: string[] = [];
    back.on('message', (_t, payload) => {
      if (payload.toString().startsWith('m')) payloads.push(payload.toString());
    });
    back.on('error', () => {});
    const connack = await new Promise<IConnackPacket>((resolve, reject) => {
      back.once('connect', resolve);
      back.once('close', () => reject(new Error('X could not connect to C')));
    });
    await waitUntil(() => payloads.length >= 5, 10_000, 'X got its queued messages on C').catch(() => 0);
    console.log(`# A's refused writes: ${fenced}; X on C (${Date.now() - killedAt} ms after B was killed) got ${JSON.stringify(payloads)}`);
    back.end(true);
    assert.equal(connack.sessionPresent, true, 'session present on C');
    assert.deepEqual(payloads, ['m0', 'm1', 'm2', 'm3', 'm4'], "the messages queued on B, from B's snapshot");
    assert.ok(fenced >= 1, "A's stale write was refused and counted");
    const logs = (a.stdout() + a.stderr()).split('\n').filter((l) => l.includes('session_write_fenced') && l.includes(clientId));
    assert.equal(logs.length, 1, 'logged once for the client');
  });
});

/** Publishes probe messages from `pub` until `sub` receives one (the route is in the publisher's replica), bounded. */
async function routeLive(pub: MqttClient, sub: MqttClient, topic: string): Promise<void> {
  let seen = false;
  const onMessage = (_t: string, payload: Buffer): void => {
    if (payload.toString().startsWith('probe')) seen = true;
  };
  sub.on('message', onMessage);
  try {
    await waitUntil(
      async () => {
        await pub.publishAsync(topic, 'probe', { qos: 0 });
        await new Promise((r) => setTimeout(r, 50));
        return seen;
      },
      5000,
      'the route to B is visible on C',
    );
  } finally {
    sub.removeListener('message', onMessage);
  }
}
