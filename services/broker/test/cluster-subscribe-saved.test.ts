/**
 * A persistent session's SUBACK (and UNSUBACK) goes out only once the session with the change is
 * saved in Redis. Before, the SUBACK went out first and the save followed a Redis round trip
 * later: a node killed in between lost the subscription, and the client, told it was subscribed
 * and later resumed with session present = 1, never subscribed again and got nothing. The
 * window is widened here by pausing Redis writes (CLIENT PAUSE WRITE, as a busy or failing-over
 * Redis does) around the SUBSCRIBE; the node is killed the moment the client has its SUBACK.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RedisClient } from '@mqtt-broker/cluster-redis';
import { useNodePairs, waitUntil } from './cluster-ops-support.js';
import { collect, collectFor, connect, uid } from './helpers/clients.js';
import { suiteSkipReason } from './helpers/processes.js';

const TTL_MS = 1000;
const PAUSE_MS = 800;

describe('cluster: a persistent session is saved before its SUBACK / UNSUBACK', { skip: suiteSkipReason(), timeout: 120_000 }, () => {
  const nodePair = useNodePairs();

  /** Connects `clientId` persistently to `url` and waits until its session is in Redis. */
  async function persistentOn(url: string, clientId: string, protocolVersion: 4 | 5, r: RedisClient) {
    const options = { clientId, clean: false, protocolVersion, properties: protocolVersion === 5 ? { sessionExpiryInterval: 600 } : undefined };
    const c = await connect(url, options);
    await waitUntil(async () => (await r.exists(`mqtt:{c:${clientId}}:session`)) === 1, 5000, 'the session saved at CONNECT');
    return { c, options };
  }

  for (const protocolVersion of [4, 5] as const) {
    it(`v${protocolVersion === 4 ? '3.1.1' : '5'}: a node killed right after the SUBACK keeps the subscription`, async () => {
      const tag = uid('subsave');
      const { a, b, client: r } = await nodePair(tag, TTL_MS);
      const clientId = `${tag}-sub`;
      const { c, options } = await persistentOn(a.url, clientId, protocolVersion, r);
      await r.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
      const sentAt = Date.now();
      await c.client.subscribeAsync(`${tag}/#`, { qos: 1 });
      const subackMs = Date.now() - sentAt;
      a.kill(); // SIGKILL the moment the client holds its SUBACK
      c.client.end(true);
      console.log(`# SUBACK after ${subackMs} ms with Redis writes paused for ${PAUSE_MS} ms`);

      const back = await connect(b.url, options, 20_000);
      assert.equal(back.connack.sessionPresent, true, 'B resumed the session');
      const arrived = collect(back.client, 1, 10_000);
      const pub = (await connect(b.url, { protocolVersion: 5 })).client;
      await pub.publishAsync(`${tag}/x`, 'after the kill', { qos: 1 });
      const [m] = await arrived;
      assert.equal(m?.payload.toString(), 'after the kill', 'the subscription acknowledged before the kill delivers on B');
    });
  }

  it('a node killed right after the UNSUBACK does not bring the subscription back', async () => {
    const tag = uid('unsubsave');
    const { a, b, client: r } = await nodePair(tag, TTL_MS);
    const clientId = `${tag}-sub`;
    const { c, options } = await persistentOn(a.url, clientId, 5, r);
    await c.client.subscribeAsync(`${tag}/#`, { qos: 1 });
    await r.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
    await c.client.unsubscribeAsync(`${tag}/#`);
    a.kill();
    c.client.end(true);

    const back = await connect(b.url, options, 20_000);
    assert.equal(back.connack.sessionPresent, true, 'B resumed the session');
    const pub = (await connect(b.url, { protocolVersion: 5 })).client;
    const received = collectFor(back.client, 1500);
    await pub.publishAsync(`${tag}/x`, 'unsubscribed', { qos: 1 });
    assert.deepEqual(
      (await received).map((m) => m.payload.toString()),
      [],
      'nothing for the filter the client unsubscribed from',
    );
  });
});
