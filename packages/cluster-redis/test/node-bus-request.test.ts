/**
 * The pieces behind the cluster admin API and the cluster metrics, on a real redis-server:
 * node bus request/reply (and its timeout), the cluster admin fan-out over per-node facades
 * (merge, paging, errors, an unreachable member), command timing through the `timer` option,
 * and the inbox lag read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdminError, type AdminClientInfo, type AdminFacade, type AdminNodeStatus, adminKeys, encodePageToken, pageSizeOf, decodePageToken } from '@mqtt-broker/core';
import { ClusterAdminFacade, createRedisPorts, inboxLag, type RedisOp, type RedisPorts } from '../src/index.js';
import { redisCli } from '../src/testing/index.js';
import { useRedisServer } from './redis-suite.js';

const redis = useRedisServer();
let n = 0;
const open: RedisPorts[] = [];
redis.beforeStop(() => Promise.all(open.map((p) => p.close())));

function ports(nodeId: string, prefix: string, timer?: (op: RedisOp, s: number) => void): RedisPorts {
  const p = createRedisPorts({ url: redis.url, nodeId, prefix, ...(timer !== undefined ? { timer } : {}) });
  open.push(p);
  return p;
}

function client(clientId: string, node: string, connected = true): AdminClientInfo {
  return {
    clientId,
    node,
    connected,
    username: undefined,
    address: connected ? '127.0.0.1:1' : undefined,
    transport: connected ? 'tcp' : undefined,
    protocolVersion: 5,
    connectedSince: connected ? 1 : undefined,
    disconnectedAt: connected ? undefined : 2,
    cleanStart: true,
    sessionExpirySeconds: 0,
    keepAliveSeconds: connected ? 60 : undefined,
    subscriptions: 0,
    inflight: 0,
    queued: 0,
  };
}

/** A node's local facade holding `clients` (paging as core's: sorted keys after the token). */
function fakeFacade(node: string, clients: AdminClientInfo[]): AdminFacade {
  const status: AdminNodeStatus = { nodeId: node, version: '1', startedAt: 0, uptimeSeconds: 1, connections: clients.filter((c) => c.connected).length, sessions: clients.length, subscriptions: 0, sharedSubscriptions: 0, retained: 0, inflight: 0, queued: 0 };
  const notHere = (id: string): never => {
    throw new AdminError('not_found', `no ${id} on ${node}`);
  };
  return {
    clusterStatus: async () => ({ nodes: [status] }),
    async listClients(q) {
      const size = pageSizeOf(q);
      const after = decodePageToken(q?.pageToken);
      const keyed = clients.filter((c) => c.clientId.startsWith(q?.prefix ?? '')).filter((c) => after === undefined || adminKeys.client(c) > after);
      keyed.sort((x, y) => (adminKeys.client(x) < adminKeys.client(y) ? -1 : 1));
      const page = keyed.slice(0, size);
      return { items: page, nextPageToken: keyed.length > size ? encodePageToken(adminKeys.client(page[page.length - 1])) : '' };
    },
    getClient: async (id) => {
      const c = clients.find((x) => x.clientId === id) ?? notHere(id);
      return { client: c, subscriptions: [] };
    },
    kickClient: async (id) => {
      const c = clients.find((x) => x.clientId === id) ?? notHere(id);
      return { node, disconnected: c.connected, sessionDiscarded: false };
    },
    listSubscriptions: async () => ({ items: [], nextPageToken: '' }),
    publish: async () => ({ matched: 0 }),
    getRetained: async () => ({ items: [], nextPageToken: '' }),
    deleteRetained: async () => ({ deleted: false }),
  };
}

describe('RedisNodeBus request/reply', () => {
  it('a request reaches the node that serves requests and its reply comes back; an unserved node times out', async () => {
    const prefix = `rq${++n}`;
    const a = ports('a', prefix);
    const b = ports('b', prefix);
    await b.bus.serveRequests(async (body, from) => Buffer.from(`${from}:${body.toString().toUpperCase()}`));
    const reply = await a.bus.request('b', Buffer.from('hello'), 2000);
    assert.equal(reply?.toString(), 'a:HELLO');
    const t0 = Date.now();
    assert.equal(await a.bus.request('nobody', Buffer.from('x'), 150), undefined);
    assert.ok(Date.now() - t0 >= 140);
  });
});

