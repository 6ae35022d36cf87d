/**
 * A node dies; a survivor adopts its persistent sessions, drains its inbox and deletes it. A
 * publishing node whose route replica lags (CPU-starved, or paused by its pod's CPU limit) still
 * routes to the dead node and appends to its inbox afterwards: Redis creates the stream again
 * and acknowledges the append, so the publisher gets its PUBACK. Nobody read such an inbox
 * (docs/cluster.md, "Node failure": suspected of the loss seen under a load average of 20+ in
 * issue 8). The survivor now looks at the inbox again after its drain and delivers what it finds
 * to the adopted sessions (or where their clients went), and its last look (three heartbeat
 * TTLs after the drain) seals the inbox: a node lagging even longer has its appends refused (its
 * publisher is not acknowledged), none stored where nobody reads; the dead node back under its
 * id lifts the seal. The lagging node is played by this process: a RedisDurable with another
 * node id appends as any node does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DurableAppendError } from '@mqtt-broker/core';
import { Keys, RedisDurable } from '@mqtt-broker/cluster-redis';
import { metricsText, metricValue, useNodePairs, waitUntil } from './cluster-ops-support.js';
import mqtt from 'mqtt';
import { collect, connect, type Received, uid } from './helpers/clients.js';
import { startBroker, suiteSkipReason } from './helpers/processes.js';

const TTL_MS = 1000;
const N = 20;

describe('cluster node failure: appends to a dead node inbox after its drain', { skip: suiteSkipReason(), timeout: 120_000 }, () => {
  const nodePair = useNodePairs();

  for (const when of ['offline', 'reconnected'] as const) {
    it(`reach the adopted session (client ${when === 'offline' ? 'still offline' : 'back on the survivor'} when they are appended)`, async () => {
      const tag = uid('orph');
      const { a, b, client } = await nodePair(tag, TTL_MS);
      const clientId = `${tag}-sub`;
      const options = { clientId, clean: false } as const;
      const first = await connect(a.url, options);
      await first.client.subscribeAsync('orph/#', { qos: 1 });
      a.kill();
      const inbox = new Keys().inbox(`${tag}-a`);
      // adopted by B, its inbox drained and deleted
      await waitUntil(
        async () => metricValue(await metricsText(b.ports.http), 'mqtt_sessions_adopted_total') >= 1 && (await client.exists(inbox)) === 0,
        15_000,
        'B adopted the session and drained the dead inbox',
      );
      const back = when === 'reconnected' ? await connect(b.url, options) : undefined;
      if (back !== undefined) assert.equal(back.connack.sessionPresent, true);
      const arrived = back === undefined ? undefined : collect(back.client, N, 20_000);
      // the lagging node: its replica still shows A's route for orph/#
      const lagger = new RedisDurable(client, new Keys(), { nodeId: `${tag}-lagger` });
      const appends: Array<Promise<void>> = [];
      for (let i = 0; i < N; i++) {
        appends.push(lagger.append(`${tag}-a`, { message: { topic: 'orph/x', payload: Buffer.from(String(i)), qos: 1, retain: false, expiresAt: 0 }, id: `${tag}-lagger:1.${i}` }));
      }
      await Promise.all(appends); // acknowledged: the publishers had their PUBACKs
      await waitUntil(async () => metricValue(await metricsText(b.ports.http), 'mqtt_cluster_orphaned_messages_total') >= N, 20_000, 'B found the late appends');
      let got: string[];
      if (back === undefined) {
        // the queued messages follow the CONNACK at once: listen before connecting
        const late = mqtt.connect(b.url, { ...options, reconnectPeriod: 0 });
        const received: string[] = [];
        late.on('message', (_t, payload) => received.push(payload.toString()));
        await waitUntil(async () => received.length >= N, 20_000, 'the queued messages delivered on reconnect');
        late.end(true);
        got = received;
      } else got = (await (arrived as Promise<Received[]>)).map((m) => m.payload.toString());
      assert.deepEqual(
        got,
        Array.from({ length: N }, (_, i) => String(i)),
        'every acknowledged late append delivered, in order',
      );
      assert.equal(metricValue(await metricsText(b.ports.http), 'mqtt_cluster_orphaned_messages_total'), N);
      assert.equal(await client.exists(inbox), 0, 'the inbox is gone again');
      assert.match(b.stdout(), /orphaned_inbox_drained/);
      back?.client.end(true);
      await Promise.all([a.stop(), b.stop()]);
    });
  }

  it('past the last look the inbox is sealed: a lagging node\'s appends are refused, none stored; the node back under its id reads its inbox again', async () => {
    const tag = uid('seal');
    const { a, b, client, redis } = await nodePair(tag, TTL_MS);
    const first = await connect(a.url, { clientId: `${tag}-sub`, clean: false });
    await first.client.subscribeAsync('seal/#', { qos: 1 });
    a.kill();
    const keys = new Keys();
    const inbox = keys.inbox(`${tag}-a`);
    const seal = keys.inboxSeal(`${tag}-a`);
    await waitUntil(async () => metricValue(await metricsText(b.ports.http), 'mqtt_sessions_adopted_total') >= 1 && (await client.exists(inbox)) === 0, 15_000, 'B drained the dead inbox');
    assert.equal(await client.exists(seal), 0, 'not sealed before the last look');
    await waitUntil(async () => (await client.exists(seal)) === 1, 3 * TTL_MS + 10_000, 'the last look sealed the inbox');
    const lagger = new RedisDurable(client, keys, { nodeId: `${tag}-lagger` });
    const append = (i: number) => lagger.append(`${tag}-a`, { message: { topic: 'seal/x', payload: Buffer.from(String(i)), qos: 1, retain: false, expiresAt: 0 }, id: `${tag}-lagger:1.${i}` });
    const outcomes = await Promise.allSettled(Array.from({ length: N }, (_, i) => append(i)));
    for (const o of outcomes) {
      assert.equal(o.status, 'rejected', 'no append to a sealed inbox is acknowledged');
      assert.ok(o.status === 'rejected' && o.reason instanceof DurableAppendError && o.reason.reasonCode === 0x80, String(o.status === 'rejected' ? o.reason : ''));
    }
    assert.equal(lagger.stats.messagesSealedOut, N);
    assert.equal(await client.exists(inbox), 0, 'nothing stored where nobody reads');
    // the dead node back under the same id (a StatefulSet pod): its inbox is read and open again
    const again = await startBroker({ env: { REDIS_URL: redis.url, NODE_ID: `${tag}-a`, CLUSTER_HEARTBEAT_TTL_MS: String(TTL_MS) } });
    try {
      assert.equal(await client.exists(seal), 0, 'the seal is lifted');
      await append(N);
      assert.equal(await client.exists(inbox), 1);
    } finally {
      await Promise.all([again.stop(), b.stop()]);
    }
  });
});
