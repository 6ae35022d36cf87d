import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketType } from '@mqtt-broker/mqtt-codec';
import { AdminError, adminKeys, createAdminFacade, MAX_ADMIN_PAGE_SIZE, mergeAdminPages } from '../src/index.js';
import { settle, TestClient } from '../src/testing/index.js';
import { payloads, publish, setup, sub, subscriber } from './harness.js';

function rejectsWith(code: string): (e: unknown) => boolean {
  return (e: unknown) => e instanceof AdminError && e.code === code;
}

describe('admin facade: status and clients', () => {
  it('reports this node with its counts and uptime', async () => {
    const { broker, clock } = setup();
    const admin = createAdminFacade(broker);
    await subscriber(broker, 'a', [sub('x/#'), sub('y')]);
    const retainer = new TestClient(broker, 4);
    await retainer.connect({ clientId: 'r' });
    publish(retainer, 'kept', 'v', 0, { retain: true });
    clock.advance(5000);
    const status = await admin.clusterStatus();
    assert.equal(status.nodes.length, 1);
    const n = status.nodes[0];
    assert.equal(n.nodeId, 'test');
    assert.equal(n.version, '0.0.0-test');
    assert.equal(n.connections, 2);
    assert.equal(n.sessions, 2);
    assert.equal(n.subscriptions, 2);
    assert.equal(n.retained, 1);
    assert.equal(n.uptimeSeconds, 5);
  });

  it('lists connected and offline clients with their session state, paged and filtered by prefix', async () => {
    const { broker, clock } = setup();
    const admin = createAdminFacade(broker);
    const t0 = clock.now();
    for (const id of ['dev-3', 'dev-1', 'other', 'dev-2']) await subscriber(broker, id, [sub('t/+', 1)], 5);
    const offline = new TestClient(broker, 5);
    await offline.connect({ clientId: 'dev-0', clean: false, properties: { sessionExpiryInterval: 60 } });
    offline.send({ type: PacketType.SUBSCRIBE, packetId: 1, subscriptions: [sub('q', 1)] });
    offline.close();

    const first = await admin.listClients({ prefix: 'dev-', pageSize: 3 });
    assert.deepEqual(first.items.map((c) => c.clientId), ['dev-0', 'dev-1', 'dev-2']);
    assert.notEqual(first.nextPageToken, '');
    const second = await admin.listClients({ prefix: 'dev-', pageSize: 3, pageToken: first.nextPageToken });
    assert.deepEqual(second.items.map((c) => c.clientId), ['dev-3']);
    assert.equal(second.nextPageToken, '');

    const on = first.items[1];
    assert.equal(on.connected, true);
    assert.equal(on.node, 'test');
    assert.equal(on.address, '127.0.0.1:50000');
    assert.equal(on.transport, 'tcp');
    assert.equal(on.protocolVersion, 5);
    assert.equal(on.connectedSince, t0);
    assert.equal(on.cleanStart, true);
    assert.equal(on.subscriptions, 1);
    const off = first.items[0];
    assert.equal(off.connected, false);
    assert.equal(off.address, undefined);
    assert.equal(off.sessionExpirySeconds, 60);
    assert.equal(off.disconnectedAt, t0);
    assert.equal(off.subscriptions, 1);
  });

  it('counts in-flight and queued messages per client', async () => {
    const { broker } = setup({ limits: { maxInflight: 2 } });
    const admin = createAdminFacade(broker);
    await subscriber(broker, 's', [sub('t', 1)]);
    const p = new TestClient(broker, 4);
    await p.connect({ clientId: 'p' });
    for (let i = 0; i < 5; i++) publish(p, 't', `m${i}`, 1);
    const { client } = await admin.getClient('s');
    assert.equal(client.inflight, 2);
    assert.equal(client.queued, 3);
  });

  it('gets one client with its subscriptions; unknown ids are not_found', async () => {
    const { broker } = setup();
    const admin = createAdminFacade(broker);
    await subscriber(broker, 'c1', [sub('b/#', 1), sub('$share/g/a', 2), sub('n', 0, { noLocal: true, retainHandling: 2 })], 5);
    const detail = await admin.getClient('c1');
    assert.equal(detail.client.clientId, 'c1');
    assert.deepEqual(
      detail.subscriptions.map((s) => [s.topicFilter, s.qos, s.shareGroup, s.noLocal, s.retainHandling]),
      [
        ['$share/g/a', 2, 'g', false, 0],
        ['b/#', 1, undefined, false, 0],
        ['n', 0, undefined, true, 2],
      ],
    );
    await assert.rejects(admin.getClient('nobody'), rejectsWith('not_found'));
  });

  it('rejects a bad page size or page token as invalid_argument and caps large pages', async () => {
    const { broker } = setup();
    const admin = createAdminFacade(broker);
    await assert.rejects(admin.listClients({ pageSize: -1 }), rejectsWith('invalid_argument'));
    await assert.rejects(admin.listClients({ pageToken: 'not a token!' }), rejectsWith('invalid_argument'));
    for (let i = 0; i < MAX_ADMIN_PAGE_SIZE + 5; i++) await new TestClient(broker, 4).connect({ clientId: `c${i}` });
    const page = await admin.listClients({ pageSize: 5000 });
    assert.equal(page.items.length, MAX_ADMIN_PAGE_SIZE);
    assert.notEqual(page.nextPageToken, '');
  });
});

