/**
 * A flood toward a node that cannot keep up never gets that node cut off from Redis (issue 4,
 * benchmark target "bounded, backpressured forwarding"). Node B is frozen with SIGSTOP while a
 * raw client floods node A with 40 MB of QoS 0 messages for a subscriber on B. Redis cuts a pub/sub
 * subscriber whose output buffer passes 32 MiB; A's bus keeps at most its consumption window
 * (4 MiB) unconsumed per peer and drops the excess, so B's subscriber connection (same Redis
 * client id before and after) survives and B resumes delivering once it runs again.
 */
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { describe, it } from 'node:test';
import { redisCli } from '@mqtt-broker/cluster-redis/testing';
import mqttPacket from 'mqtt-packet';
import { awaitRoute, metricValue, metricsText, useTwoNodes, waitUntil } from './cluster-ops-support.js';
import { collect, connect, uid } from './helpers/clients.js';
import { suiteSkipReason } from './helpers/processes.js';

const skip = suiteSkipReason();

/** Redis client ids of pub/sub subscriber connections (sub or ssub > 0). */
async function subscriberIds(port: number): Promise<string[]> {
  const list = await redisCli(port, 'CLIENT', 'LIST');
  return list
    .split('\n')
    .filter((l) => /\bsub=[1-9]/.test(l) || /\bssub=[1-9]/.test(l))
    .map((l) => /\bid=(\d+)/.exec(l)?.[1] ?? '')
    .sort();
}

describe('flood toward a frozen node: its Redis link survives', { skip, timeout: 60_000 }, () => {
  const { redis, nodes } = useTwoNodes();

  it('40 MB for a subscriber on a SIGSTOPped node: no link cut, excess dropped at the sender, delivery resumes', async () => {
    const [a, b] = nodes;
    const topic = `${uid('flood')}/t`;
    const sub = (await connect(b.url)).client;
    await sub.subscribeAsync(topic, { qos: 0 });
    const probe = (await connect(a.url)).client;
    await awaitRoute(probe, sub, topic); // A routes the topic to B
    probe.end(true);
    const linksBefore = await subscriberIds(redis().port);
    assert.equal(linksBefore.length, 2, 'one subscriber connection per node');

    process.kill(b.pid, 'SIGSTOP');
    let frozen = true;
    try {
      const payload = Buffer.alloc(1024, 0x61);
      const frame = mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false });
      const connectFrame = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: uid('fl'), keepalive: 0 });
      const socket = netConnect(a.ports.mqtt, '127.0.0.1');
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      const connack = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no CONNACK from node A')), 5000);
        socket.once('data', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      socket.on('data', () => {});
      let closedBy: string | undefined;
      socket.on('close', () => (closedBy ??= 'closed by node A'));
      socket.on('error', (e) => (closedBy = e.message));
      socket.write(connectFrame);
      await connack; // data sent before CONNACK is bounded by the broker (quota): flood after it
      const burst = Buffer.concat(Array.from({ length: 1000 }, () => frame));
      for (let i = 0; i < 40 && closedBy === undefined; i++) {
        if (socket.write(burst)) continue;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`node A stopped reading the flood after ${i} of 40 MB`)), 15_000);
          const done = () => {
            clearTimeout(timer);
            resolve();
          };
          socket.once('drain', done);
          socket.once('close', done);
        });
      }
      if (closedBy !== undefined) {
        const why = (await metricsText(a.ports.http)).split('\n').filter((l) => /^mqtt_(disconnects|connections_closed_before_connect|protocol_violations|limit_hits|connections_rejected)_total\S* [1-9]/.test(l));
        assert.fail(`node A closed the flooding connection (${closedBy}): ${why.join('; ')} ${a.stderr().slice(-500)}`);
      }
      // A has read and forwarded or dropped everything once its published count stops moving
      let last = -1;
      await waitUntil(
        async () => {
          await new Promise((r) => setTimeout(r, 250)); // settled: no change over 250 ms
          const n = metricValue(await metricsText(a.ports.http), 'mqtt_messages_published_total', '{qos="0"}');
          const settled = n === last && n > 0;
          last = n;
          return settled;
        },
        20_000,
        'node A read the flood',
      );
      assert.ok(last >= 40_000, `node A read the whole flood (${last} of 40000)`);
      socket.destroy();
      const dropped = metricValue(await metricsText(a.ports.http), 'mqtt_cluster_dropped_messages_total');
      assert.ok(dropped > 20_000, `A dropped the excess at its bus (${dropped})`);
      process.kill(b.pid, 'SIGCONT');
      frozen = false;
    } finally {
      if (frozen) process.kill(b.pid, 'SIGCONT');
    }
    // B works through what Redis held for it, then new messages cross again on the same link
    const got = collect(sub, 1, 10_000);
    const pub = (await connect(a.url)).client;
    await waitUntil(
      async () => {
        pub.publish(topic, 'after');
        return (await Promise.race([got.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 200))])) === true;
      },
      10_000,
      'messages cross again',
    );
    assert.deepEqual(await subscriberIds(redis().port), linksBefore, 'the same subscriber connections: Redis cut no link');
  });
});
