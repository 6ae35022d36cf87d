/**
 * Issue 4, behaviour 9: Redis restarted under load (SIGKILL redis-server, start a fresh, empty one
 * on the same port) while a QoS 1 publisher on A feeds a local subscriber on A and a persistent
 * subscriber on B. Checked: the nodes keep serving local traffic during the outage, /readyz turns
 * 503 then 200, routes (re-written by every node from its reference counts) and client
 * registrations (re-written from memory, so an offline session held on A is taken over, not
 * lost) are restored, and every QoS 1 message whose PUBACK the publisher got reached the local
 * subscriber. Cross-node, PUBACKs wait for the durable append to B's inbox (core
 * cluster/durable-ack.ts): no successful PUBACK while Redis is down, and the only acknowledged
 * messages B may miss are those Redis itself lost: appended and not yet read when it was killed,
 * then wiped by the empty restart (acknowledged at most ~1 s before the kill).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Keys } from '@mqtt-broker/cluster-redis';
import { type RunningRedis, redisCli, startRedis } from '@mqtt-broker/cluster-redis/testing';
import type { MqttClient } from 'mqtt';
import { awaitRoute, connectAndCollect, notProbe, readyStatus, waitUntil } from './cluster-ops-support.js';
import { closeAllClients, connect, uid } from './helpers/clients.js';
import { type RunningBroker, startBroker, suiteSkipReason } from './helpers/processes.js';

const skip = suiteSkipReason();

function seqsOf(client: MqttClient, topic: string): Set<number> {
  const seen = new Set<number>();
  client.on('message', (t, payload) => {
    if (t === topic && notProbe({ payload })) seen.add(Number(payload.toString()));
  });
  return seen;
}

describe('behaviour 9: Redis restarted under load', { skip, timeout: 60_000 }, () => {
  let redis: RunningRedis;
  const nodes: RunningBroker[] = [];
  let a: RunningBroker;
  let b: RunningBroker;
  let c: RunningBroker;
  const base = uid('r9');
  const flow = `${base}/flow`;
  const parked = uid('r9p');
  const parkedOpts = { protocolVersion: 5 as const, clientId: parked, clean: false, properties: { sessionExpiryInterval: 300 } };
  const acked = new Set<number>();
  const ackedAt = new Map<number, number>();
  let killedAt = 0;
  let restartedAt = 0;
  let localSeen: Set<number>;
  let remoteSeen: Set<number>;
  let stopLoad: () => Promise<void> = async () => {};
  const outage = { downMs: 0, upMs: 0, localDuringOutage: 0, ackedDuringOutage: 0 };

  before(async () => {
    redis = await startRedis();
    for (const id of ['a', 'b', 'c']) nodes.push(await startBroker({ env: { REDIS_URL: redis.url, NODE_ID: id, LOG_LEVEL: 'debug' } }));
    [a, b, c] = nodes;
  });

  after(async () => {
    await stopLoad();
    closeAllClients();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  });

  it('keeps local traffic flowing, /readyz goes 503 then 200, routes and registrations come back', async () => {
    // a persistent session parked offline on A (held in A's memory, registered to A)
    const p = (await connect(a.url, parkedOpts)).client;
    await p.subscribeAsync(`${parked}/q`, { qos: 1 });
    await p.endAsync();
    const local = (await connect(a.url, { protocolVersion: 5 })).client;
    await local.subscribeAsync(flow, { qos: 1 });
    localSeen = seqsOf(local, flow);
    const remote = (await connect(b.url, { protocolVersion: 5, clientId: uid('r9b'), clean: false, properties: { sessionExpiryInterval: 300 } })).client;
    await remote.subscribeAsync(flow, { qos: 1 });
    remoteSeen = seqsOf(remote, flow);

    // load: QoS 1 on A, one message every 2 ms, each PUBACK recorded
    const pub = (await connect(a.url, { protocolVersion: 5 })).client;
    await awaitRoute(pub, remote, flow); // A routes the flow to B before the load starts
    let running = true;
    let seq = 0;
    const loop = (async () => {
      while (running && seq < 20_000) {
        const n = seq++;
        pub.publishAsync(flow, String(n), { qos: 1 }).then(
          () => {
            acked.add(n);
            ackedAt.set(n, Date.now());
          },
          () => {},
        );
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    stopLoad = async () => {
      running = false;
      await loop;
    };
    await waitUntil(() => remoteSeen.size > 100, 5000, 'cross-node flow before the restart');

    await redis.kill();
    killedAt = Date.now();
    outage.downMs = await waitUntil(async () => (await Promise.all(nodes.map((n) => readyStatus(n.ports.http)))).every((s) => s === 503), 5000, '/readyz 503 on every node');
    const localBefore = localSeen.size;
    const ackedBefore = acked.size;
    await new Promise((r) => setTimeout(r, 1000));
    outage.localDuringOutage = localSeen.size - localBefore;
    outage.ackedDuringOutage = acked.size - ackedBefore;
    assert.ok(outage.localDuringOutage > 50, `local subscriber on A kept receiving while Redis was down (${outage.localDuringOutage} in 1 s)`);
    // a fresh local connection is served too
    const late = (await connect(a.url, { protocolVersion: 5 }, 3000)).client;
    late.end(true);

    restartedAt = Date.now(); // the new redis-server is spawned after this
    await redis.restart(); // empty: no persistence
    outage.upMs = await waitUntil(async () => (await Promise.all(nodes.map((n) => readyStatus(n.ports.http)))).every((s) => s === 200), 15_000, '/readyz 200 on every node');
    console.log(`# redis down ${restartedAt - killedAt} ms; /readyz 503 after ${outage.downMs} ms, 200 again ${outage.upMs} ms after restart; during outage: ${outage.localDuringOutage} local deliveries, ${outage.ackedDuringOutage} PUBACKs`);

    // routes: A's route for the parked session and B's for the flow are back in the table
    const keys = new Keys();
    await waitUntil(
      async () => {
        const fields = (await redisCli(redis.port, 'HKEYS', keys.routes)).split('\n');
        return fields.some((f) => f.startsWith('a') && f.endsWith(`${parked}/q`)) && fields.some((f) => f.startsWith('b') && f.endsWith(flow));
      },
      5000,
      'routes re-written',
    );
    const remoteAfter = remoteSeen.size;
    await waitUntil(() => remoteSeen.size > remoteAfter + 100, 5000, 'cross-node flow after the restart');
    // registration of the parked session (held in memory on A) re-written
    await waitUntil(async () => (await redisCli(redis.port, 'HGET', keys.owner(parked), 'node')).trim() === 'a', 5000, 'registration restored');
  });

  it('an offline session held on A before the restart is taken over by C afterwards, queued messages intact', async () => {
    const pubB = (await connect(b.url, { protocolVersion: 5 })).client;
    for (let i = 0; i < 5; i++) await pubB.publishAsync(`${parked}/q`, `q${i}`, { qos: 1 });
    await new Promise((r) => setTimeout(r, 200));
    const { connack, messages, client } = await connectAndCollect(c.url, parkedOpts, 5);
    assert.equal(connack.sessionPresent, true, 'session present after the Redis restart');
    assert.deepEqual(
      (await messages).map((m) => m.payload),
      ['q0', 'q1', 'q2', 'q3', 'q4'],
    );
    client.end(true);
  });

  it('no false PUBACK for the local subscriber: every acknowledged QoS 1 message reached it', async () => {
    await stopLoad();
    // bounded wait for the last acknowledged messages to arrive; a missing one fails below
    await waitUntil(() => [...acked].every((n) => localSeen.has(n)), 5000, 'every acknowledged message at the local subscriber').catch(() => {});
    const missing = [...acked].filter((n) => !localSeen.has(n));
    assert.ok(acked.size > 200, `load ran (${acked.size} acknowledged)`);
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} acknowledged messages never reached the local subscriber`);
  });

  it('cross-node: no PUBACK while Redis is down; B misses only what Redis itself lost in the kill', async () => {
    const duringOutage = [...ackedAt.values()].filter((t) => t > killedAt + 50 && t < restartedAt);
    assert.deepEqual(duringOutage, [], 'no successful PUBACK while the durable append cannot happen');
    // bounded wait for B to catch up: the last acknowledged messages may still be on their way to
    // B's subscriber (case 3 waited for the local one only); judging at once missed the last 1-3
    // messages, delivered by B a few ms after the check, in ~1 of 10 loaded runs
    const lostInKill = (n: number): boolean => {
      const before = killedAt - (ackedAt.get(n) ?? 0);
      return before >= 0 && before < 1000;
    };
    await waitUntil(() => [...acked].every((n) => remoteSeen.has(n) || lostInKill(n)), 5000, 'every acknowledged message not lost in the kill at B').catch(() => {});
    const missing = [...acked].filter((n) => !remoteSeen.has(n));
    console.log(`# cross-node: ${acked.size} acknowledged, ${missing.length} never reached B (acknowledged ${missing.map((n) => killedAt - (ackedAt.get(n) ?? 0)).join(', ')} ms before the kill)`);
    if (missing.length > 0) {
      // what the nodes said about it (debug: port and inbox errors; warnings: fenced writes, Redis errors)
      for (const [name, node] of [['a', a], ['b', b]] as const) {
        const lines = node.stdout().split('\n').filter((l) => /"level":(20|40|50)/.test(l));
        console.log(`# ${name} debug/warnings/errors: ${lines.slice(0, 40).join(' | ')}`);
      }
    }
    for (const n of missing) assert.ok(lostInKill(n), `message ${n}, acknowledged ${killedAt - (ackedAt.get(n) ?? 0)} ms before the kill, missing on B`);
  });
});
