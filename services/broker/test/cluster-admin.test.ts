/**
 * The admin API in a cluster (docs/cluster.md, "Admin API in a cluster"): redis + three broker
 * processes, MQTT.js clients on different nodes, and the real built `mqttctl` run against node A
 * only. Everything asked of A is answered for the whole cluster: status lists the three nodes,
 * clients and subscriptions of every node are listed with their node, a kick on A disconnects a
 * client on B, retained messages are read and deleted cluster-wide, and a node that does not
 * answer (SIGSTOP) is reported unreachable instead of failing the call.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '@mqtt-broker/admin-api';
import { type RunningRedis, startRedis } from '@mqtt-broker/cluster-redis/testing';
import { closeAllClients, collect, connect, uid } from './helpers/clients.js';
import { kickConnected, mqttctl, mqttctlJson, mqttctlSkipReason } from './helpers/mqttctl.js';
import { type RunningBroker, startBroker, suiteSkipReason } from './helpers/processes.js';
import { waitUntil } from './cluster-ops-support.js';

const skip = suiteSkipReason() || mqttctlSkipReason();
const FANOUT_TIMEOUT_MS = 1000;

interface ListedClient {
  clientId: string;
  node: string;
  connected: boolean;
  protocolVersion: number;
}

describe('admin API in a cluster: mqttctl against node A answers for A, B and C', { skip, timeout: 90_000 }, () => {
  let redis: RunningRedis;
  const nodes: RunningBroker[] = [];
  let a: RunningBroker;
  let b: RunningBroker;
  let c: RunningBroker;
  let server: string;

  before(async () => {
    redis = await startRedis();
    // a long heartbeat TTL: a node stopped with SIGSTOP stays a live member (its key does not expire) but cannot answer
    const env = { REDIS_URL: redis.url, CLUSTER_HEARTBEAT_TTL_MS: '15000', ADMIN_FANOUT_TIMEOUT_MS: String(FANOUT_TIMEOUT_MS) };
    for (const id of ['a', 'b', 'c']) nodes.push(await startBroker({ env: { ...env, NODE_ID: id } }));
    [a, b, c] = nodes;
    server = `127.0.0.1:${a.ports.grpc}`;
  });

  after(async () => {
    closeAllClients();
    for (const n of nodes) if (!n.exited) process.kill(n.pid, 'SIGCONT');
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  });

  it('status lists the three nodes with their own counts', async (t) => {
    const id = uid('st');
    await connect(b.url, { clientId: `${id}-b` });
    await connect(c.url, { clientId: `${id}-c1` });
    await connect(c.url, { clientId: `${id}-c2` });
    const status = await mqttctlJson<{ nodes: Array<{ id: string; version: string; connections: number; unreachable: boolean }> }>(server, 'status');
    assert.deepEqual(
      status.nodes.map((n) => n.id),
      ['a', 'b', 'c'],
    );
    assert.ok(status.nodes.every((n) => !n.unreachable && n.version !== ''));
    const conns = Object.fromEntries(status.nodes.map((n) => [n.id, n.connections]));
    assert.ok(conns.b >= 1 && conns.c >= 2, JSON.stringify(conns));
    const human = await mqttctl(server, 'status');
    assert.equal(human.code, 0, human.err);
    assert.equal(human.out.trim().split('\n').length, 4, human.out);
    // the fan-out's own cost, without mqttctl's process start: ClusterStatus and a ListClients page
    const api = new AdminClient(server, { timeoutMs: 10_000 });
    try {
      const times: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        await api.clusterStatus();
        await api.listClients({ pageSize: 100 });
        times.push((performance.now() - t0) / 2);
      }
      times.sort((x, y) => x - y);
      t.diagnostic(`admin call over 3 nodes: median ${times[10].toFixed(2)} ms, max ${times[19].toFixed(2)} ms`);
    } finally {
      api.close();
    }
  });

  it('clients lists every node clients with their node, pages across nodes, and client <id> finds one on another node', async () => {
    const id = uid('cl');
    await connect(a.url, { clientId: `${id}-1`, protocolVersion: 5 });
    const onB = (await connect(b.url, { clientId: `${id}-2`, protocolVersion: 4 })).client;
    await onB.subscribeAsync(`${id}/b/#`, { qos: 1 });
    const onC = (await connect(c.url, { clientId: `${id}-3`, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 600 } })).client;
    await onC.subscribeAsync(`${id}/c/+`, { qos: 2 });
    await onC.endAsync(); // offline persistent session, held by C

    const listed = await mqttctlJson<{ clients: ListedClient[]; more: boolean }>(server, 'clients', '--prefix', id);
    assert.deepEqual(
      listed.clients.map((x) => [x.clientId, x.node, x.connected, x.protocolVersion]),
      [
        [`${id}-1`, 'a', true, 5],
        [`${id}-2`, 'b', true, 4],
        [`${id}-3`, 'c', false, 5],
      ],
    );
    const two = await mqttctlJson<{ clients: ListedClient[]; more: boolean }>(server, 'clients', '--prefix', id, '--limit', '2');
    assert.deepEqual([two.clients.length, two.more], [2, true]);

    // page size 1: three pages, one client of each node, in order, and an empty token at the end
    const api = new AdminClient(server, { timeoutMs: 10_000 });
    try {
      const seen: string[] = [];
      let token = '';
      for (let i = 0; i < 5; i++) {
        const page = await api.listClients({ clientIdPrefix: id, pageSize: 1, pageToken: token });
        seen.push(...page.clients.map((x) => `${x.clientId}@${x.node}`));
        token = page.nextPageToken;
        if (token === '') break;
      }
      assert.deepEqual(seen, [`${id}-1@a`, `${id}-2@b`, `${id}-3@c`]);
    } finally {
      api.close();
    }

    const detail = await mqttctlJson<{ client: ListedClient; subscriptions: Array<{ topicFilter: string; node: string; qos: number }> }>(server, 'client', `${id}-3`);
    assert.equal(detail.client.node, 'c');
    assert.equal(detail.client.connected, false);
    assert.deepEqual(
      detail.subscriptions.map((s) => [s.topicFilter, s.node, s.qos]),
      [[`${id}/c/+`, 'c', 2]],
    );
    const missing = await mqttctl(server, 'client', `${id}-nobody`);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /NOT_FOUND/);
  });

  it('kick on A of a client connected to B: the MQTT.js 5.0 client gets DISCONNECT 0x98', async () => {
    const id = uid('kick');
    const r = await kickConnected(server, b.url, id);
    assert.equal(r.out.trim(), `disconnected ${id} on b`);
  });

  it('kick --discard-session of an offline session held by C: the client comes back without it', async () => {
    const id = uid('disc');
    const opts = { clientId: id, protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 600 } };
    const first = await connect(c.url, opts);
    await first.client.subscribeAsync(`${id}/t`, { qos: 1 });
    await first.client.endAsync();
    const r = await mqttctl(server, 'kick', id, '--discard-session');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), `${id} was not connected (node c); session discarded`);
    const back = await connect(c.url, opts);
    assert.equal(back.connack.sessionPresent, false);
    back.client.end(true);
  });

  it('subs lists the subscriptions of all nodes; publish on A reaches a subscriber on C', async () => {
    const id = uid('subs');
    const sa = (await connect(a.url, { clientId: `${id}-a` })).client;
    const sb = (await connect(b.url, { clientId: `${id}-b`, protocolVersion: 5 })).client;
    const sc = (await connect(c.url, { clientId: `${id}-c`, protocolVersion: 5 })).client;
    await sa.subscribeAsync(`${id}/x`, { qos: 0 });
    await sb.subscribeAsync(`$share/g/${id}/y`, { qos: 1 });
    await sc.subscribeAsync(`${id}/z/#`, { qos: 2 });
    const subs = await mqttctlJson<{ subscriptions: Array<{ topicFilter: string; clientId: string; node: string; qos: number; shareGroup: string }> }>(server, 'subs', '--prefix', id);
    assert.deepEqual(
      subs.subscriptions.map((s) => [s.topicFilter, s.clientId, s.node, s.qos]),
      [
        [`${id}/x`, `${id}-a`, 'a', 0],
        [`${id}/z/#`, `${id}-c`, 'c', 2],
      ],
    );
    const shared = await mqttctlJson<{ subscriptions: Array<{ topicFilter: string; node: string; shareGroup: string }> }>(server, 'subs', '--prefix', '$share/g/');
    assert.deepEqual(
      shared.subscriptions.filter((s) => s.topicFilter.includes(id)).map((s) => [s.topicFilter, s.node, s.shareGroup]),
      [[`$share/g/${id}/y`, 'b', 'g']],
    );
    const byClient = await mqttctlJson<{ subscriptions: Array<{ node: string }> }>(server, 'subs', '--client', `${id}-c`);
    assert.deepEqual(
      byClient.subscriptions.map((s) => s.node),
      ['c'],
    );

    const got = collect(sc, 1);
    await waitUntil(async () => {
      const r = await mqttctl(server, 'publish', `${id}/z/1`, 'from ops', '--qos', '1');
      return r.code === 0 && /: [1-9]\d* matching/.test(r.out);
    }, 10_000, 'publish on A matches the route of the subscriber on C');
    const [m] = await got;
    assert.equal(m.payload.toString(), 'from ops');
  });

  it('retained get/delete on A: set on B, read and deleted cluster-wide', async () => {
    const id = uid('ret');
    const pub = (await connect(b.url, { clientId: `${id}-p` })).client;
    await pub.publishAsync(`${id}/a`, 'alpha', { qos: 1, retain: true });
    await pub.publishAsync(`${id}/b`, 'beta', { qos: 1, retain: true });
    let all: { messages: Array<{ topic: string; payload: { utf8: string } }> } = { messages: [] };
    await waitUntil(async () => {
      all = await mqttctlJson(server, 'retained', 'get', `${id}/+`);
      return all.messages.length === 2;
    }, 5000, 'retained messages set on B visible on A');
    assert.deepEqual(
      all.messages.map((x) => [x.topic, x.payload.utf8]),
      [
        [`${id}/a`, 'alpha'],
        [`${id}/b`, 'beta'],
      ],
    );
    const del = await mqttctl(server, 'retained', 'delete', `${id}/a`);
    assert.equal(del.out.trim(), `deleted the retained message on ${id}/a`);
    // gone on C too: asked through C's own admin API, and a new subscriber on C gets only b
    await waitUntil(async () => (await mqttctl(`127.0.0.1:${c.ports.grpc}`, 'retained', 'get', `${id}/a`)).code === 1, 5000, 'the delete reaches C');
    const sub = (await connect(c.url, { clientId: `${id}-s` })).client;
    const got = collect(sub, 1);
    await sub.subscribeAsync(`${id}/+`);
    assert.deepEqual(
      (await got).map((x) => x.topic),
      [`${id}/b`],
    );
  });

  it('a node that does not answer (SIGSTOP) is reported unreachable; listings still answer for the others', async (t) => {
    const id = uid('stop');
    await connect(b.url, { clientId: `${id}-b` });
    await connect(c.url, { clientId: `${id}-c` });
    process.kill(c.pid, 'SIGSTOP');
    try {
      const r = await mqttctl(server, '--json', 'status');
      assert.equal(r.code, 0, r.err);
      const status = JSON.parse(r.out) as { nodes: Array<{ id: string; unreachable: boolean; version: string }> };
      assert.deepEqual(
        status.nodes.map((n) => [n.id, n.unreachable]),
        [
          ['a', false],
          ['b', false],
          ['c', true],
        ],
      );
      assert.ok(r.ms < FANOUT_TIMEOUT_MS + 3000, `status took ${r.ms} ms`);
      t.diagnostic(`mqttctl status with C stopped: ${r.ms} ms (fan-out timeout ${FANOUT_TIMEOUT_MS} ms)`);
      const human = await mqttctl(server, 'status');
      assert.match(human.out, /^c\s+unreachable\s+-/m);
      const listed = await mqttctlJson<{ clients: ListedClient[] }>(server, 'clients', '--prefix', id);
      assert.deepEqual(
        listed.clients.map((x) => x.node),
        ['b'],
      );
    } finally {
      process.kill(c.pid, 'SIGCONT');
    }
    await waitUntil(async () => (await mqttctlJson<{ clients: ListedClient[] }>(server, 'clients', '--prefix', id)).clients.length === 2, 10_000, 'C answers again');
  });

  it('a persistent session whose node left (drained) is adopted by a survivor and can be discarded', async () => {
    const id = uid('left');
    const opts = { clientId: id, protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 600 } };
    const first = await connect(c.url, opts);
    await first.client.subscribeAsync(`${id}/t`, { qos: 1 });
    first.client.end(true);
    await c.stop(); // SIGTERM: drain, save sessions, leave the cluster; a survivor adopts the session
    type Detail = { client: ListedClient; subscriptions: Array<{ topicFilter: string }> };
    let detail: Detail | undefined;
    await waitUntil(
      async () => {
        detail = await mqttctlJson<Detail>(server, 'client', id);
        return detail.client.node !== '';
      },
      5000,
      'session of the drained node adopted by a survivor',
    );
    assert.ok(detail !== undefined && ['a', 'b'].includes(detail.client.node), `held by ${detail?.client.node}`);
    assert.equal(detail.client.connected, false);
    assert.deepEqual(
      detail.subscriptions.map((s) => s.topicFilter),
      [`${id}/t`],
    );
    const status = await mqttctlJson<{ nodes: Array<{ id: string }> }>(server, 'status');
    assert.deepEqual(
      status.nodes.map((n) => n.id),
      ['a', 'b'],
    );
    const r = await mqttctl(server, 'kick', id, '--discard-session');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /session discarded/);
    const back = await connect(a.url, opts);
    assert.equal(back.connack.sessionPresent, false);
    back.client.end(true);
  });
});
