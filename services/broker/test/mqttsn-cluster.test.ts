// MQTT-SN across two nodes over a real redis-server: an MQTT-SN client on one node and MQTT.js on
// the other exchange messages both ways at QoS 0/1/2, predefined ids mean the same topic on both
// nodes, and a persistent MQTT-SN session (clean session off) moves from node a to node b with
// the messages queued for it while it was away.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningRedis, startRedis } from '@mqtt-broker/cluster-redis/testing';
import { awaitRoute, notProbe } from './cluster-ops-support.js';
import { closeAllClients, collect, connect, uid } from './helpers/clients.js';
import { readPublish, SnTestClient, T } from './helpers/mqttsn-client.js';
import { freePort, type RunningBroker, startBroker, suiteSkipReason } from './helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'mqttsn-cluster-'));
const predefinedFile = join(dir, 'predefined.txt');
writeFileSync(predefinedFile, '7 fleet/alerts\n');

/** Publishes QoS 0 probes from `pub` until the MQTT-SN subscriber gets one: the cross-node route is in place. */
async function awaitSnRoute(pub: { publishAsync(t: string, p: string): Promise<unknown> }, sn: SnTestClient, topic: string): Promise<void> {
  for (let k = 0; k < 40; k++) {
    await pub.publishAsync(topic, `probe-${k}`);
    if ((await sn.during(T.PUBLISH, 250)).length > 0) return;
  }
  throw new Error(`no route for ${topic}`);
}

describe('MQTT-SN gateway in a cluster of two nodes', { skip: suiteSkipReason(), timeout: 120_000 }, () => {
  let redis: RunningRedis | undefined;
  const nodes: Array<{ broker: RunningBroker; snPort: number }> = [];
  const sn: SnTestClient[] = [];
  const open = async (node: number): Promise<SnTestClient> => {
    const c = await SnTestClient.open(nodes[node]!.snPort);
    sn.push(c);
    return c;
  };

  before(async () => {
    redis = await startRedis();
    for (const id of ['a', 'b']) {
      const snPort = await freePort();
      const broker = await startBroker({ env: { REDIS_URL: redis.url, NODE_ID: id, MQTTSN_PORT: String(snPort), MQTTSN_PREDEFINED_TOPICS: predefinedFile } });
      nodes.push({ broker, snPort });
    }
  });
  after(async () => {
    for (const c of sn) c.close();
    closeAllClients();
    await Promise.all(nodes.map((n) => n.broker.stop()));
    await redis?.stop();
  });

  for (const qos of [0, 1, 2] as const) {
    it(`QoS ${qos}: MQTT-SN on node a -> MQTT.js on node b, and MQTT.js on node b -> MQTT-SN on node a`, async () => {
      const [a, b] = [nodes[0]!.broker, nodes[1]!.broker];
      const up = uid(`xsn-up${qos}/`);
      const down = uid(`xsn-down${qos}/`);
      const subB = await connect(b.url, { clientId: uid('mb') });
      await subB.client.subscribeAsync(up, { qos: 2 });
      const probeA = await connect(a.url, { clientId: uid('ma') });
      await awaitRoute(probeA.client, subB.client, up);

      const c = await open(0);
      assert.equal(await c.connect(uid('sn')), 0);
      const id = await c.register(up);
      const got = collect(subB.client, 1, 5000, notProbe);
      c.publish(id, `up ${qos}`, { qos });
      if (qos === 1) assert.equal((await c.next(T.PUBACK)).body[4], 0);
      if (qos === 2) {
        const rec = await c.next(T.PUBREC);
        c.send(Buffer.from([4, T.PUBREL, rec.body[0]!, rec.body[1]!]));
        await c.next(T.PUBCOMP);
      }
      const [m] = await got;
      assert.deepEqual([m!.topic, m!.payload.toString(), m!.packet.qos], [up, `up ${qos}`, qos]);

      await c.subscribe(down, qos);
      await awaitSnRoute(subB.client, c, down);
      await subB.client.publishAsync(down, `down ${qos}`, { qos });
      const r = await c.next(T.PUBLISH);
      assert.deepEqual([readPublish(r).data.toString(), readPublish(r).qos], [`down ${qos}`, qos]);
      await c.ack(r);
      await Promise.all([subB.client.endAsync(), probeA.client.endAsync()]);
    });
  }

  it('a predefined topic id means the same topic on every node', async () => {
    const a = nodes[0]!.broker;
    const subA = await connect(a.url, { clientId: uid('ma') });
    await subA.client.subscribeAsync('fleet/alerts', { qos: 1 });
    const c = await open(1);
    assert.equal(await c.connect(uid('sn')), 0);
    // the route from b to a appears asynchronously: publish until one arrives
    const got = collect(subA.client, 1, 10_000);
    for (let k = 0; k < 40; k++) {
      c.publish(7, 'alert', { qos: 1, topicIdType: 1 });
      await c.next(T.PUBACK);
      const settled = await Promise.race([got.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 250))]);
      if (settled) break;
    }
    const [m] = await got;
    assert.deepEqual([m!.topic, m!.payload.toString()], ['fleet/alerts', 'alert']);
    await subA.client.endAsync();
  });

  it('a persistent session (clean session off) moves from node a to node b with what was queued meanwhile', async () => {
    const [, b] = [nodes[0]!.broker, nodes[1]!.broker];
    const clientId = uid('sn-mover');
    const topic = uid('move/');
    const first = await open(0);
    assert.equal(await first.connect(clientId, { clean: false }), 0);
    assert.equal((await first.subscribe(topic, 1)).returnCode, 0);
    const pubB = await connect(b.url, { clientId: uid('mb') });
    await awaitSnRoute(pubB.client, first, topic);
    first.disconnect();
    await first.next(T.DISCONNECT);
    for (const n of ['one', 'two', 'three']) await pubB.client.publishAsync(topic, n, { qos: 1 });

    const moved = await open(1);
    assert.equal(await moved.connect(clientId, { clean: false }), 0);
    const [topicId, name] = await moved.acceptRegister(10_000); // node b has no topic ids of the old connection
    assert.equal(name, topic);
    const got: string[] = [];
    while (got.length < 3) {
      const r = await moved.next(T.PUBLISH, 10_000);
      const p = readPublish(r);
      assert.equal(p.topicId, topicId);
      if (!p.data.toString().startsWith('probe-')) got.push(p.data.toString());
      await moved.ack(r);
    }
    assert.deepEqual(got, ['one', 'two', 'three']);
    await pubB.client.publishAsync(topic, 'after the move', { qos: 1 });
    const r = await moved.next(T.PUBLISH);
    assert.equal(readPublish(r).data.toString(), 'after the move', 'the subscription moved with the session');
    await moved.ack(r);
    await pubB.client.endAsync();
  });
});