describe('ClusterAdminFacade', () => {
  it('merges every live node: status sorted by node, one client listing paged across nodes, get/kick where the client is', async () => {
    const prefix = `fa${++n}`;
    const pa = ports('a', prefix);
    const pb = ports('b', prefix);
    const pc = ports('c', prefix);
    await Promise.all([pa.start(), pb.start(), pc.start()]);
    const facades = [
      new ClusterAdminFacade({ nodeId: 'a', local: fakeFacade('a', [client('x1', 'a'), client('x4', 'a')]), bus: pa.bus, membership: pa.membership, sessions: pa.sessions }),
      new ClusterAdminFacade({ nodeId: 'b', local: fakeFacade('b', [client('x2', 'b'), client('x5', 'b', false)]), bus: pb.bus, membership: pb.membership }),
      new ClusterAdminFacade({ nodeId: 'c', local: fakeFacade('c', [client('x3', 'c')]), bus: pc.bus, membership: pc.membership }),
    ];
    await Promise.all(facades.map((f) => f.serve()));
    const [fa] = facades;

    const status = await fa.clusterStatus();
    assert.deepEqual(
      status.nodes.map((s) => [s.nodeId, s.sessions, s.unreachable === true]),
      [
        ['a', 2, false],
        ['b', 2, false],
        ['c', 1, false],
      ],
    );

    const seen: string[] = [];
    let token = '';
    for (let i = 0; i < 10; i++) {
      const page = await fa.listClients({ prefix: 'x', pageSize: 2, pageToken: token });
      seen.push(...page.items.map((c) => `${c.clientId}@${c.node}`));
      token = page.nextPageToken;
      if (token === '') break;
    }
    assert.deepEqual(seen, ['x1@a', 'x2@b', 'x3@c', 'x4@a', 'x5@b']);

    assert.equal((await fa.getClient('x3')).client.node, 'c');
    assert.deepEqual(await fa.kickClient('x2'), { node: 'b', disconnected: true, sessionDiscarded: false });
    await assert.rejects(fa.getClient('nope'), (e: unknown) => e instanceof AdminError && e.code === 'not_found');
    await assert.rejects(fa.listClients({ pageToken: '!!' }), (e: unknown) => e instanceof AdminError && e.code === 'invalid_argument');

    // C stops answering but its heartbeat is current: reported unreachable, listings answer without it
    facades[2].stop();
    const partial = await new ClusterAdminFacade({ nodeId: 'a', local: fakeFacade('a', [client('x1', 'a')]), bus: pa.bus, membership: pa.membership, timeoutMs: 200 }).clusterStatus();
    assert.deepEqual(
      partial.nodes.map((s) => [s.nodeId, s.unreachable === true]),
      [
        ['a', false],
        ['b', false],
        ['c', true],
      ],
    );
  });
});

describe('timing and inbox lag', () => {
  it('the timer option sees route, retained, session, registry, bus and heartbeat commands', async () => {
    const seen = new Map<RedisOp, number>();
    const p = ports('t', `tm${++n}`, (op, s) => {
      assert.ok(s >= 0 && s < 5);
      seen.set(op, (seen.get(op) ?? 0) + 1);
    });
    await p.start();
    await p.routes.addRoute('a/b', 't');
    await p.retained.set('r/1', { topic: 'r/1', payload: Buffer.from('x'), qos: 0, retain: true, expiresAt: 0 });
    await p.sessions.save({ clientId: 's1', protocolVersion: 5, expiryIntervalSeconds: 60, disconnectedAt: undefined, subscriptions: [], inflight: [], queued: [], inboundQos2: [], nextPacketId: 1 });
    await p.registry.register('s1', 't');
    assert.ok((await p.bus.request('t', Buffer.from('x'), 100)) === undefined);
    for (const op of ['route', 'retained', 'session', 'registry', 'bus', 'heartbeat'] as const) assert.ok((seen.get(op) ?? 0) > 0, `${op} timed`);
  });

  it('inboxLag is the number of entries left in a node inbox', async () => {
    const p = ports('l', `lg${++n}`);
    assert.equal(await inboxLag(p.client, p.keys, 'l'), 0);
    for (let i = 0; i < 3; i++) await redisCli(redis.port, 'XADD', p.keys.inbox('l'), '*', 'b', 'x');
    assert.equal(await inboxLag(p.client, p.keys, 'l'), 3);
  });
});