describe('admin facade: kick', () => {
  it('disconnects a 5.0 client with DISCONNECT 0x98 and keeps its persistent session unless asked', async () => {
    const { broker, observer } = setup();
    const admin = createAdminFacade(broker);
    const c = new TestClient(broker, 5);
    await c.connect({ clientId: 'k', clean: false, properties: { sessionExpiryInterval: 300 } });
    c.send({ type: PacketType.SUBSCRIBE, packetId: 1, subscriptions: [sub('k/t', 1)] });
    c.take();
    const result = await admin.kickClient('k');
    assert.deepEqual(result, { node: 'test', disconnected: true, sessionDiscarded: false });
    const disconnect = c.expect(PacketType.DISCONNECT);
    assert.equal(disconnect.reasonCode, 0x98);
    assert.equal(c.closed, true);
    const info = observer.kinds('disconnected') as Array<{ cause: string; reasonCode: number }>;
    assert.equal(info.at(-1)?.cause, 'kicked');
    const after = await admin.getClient('k');
    assert.equal(after.client.connected, false);
    assert.equal(after.subscriptions.length, 1);

    // the offline session keeps receiving QoS 1 messages, then is discarded on request
    const p = new TestClient(broker, 4);
    await p.connect({ clientId: 'p' });
    publish(p, 'k/t', 'queued', 1);
    assert.equal((await admin.getClient('k')).client.queued, 1);
    const discard = await admin.kickClient('k', { discardSession: true });
    assert.deepEqual(discard, { node: 'test', disconnected: false, sessionDiscarded: true });
    await assert.rejects(admin.getClient('k'), rejectsWith('not_found'));
    assert.equal((await admin.clusterStatus()).nodes[0].queued, 0);
  });

  it('closes a 3.1.1 connection (no DISCONNECT packet exists) and publishes its will', async () => {
    const { broker } = setup();
    const admin = createAdminFacade(broker);
    const watcher = await subscriber(broker, 'w', [sub('wills/#')]);
    const c = new TestClient(broker, 4);
    await c.connect({ clientId: 'v3', will: { topic: 'wills/v3', payload: Buffer.from('gone'), qos: 0, retain: false } });
    await admin.kickClient('v3');
    assert.equal(c.closed, true);
    assert.deepEqual(c.take(), []);
    assert.deepEqual(payloads(watcher), ['gone']);
    await assert.rejects(admin.kickClient('v3'), rejectsWith('not_found'));
  });
});

