import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { httpGet, metricValue, type RunningBroker, startBroker, waitFor } from './service-support.js';

async function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 3000, ...options });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

async function metrics(b: RunningBroker): Promise<string> {
  const r = await httpGet(b.http, '/metrics');
  assert.equal(r.status, 200);
  return r.body;
}

describe('broker node over real sockets', () => {
  const brokers: RunningBroker[] = [];
  after(async () => {
    for (const b of brokers) await b.stop();
  });

  it('/healthz, /readyz and /metrics reflect what clients do', async () => {
    const b = await startBroker();
    brokers.push(b);
    assert.deepEqual((await httpGet(b.http, '/healthz')).status, 200);
    assert.deepEqual((await httpGet(b.http, '/readyz')).status, 200);
    assert.equal((await httpGet(b.http, '/nope')).status, 404);
    const before = await metrics(b);
    assert.equal(metricValue(before, 'mqtt_connected_clients'), 0);
    assert.equal(metricValue(before, 'mqtt_ready'), 1);
    assert.ok(metricValue(before, 'nodejs_eventloop_lag_seconds') !== undefined, 'default process metrics');
    assert.ok(metricValue(before, 'process_resident_memory_bytes') !== undefined);

    const sub = await connect(`mqtt://127.0.0.1:${b.tcp}`, { protocolVersion: 5 });
    const got: string[] = [];
    sub.on('message', (_t, p) => got.push(p.toString()));
    await sub.subscribeAsync('m/#', { qos: 1 });
    const pub = await connect(`ws://127.0.0.1:${b.ws}/mqtt`, { protocolVersion: 4 });
    await pub.publishAsync('m/a', 'one', { qos: 1 });
    await pub.publishAsync('m/b', 'two', { qos: 1 });
    await pub.publishAsync('m/r', 'kept', { qos: 0, retain: true });
    await waitFor(() => got.length === 3, 5000, 'deliveries');

    const during = await metrics(b);
    assert.equal(metricValue(during, 'mqtt_connected_clients'), 2);
    assert.equal(metricValue(during, 'mqtt_connections_accepted_total{transport="tcp"}'), 1);
    assert.equal(metricValue(during, 'mqtt_connections_accepted_total{transport="ws"}'), 1);
    assert.equal(metricValue(during, 'mqtt_messages_published_total{qos="1"}'), 2);
    assert.equal(metricValue(during, 'mqtt_messages_published_total{qos="0"}'), 1);
    assert.equal(metricValue(during, 'mqtt_messages_delivered_total{qos="1"}'), 2);
    assert.equal(metricValue(during, 'mqtt_packets_received_total{type="publish"}'), 3);
    assert.equal(metricValue(during, 'mqtt_packets_sent_total{type="puback"}'), 2);
    assert.ok((metricValue(during, 'mqtt_bytes_received_total{type="publish"}') ?? 0) > 10);
    assert.equal(metricValue(during, 'mqtt_subscriptions'), 1);
    assert.equal(metricValue(during, 'mqtt_retained_messages'), 1);
    assert.equal(metricValue(during, 'mqtt_sessions{state="online"}'), 2);

    await pub.endAsync();
    await sub.endAsync();
    await waitFor(async () => metricValue(await metrics(b), 'mqtt_connected_clients') === 0, 5000, 'clients gone');
    const afterText = await metrics(b);
    assert.equal(metricValue(afterText, 'mqtt_disconnects_total{cause="client_disconnect"}'), 2);
    // log lines reach us through the child's stdout pipe, possibly after /metrics already answered
    const logged = (event: string) => b.logs().filter((l) => l.event === event);
    await waitFor(() => logged('connect').length >= 2 && logged('disconnect').length >= 2, 5000, 'connect and disconnect log lines');
    const connects = logged('connect');
    const disconnects = logged('disconnect');
    assert.equal(connects.length, 2);
    assert.equal(disconnects.length, 2);
    assert.deepEqual(
      connects.map((l) => l.protocolVersion).sort(),
      [4, 5],
    );
    for (const l of [...connects, ...disconnects]) {
      assert.equal(typeof l.clientId, 'string');
      assert.equal(l.address, '127.0.0.1');
      assert.equal(typeof l.reasonCode, 'number');
    }
  });

  it('counts refused CONNECTs by reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'node-'));
    writeFileSync(join(dir, 'passwd'), '');
    const b = await startBroker({ ALLOW_ANONYMOUS: 'false', PASSWORD_FILE: join(dir, 'passwd') });
    brokers.push(b);
    const client = mqtt.connect(`mqtt://127.0.0.1:${b.tcp}`, { reconnectPeriod: 0, protocolVersion: 5, username: 'u', password: 'p' });
    await new Promise<void>((resolve) => {
      client.once('error', () => resolve());
      client.once('close', () => resolve());
    });
    client.end(true);
    await waitFor(async () => metricValue(await metrics(b), 'mqtt_connections_rejected_total{reason="bad_user_name_or_password"}') === 1, 5000, 'rejection counted');
  });

  it('binds ::1 when MQTT_HOST is ::1', async () => {
    const b = await startBroker({ MQTT_HOST: '::1', MQTT_WS_PORT: 'off', HTTP_PORT: 'off' });
    brokers.push(b);
    const c = await connect(`mqtt://[::1]:${b.tcp}`);
    await c.endAsync();
  });

  it('SIGTERM: readiness drops, clients are disconnected, exit code 0', async () => {
    const b = await startBroker({ DRAIN_SECONDS: '2' });
    const clients = await Promise.all([1, 2, 3].map(() => connect(`mqtt://127.0.0.1:${b.tcp}`, { protocolVersion: 5 })));
    const reasons: number[] = [];
    for (const c of clients) c.on('disconnect', (p) => reasons.push(p.reasonCode ?? -1));
    b.child.kill('SIGTERM');
    await waitFor(async () => (await httpGet(b.http, '/readyz').catch(() => ({ status: 0 }))).status === 503, 2000, 'readyz 503');
    const { code } = await b.exit;
    assert.equal(code, 0);
    assert.deepEqual(reasons, [0x8b, 0x8b, 0x8b], 'v5 clients get DISCONNECT server shutting down');
    for (const c of clients) c.end(true);
    assert.ok(b.logs().some((l) => l.event === 'stopped'));
  });

  it('SIGTERM with SERVER_REFERENCE: 5.0 clients get DISCONNECT 0x9C use another server, with the reference', async () => {
    const b = await startBroker({ DRAIN_SECONDS: '1', SERVER_REFERENCE: 'mqtt.example.com:1883' });
    const c = await connect(`mqtt://127.0.0.1:${b.tcp}`, { protocolVersion: 5 });
    const disconnect = new Promise<{ reasonCode?: number; properties?: { serverReference?: string } }>((resolve) => c.once('disconnect', resolve));
    b.child.kill('SIGTERM');
    const packet = await disconnect;
    assert.equal(packet.reasonCode, 0x9c);
    assert.equal(packet.properties?.serverReference, 'mqtt.example.com:1883');
    assert.equal((await b.exit).code, 0);
    c.end(true);
  });

  it('SIGHUP reloads the ACL file: a publish formerly denied is allowed; a bad file keeps the old rules', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'acl-'));
    const acl = join(dir, 'acl');
    writeFileSync(acl, 'topic read open/#\n');
    const b = await startBroker({ ACL_FILE: acl });
    brokers.push(b);
    const sub = await connect(`mqtt://127.0.0.1:${b.tcp}`);
    const got: string[] = [];
    sub.on('message', (_t, p) => got.push(p.toString()));
    await sub.subscribeAsync('open/#', { qos: 1 });
    const pub = await connect(`mqtt://127.0.0.1:${b.tcp}`, { protocolVersion: 5 });
    await assert.rejects(pub.publishAsync('open/x', 'denied', { qos: 1 }), 'PUBACK carries Not authorized');
    writeFileSync(acl, 'topic readwrite open/#\n');
    b.child.kill('SIGHUP');
    await waitFor(() => b.logs().some((l) => l.event === 'auth_reloaded'), 5000, 'reload logged');
    await pub.publishAsync('open/x', 'allowed', { qos: 1 });
    await waitFor(() => got.includes('allowed'), 5000, 'delivery after reload');
    assert.deepEqual(got, ['allowed']);

    writeFileSync(acl, 'topic sometimes open/#\n');
    b.child.kill('SIGHUP');
    await waitFor(() => b.logs().some((l) => l.event === 'auth_reload_failed'), 5000, 'failed reload logged');
    const failed = b.logs().find((l) => l.event === 'auth_reload_failed');
    assert.equal(failed?.level, 50, 'logged as an error');
    await pub.publishAsync('open/x', 'still', { qos: 1 });
    await waitFor(() => got.includes('still'), 5000, 'old rules kept');
    await pub.endAsync();
    await sub.endAsync();
  });
});
