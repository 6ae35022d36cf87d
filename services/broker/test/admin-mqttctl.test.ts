/**
 * The admin API end to end: a real broker process (GRPC_PORT on a free port), real MQTT.js
 * clients, and the real `mqttctl` command run as a child process against it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { closeAllClients, collect, connect, serverDisconnect, uid } from './helpers/clients.js';
import { kickConnected, mqttctl, mqttctlJson, mqttctlSkipReason } from './helpers/mqttctl.js';
import { type RunningBroker, startBroker } from './helpers/processes.js';
import { startBroker as startLoggingBroker } from './service-support.js';

const skip = mqttctlSkipReason();

describe('mqttctl against a running broker', { skip }, () => {
  let broker: RunningBroker;
  let server: string;
  before(async () => {
    broker = await startBroker();
    server = `127.0.0.1:${broker.ports.grpc}`;
  });
  after(async () => {
    closeAllClients();
    await broker?.stop();
  });

  it('status shows the node', async () => {
    const r = await mqttctl(server, 'status');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^NODE\s+VERSION\s+NODEJS\s+WEBSOCKET\s+UPTIME/);
    assert.equal(r.out.trim().split('\n').length, 2);
  });

  it('lists a connected MQTT.js client and shows it with its subscriptions', async () => {
    const id = uid('adm');
    const { client } = await connect(broker.url, { clientId: id, protocolVersion: 5 });
    await client.subscribeAsync(`${id}/#`, { qos: 1 });
    const listed = await mqttctlJson<{ clients: Array<{ clientId: string; connected: boolean; protocolVersion: number; address: string; subscriptions: number }> }>(server, 'clients', '--prefix', id);
    assert.equal(listed.clients.length, 1);
    const c = listed.clients[0];
    assert.equal(c.clientId, id);
    assert.equal(c.connected, true);
    assert.equal(c.protocolVersion, 5);
    assert.match(c.address, /^127\.0\.0\.1:\d+$/);
    assert.equal(c.subscriptions, 1);
    const human = await mqttctl(server, 'clients', '--prefix', id);
    assert.match(human.out, new RegExp(`^${id}\\s+\\S+\\s+yes\\s+127\\.0\\.0\\.1:\\d+\\s+5\\.0`, 'm'));
    const detail = await mqttctl(server, 'client', id);
    assert.equal(detail.code, 0, detail.err);
    assert.match(detail.out, new RegExp(`${id}/#\\s+${id}\\s+\\S+\\s+1`));
    const subs = await mqttctlJson<{ subscriptions: Array<{ topicFilter: string; clientId: string }> }>(server, 'subs', '--prefix', `${id}/`);
    assert.deepEqual(subs.subscriptions.map((s) => [s.topicFilter, s.clientId]), [[`${id}/#`, id]]);
    client.end(true);
  });

  it('kick: an MQTT.js 5.0 client receives DISCONNECT 0x98 and is gone from the list', async () => {
    const id = uid('kick');
    const r = await kickConnected(server, broker.url, id);
    assert.match(r.out, new RegExp(`^disconnected ${id} on `));
  });

  it('kick --discard-session: the persistent session is gone when the client comes back', async () => {
    const id = uid('disc');
    const opts = { clientId: id, protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 600 } };
    const first = await connect(broker.url, opts);
    await first.client.subscribeAsync(`${id}/t`, { qos: 1 });
    const kicked = serverDisconnect(first.client);
    const r = await mqttctl(server, 'kick', id, '--discard-session');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /session discarded/);
    assert.equal((await kicked).reasonCode, 0x98);
    const back = await connect(broker.url, opts);
    assert.equal(back.connack.sessionPresent, false);
    back.client.end(true);
  });

  it('publish reaches an MQTT.js subscriber with QoS and user properties', async () => {
    const id = uid('pub');
    const { client } = await connect(broker.url, { clientId: id, protocolVersion: 5 });
    await client.subscribeAsync(`${id}/cmd`, { qos: 1 });
    const got = collect(client, 1);
    const r = await mqttctl(server, 'publish', `${id}/cmd`, 'reboot now', '--qos', '1', '--user-property', 'origin=ops');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), `published to ${id}/cmd: 1 matching subscription`);
    const [m] = await got;
    assert.equal(m.payload.toString(), 'reboot now');
    assert.equal(m.packet.qos, 1);
    assert.deepEqual({ ...m.packet.properties?.userProperties }, { origin: 'ops' });
    client.end(true);
  });

  it('retained get/delete: set by an MQTT.js client, read and deleted with mqttctl', async () => {
    const id = uid('ret');
    const { client } = await connect(broker.url, { clientId: id });
    await client.publishAsync(`${id}/a`, 'alpha', { qos: 1, retain: true });
    await client.publishAsync(`${id}/b`, 'beta', { qos: 1, retain: true });
    const one = await mqttctl(server, 'retained', 'get', `${id}/a`);
    assert.equal(one.code, 0, one.err);
    assert.match(one.out, new RegExp(`${id}/a\\s+1\\s+5\\s+-\\s+alpha`));
    const all = await mqttctlJson<{ messages: Array<{ topic: string; payload: { utf8: string } }> }>(server, 'retained', 'get', `${id}/+`);
    assert.deepEqual(all.messages.map((m) => [m.topic, m.payload.utf8]), [[`${id}/a`, 'alpha'], [`${id}/b`, 'beta']]);
    const del = await mqttctl(server, 'retained', 'delete', `${id}/a`);
    assert.equal(del.out.trim(), `deleted the retained message on ${id}/a`);
    // a new subscriber gets only the one left
    const sub = await connect(broker.url, { clientId: `${id}-s` });
    const got = collect(sub.client, 1);
    await sub.client.subscribeAsync(`${id}/+`);
    assert.deepEqual((await got).map((m) => m.topic), [`${id}/b`]);
    const gone = await mqttctl(server, 'retained', 'get', `${id}/a`);
    assert.equal(gone.code, 1);
    assert.match(gone.err, /NOT_FOUND/);
    client.end(true);
    sub.client.end(true);
  });
});

describe('GRPC_PORT', { skip }, () => {
  it('binds the port given (0: a free one, logged as grpcPort) and off disables the admin API', async () => {
    const on = await startLoggingBroker({ GRPC_PORT: '0' });
    try {
      const started = on.logs().find((l) => l.event === 'started');
      const port = started?.grpcPort;
      assert.equal(typeof port, 'number');
      const status = await mqttctlJson<{ nodes: Array<{ id: string }> }>(`127.0.0.1:${port}`, 'status');
      assert.equal(status.nodes.length, 1);
    } finally {
      await on.stop();
    }
    const off = await startLoggingBroker({ GRPC_PORT: 'off' });
    try {
      const started = off.logs().find((l) => l.event === 'started');
      assert.equal(started?.grpcPort, undefined);
    } finally {
      await off.stop();
    }
  });

  it('a GRPC_PORT already in use fails the start naming the setting', async () => {
    const first = await startLoggingBroker({ GRPC_PORT: '0' });
    try {
      const port = String(first.logs().find((l) => l.event === 'started')?.grpcPort);
      await assert.rejects(startLoggingBroker({ GRPC_PORT: port }), /GRPC_PORT \d+: address already in use/);
    } finally {
      await first.stop();
    }
  });
});
