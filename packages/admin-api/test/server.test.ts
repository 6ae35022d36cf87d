import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { AdminError, type AdminFacade } from '@mqtt-broker/core';
import { PacketType } from '@mqtt-broker/mqtt-codec';
import { AdminApiError, AdminClient, loadAdminService, startAdminServer } from '../src/index.js';
import { type Fixture, mqttClient, publishes, startFixture } from './support.js';

function grpcCode(code: status): (e: unknown) => boolean {
  return (e: unknown) => e instanceof AdminApiError && e.code === code;
}

describe('admin.proto', () => {
  it('loads from the package (dist) with the eight Admin RPCs', () => {
    const service = loadAdminService();
    assert.deepEqual(Object.keys(service).sort(), [
      'ClusterStatus',
      'DeleteRetained',
      'GetClient',
      'GetRetained',
      'KickClient',
      'ListClients',
      'ListSubscriptions',
      'Publish',
    ]);
    assert.equal(service.KickClient.path, '/mqttbroker.admin.v1.Admin/KickClient');
  });
});

describe('admin gRPC server over a real broker', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(async () => {
    await f.close();
  });

  it('ClusterStatus names this node with its counts', async () => {
    await mqttClient(f.broker, 'status-a', 4, [['s/#', 0]]);
    const r = await f.client.clusterStatus();
    assert.equal(r.nodes.length, 1);
    const n = r.nodes[0];
    assert.equal(n.id, 'node-1');
    assert.equal(n.version, '9.9.9');
    assert.ok(n.connections >= 1);
    assert.ok(n.subscriptions >= 1);
    assert.ok(n.startedAtMs > Date.now() - 60_000 && n.startedAtMs <= Date.now());
  });

  it('ListClients pages through clients filtered by prefix; GetClient shows one with its subscriptions', async () => {
    for (let i = 0; i < 5; i++) await mqttClient(f.broker, `page-${i}`, 5, [[`page/${i}`, 1]]);
    const first = await f.client.listClients({ clientIdPrefix: 'page-', pageSize: 2 });
    const second = await f.client.listClients({ clientIdPrefix: 'page-', pageSize: 2, pageToken: first.nextPageToken });
    const third = await f.client.listClients({ clientIdPrefix: 'page-', pageSize: 2, pageToken: second.nextPageToken });
    assert.deepEqual([...first.clients, ...second.clients, ...third.clients].map((c) => c.clientId), ['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    assert.equal(third.nextPageToken, '');
    const c = first.clients[0];
    assert.equal(c.connected, true);
    assert.equal(c.protocolVersion, 5);
    assert.equal(c.address, '10.0.0.7:50000');
    assert.equal(c.transport, 'tcp');
    assert.equal(c.node, 'node-1');
    assert.ok(c.connectedSinceMs > 0);

    const detail = await f.client.getClient('page-3');
    assert.equal(detail.client.clientId, 'page-3');
    assert.deepEqual(detail.subscriptions.map((s) => [s.topicFilter, s.qos, s.node]), [['page/3', 1, 'node-1']]);
  });

  it('unknown clients are NOT_FOUND, bad arguments INVALID_ARGUMENT', async () => {
    await assert.rejects(f.client.getClient('no-such-client'), grpcCode(status.NOT_FOUND));
    await assert.rejects(f.client.kickClient('no-such-client'), grpcCode(status.NOT_FOUND));
    await assert.rejects(f.client.publish({ topic: 'a/+', payload: Buffer.from('x') }), grpcCode(status.INVALID_ARGUMENT));
    await assert.rejects(f.client.publish({ topic: 'a', payload: Buffer.from('x'), qos: 3 }), grpcCode(status.INVALID_ARGUMENT));
    await assert.rejects(f.client.listClients({ pageToken: '!!' }), grpcCode(status.INVALID_ARGUMENT));
    await assert.rejects(f.client.getRetained({ filter: '#/a' }), grpcCode(status.INVALID_ARGUMENT));
    await assert.rejects(f.client.getRetained({ topic: 'never/retained' }), grpcCode(status.NOT_FOUND));
  });

  it('KickClient sends a 5.0 client DISCONNECT 0x98 and can discard its session', async () => {
    const c = await mqttClient(f.broker, 'kick-me', 5, [['k/#', 1]], true);
    c.take();
    const r = await f.client.kickClient('kick-me');
    assert.deepEqual(r, { node: 'node-1', disconnected: true, sessionDiscarded: false });
    assert.equal(c.expect(PacketType.DISCONNECT).reasonCode, 0x98);
    assert.equal(c.closed, true);
    assert.equal((await f.client.getClient('kick-me')).client.connected, false);
    const again = await f.client.kickClient('kick-me', true);
    assert.deepEqual(again, { node: 'node-1', disconnected: false, sessionDiscarded: true });
    await assert.rejects(f.client.getClient('kick-me'), grpcCode(status.NOT_FOUND));
  });

  it('ListSubscriptions filters by topic filter prefix and by client', async () => {
    await mqttClient(f.broker, 'subs-a', 4, [['fleet/1/temp', 0], ['fleet/2/temp', 1], ['misc', 0]]);
    await mqttClient(f.broker, 'subs-b', 4, [['fleet/1/temp', 2]]);
    const fleet = await f.client.listSubscriptions({ topicFilterPrefix: 'fleet/' });
    assert.deepEqual(fleet.subscriptions.map((s) => `${s.topicFilter}|${s.clientId}|${s.qos}`), ['fleet/1/temp|subs-a|0', 'fleet/1/temp|subs-b|2', 'fleet/2/temp|subs-a|1']);
    const ofA = await f.client.listSubscriptions({ clientId: 'subs-a', pageSize: 2 });
    assert.equal(ofA.subscriptions.length, 2);
    assert.notEqual(ofA.nextPageToken, '');
  });

  it('Publish reaches subscribers with QoS, retain and user properties', async () => {
    const sub = await mqttClient(f.broker, 'pub-sub', 5, [['cmd/#', 2]]);
    const r = await f.client.publish({ topic: 'cmd/x', payload: Buffer.from([0, 1, 2, 255]), qos: 2, userProperties: [{ key: 'by', value: 'ops' }], contentType: 'application/octet-stream' });
    assert.equal(r.matched, 1);
    const [got] = publishes(sub);
    assert.equal(got.topic, 'cmd/x');
    assert.deepEqual([...got.payload], [0, 1, 2, 255]);
    assert.equal(got.qos, 2);
    assert.deepEqual(got.properties?.userProperties, [['by', 'ops']]);
    assert.equal(got.properties?.contentType, 'application/octet-stream');
  });

  it('GetRetained by topic and by filter (paged), DeleteRetained', async () => {
    for (const t of ['ret/a', 'ret/b', 'ret/c']) await f.client.publish({ topic: t, payload: Buffer.from(t.toUpperCase()), qos: 1, retain: true });
    const one = await f.client.getRetained({ topic: 'ret/b' });
    assert.deepEqual(one.messages.map((m) => [m.topic, m.payload.toString(), m.qos, m.node]), [['ret/b', 'RET/B', 1, 'node-1']]);
    const p1 = await f.client.getRetained({ filter: 'ret/+', pageSize: 2 });
    const p2 = await f.client.getRetained({ filter: 'ret/+', pageSize: 2, pageToken: p1.nextPageToken });
    assert.deepEqual([...p1.messages, ...p2.messages].map((m) => m.topic), ['ret/a', 'ret/b', 'ret/c']);
    assert.equal(p2.nextPageToken, '');
    assert.deepEqual(await f.client.deleteRetained('ret/b'), { deleted: true });
    assert.deepEqual(await f.client.deleteRetained('ret/b'), { deleted: false });
    await assert.rejects(f.client.getRetained({ topic: 'ret/b' }), grpcCode(status.NOT_FOUND));
    // a new subscriber gets the two left
    const late = await mqttClient(f.broker, 'ret-late', 4, [['ret/#', 0]]);
    assert.deepEqual(publishes(late).map((p) => p.topic).sort(), ['ret/a', 'ret/c']);
  });
});

describe('admin gRPC server errors and lifecycle', () => {
  it('maps unexpected facade failures to INTERNAL and reports them', async () => {
    const reported: string[] = [];
    const failing = {
      clusterStatus: async () => {
        throw new Error('store down');
      },
      getClient: async () => {
        throw new AdminError('not_found', 'gone');
      },
    } as unknown as AdminFacade;
    const server = await startAdminServer({ port: 0, host: '127.0.0.1', facade: failing, onError: (_e, method) => reported.push(method) });
    const client = new AdminClient(`127.0.0.1:${server.port}`, { timeoutMs: 3000 });
    try {
      await assert.rejects(client.clusterStatus(), grpcCode(status.INTERNAL));
      await assert.rejects(client.getClient('x'), grpcCode(status.NOT_FOUND));
      assert.deepEqual(reported, ['ClusterStatus']);
    } finally {
      client.close();
      await server.close(500);
    }
    // closed: calls fail as UNAVAILABLE within the deadline
    const late = new AdminClient(`127.0.0.1:${server.port}`, { timeoutMs: 2000 });
    await assert.rejects(late.clusterStatus(), (e: unknown) => e instanceof AdminApiError && (e.code === status.UNAVAILABLE || e.code === status.DEADLINE_EXCEEDED));
    late.close();
  });
});