describe('admin facade: subscriptions, publish, retained', () => {
  it('lists subscriptions of every session by topic filter prefix and pages them', async () => {
    const { broker } = setup();
    const admin = createAdminFacade(broker);
    await subscriber(broker, 'a', [sub('sensors/1'), sub('sensors/2'), sub('other')]);
    await subscriber(broker, 'b', [sub('sensors/1', 1)]);
    const p1 = await admin.listSubscriptions({ prefix: 'sensors/', pageSize: 2 });
    assert.deepEqual(p1.items.map((s) => `${s.topicFilter} ${s.clientId}`), ['sensors/1 a', 'sensors/1 b']);
    const p2 = await admin.listSubscriptions({ prefix: 'sensors/', pageSize: 2, pageToken: p1.nextPageToken });
    assert.deepEqual(p2.items.map((s) => `${s.topicFilter} ${s.clientId}`), ['sensors/2 a']);
    assert.equal(p2.nextPageToken, '');
    const ofB = await admin.listSubscriptions({ clientId: 'b' });
    assert.deepEqual(ofB.items.map((s) => [s.topicFilter, s.qos]), [['sensors/1', 1]]);
  });

  it('publishes as the broker to matching subscribers, with user properties and QoS', async () => {
    const { broker } = setup();
    const admin = createAdminFacade(broker);
    const s5 = await subscriber(broker, 's5', [sub('cmd/#', 1)], 5);
    const s4 = await subscriber(broker, 's4', [sub('cmd/+', 0)], 4);
    const result = await admin.publish({ topic: 'cmd/reboot', payload: Buffer.from('now'), qos: 1, retain: false, userProperties: [['by', 'admin']] });
    assert.equal(result.matched, 2);
    const got = s5.expect(PacketType.PUBLISH);
    assert.equal(got.payload.toString(), 'now');
    assert.equal(got.qos, 1);
    assert.deepEqual(got.properties?.userProperties, [['by', 'admin']]);
    assert.deepEqual(payloads(s4), ['now']);
    assert.equal((await admin.publish({ topic: 'nobody/listens', payload: Buffer.from('x'), qos: 0, retain: false })).matched, 0);
    await assert.rejects(admin.publish({ topic: 'cmd/#', payload: Buffer.alloc(0), qos: 0, retain: false }), rejectsWith('invalid_argument'));
    await assert.rejects(admin.publish({ topic: '', payload: Buffer.alloc(0), qos: 0, retain: false }), rejectsWith('invalid_argument'));
  });

  it('sets, gets (by topic and by filter, paged) and deletes retained messages', async () => {
    const { broker } = setup();
    const admin = createAdminFacade(broker);
    for (const t of ['r/a', 'r/b', 'r/c/d', 'elsewhere']) await admin.publish({ topic: t, payload: Buffer.from(`v:${t}`), qos: 1, retain: true });
    const one = await admin.getRetained({ topic: 'r/b' });
    assert.deepEqual(one.items.map((m) => [m.topic, m.payload.toString(), m.qos, m.node]), [['r/b', 'v:r/b', 1, 'test']]);
    const page1 = await admin.getRetained({ filter: 'r/#', pageSize: 2 });
    assert.deepEqual(page1.items.map((m) => m.topic), ['r/a', 'r/b']);
    const page2 = await admin.getRetained({ filter: 'r/#', pageSize: 2, pageToken: page1.nextPageToken });
    assert.deepEqual(page2.items.map((m) => m.topic), ['r/c/d']);
    assert.equal(page2.nextPageToken, '');
    await assert.rejects(admin.getRetained({ topic: 'missing' }), rejectsWith('not_found'));
    await assert.rejects(admin.getRetained({ filter: 'a/#/b' }), rejectsWith('invalid_argument'));

    assert.deepEqual(await admin.deleteRetained('r/b'), { deleted: true });
    assert.deepEqual(await admin.deleteRetained('r/b'), { deleted: false });
    // a new subscriber no longer gets it [MQTT-3.3.1-6]
    const late = await subscriber(broker, 'late', [sub('r/#')]);
    await settle();
    assert.deepEqual(payloads(late).sort(), ['v:r/a', 'v:r/c/d']);
  });

  it('hides expired retained messages', async () => {
    const { broker, clock } = setup();
    const admin = createAdminFacade(broker);
    await admin.publish({ topic: 'e', payload: Buffer.from('x'), qos: 0, retain: true, messageExpirySeconds: 2 });
    assert.equal((await admin.getRetained({ topic: 'e' })).items[0].expiresAt, clock.now() + 2000);
    clock.advance(3000);
    await assert.rejects(admin.getRetained({ topic: 'e' }), rejectsWith('not_found'));
    assert.deepEqual((await admin.getRetained({ filter: '#' })).items, []);
  });
});

describe('mergeAdminPages (cluster fan-out)', () => {
  it('merges node pages in key order, dedupes equal keys and continues after the last key', async () => {
    const a = setup({ nodeId: 'node-a' });
    const b = setup({ nodeId: 'node-b' });
    for (const id of ['c1', 'c3', 'c5']) await new TestClient(a.broker, 4).connect({ clientId: id });
    for (const id of ['c2', 'c4', 'c6']) await new TestClient(b.broker, 4).connect({ clientId: id });
    const facades = [createAdminFacade(a.broker), createAdminFacade(b.broker)];
    const seen: string[] = [];
    let token = '';
    for (let round = 0; round < 10; round++) {
      const pages = await Promise.all(facades.map((f) => f.listClients({ pageSize: 4, pageToken: token })));
      const merged = mergeAdminPages(pages, adminKeys.client, 4);
      seen.push(...merged.items.map((c) => `${c.clientId}@${c.node}`));
      token = merged.nextPageToken;
      if (token === '') break;
    }
    assert.deepEqual(seen, ['c1@node-a', 'c2@node-b', 'c3@node-a', 'c4@node-b', 'c5@node-a', 'c6@node-b']);
    const retained = mergeAdminPages(
      [
        { items: [{ topic: 'x', payload: Buffer.from('1'), qos: 0, userProperties: [], contentType: undefined, expiresAt: undefined, node: 'n1' }], nextPageToken: '' },
        { items: [{ topic: 'x', payload: Buffer.from('1'), qos: 0, userProperties: [], contentType: undefined, expiresAt: undefined, node: 'n2' }], nextPageToken: '' },
      ],
      adminKeys.retained,
      10,
    );
    assert.equal(retained.items.length, 1);
  });

  it('refuses a broker it did not create', () => {
    assert.throws(() => createAdminFacade({} as never), TypeError);
  });
});
