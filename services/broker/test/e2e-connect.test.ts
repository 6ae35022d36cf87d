// End to end: CONNECT/CONNACK, client identifiers, session present, takeover and keep alive,
// with MQTT.js (v3.1.1 and v5) and a raw socket where a well-behaved client cannot be used.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IConnackPacket, IDisconnectPacket, IPublishPacket } from 'mqtt-packet';
import { closed, collect, connect, uid } from './helpers/clients.js';
import { suiteSkipReason } from './helpers/processes.js';
import { RawClient } from './helpers/raw.js';
import { isMosquitto, useTarget } from './helpers/suite.js';

describe('e2e connect', { skip: suiteSkipReason() }, () => {
  const broker = useTarget();

  for (const protocolVersion of [4, 5] as const) {
    it(`v${protocolVersion}: CONNECT is accepted with code 0 and no session present`, async () => {
      const { client, connack } = await connect(broker().url, { protocolVersion, clientId: uid('c') });
      assert.equal(connack.sessionPresent, false);
      assert.equal(connack.reasonCode ?? connack.returnCode ?? 0, 0);
      await client.endAsync();
    });
  }

  it('v5: empty client id gets an Assigned Client Identifier [MQTT-3.2.2-16]', async () => {
    const raw = await RawClient.open(broker().ports.mqtt, 5);
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: '' });
    const connack = (await raw.next('connack')) as IConnackPacket;
    assert.equal(connack.reasonCode, 0);
    const assigned = connack.properties?.assignedClientIdentifier;
    assert.equal(typeof assigned, 'string');
    assert.ok((assigned ?? '').length > 0);
    raw.destroy();
  });

  it('v3.1.1: empty client id with clean session 1 is accepted [MQTT-3.1.3-7]', async () => {
    const raw = await RawClient.open(broker().ports.mqtt, 4);
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId: '' });
    const connack = (await raw.next('connack')) as IConnackPacket;
    assert.equal(connack.returnCode, 0);
    raw.destroy();
  });

  it('v3.1.1: empty client id with clean session 0 is refused with return code 2 [MQTT-3.1.3-8]', async () => {
    const raw = await RawClient.open(broker().ports.mqtt, 4);
    // mqtt-packet refuses to encode this CONNECT, so the bytes are written by hand:
    // CONNECT, remaining length 12, "MQTT", level 4, flags 0 (clean session 0), keep alive 30, id "".
    raw.write([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x00, 0, 30, 0, 0]);
    const connack = (await raw.next('connack')) as IConnackPacket;
    assert.equal(connack.returnCode, 2);
    assert.equal(await raw.closedWithin(3000), true, 'connection closed after the refusal [MQTT-3.2.2-5]');
  });

  it('v3.1: MQIsdp level 3 CONNECT is accepted', async () => {
    const raw = await RawClient.open(broker().ports.mqtt, 3);
    raw.send({ cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 3, clean: true, keepalive: 30, clientId: uid('v31') });
    const connack = (await raw.next('connack')) as IConnackPacket;
    assert.equal(connack.returnCode, 0);
    raw.destroy();
  });

  it('v3.1.1: session present after reconnecting with clean session 0, not with clean session 1', async () => {
    const clientId = uid('sp');
    const first = await connect(broker().url, { clientId, clean: false });
    assert.equal(first.connack.sessionPresent, false);
    await first.client.subscribeAsync('sp/x', { qos: 1 });
    await first.client.endAsync();
    const second = await connect(broker().url, { clientId, clean: false });
    assert.equal(second.connack.sessionPresent, true, 'the stored session is resumed [MQTT-3.2.2-2]');
    await second.client.endAsync();
    const third = await connect(broker().url, { clientId, clean: true });
    assert.equal(third.connack.sessionPresent, false, '[MQTT-3.2.2-1]');
    await third.client.endAsync();
    const fourth = await connect(broker().url, { clientId, clean: false });
    assert.equal(fourth.connack.sessionPresent, false, 'clean session 1 discarded the session');
    await fourth.client.endAsync();
  });

  it('v5: session present with Clean Start 0 and a session expiry interval; Clean Start 1 discards it', async () => {
    const clientId = uid('sp5');
    const opts = { protocolVersion: 5 as const, clientId, clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await connect(broker().url, opts);
    assert.equal(first.connack.sessionPresent, false);
    await first.client.subscribeAsync('sp5/x', { qos: 1 });
    await first.client.endAsync();
    const second = await connect(broker().url, opts);
    assert.equal(second.connack.sessionPresent, true);
    await second.client.endAsync();
    const third = await connect(broker().url, { ...opts, clean: true });
    assert.equal(third.connack.sessionPresent, false, '[MQTT-3.1.2-4]');
    await third.client.endAsync();
  });

  it('v5: session expiry interval 0 (default) ends the session at disconnect', async () => {
    const clientId = uid('se0');
    const first = await connect(broker().url, { protocolVersion: 5, clientId, clean: false });
    await first.client.subscribeAsync('se0/x', { qos: 1 });
    await first.client.endAsync();
    const second = await connect(broker().url, { protocolVersion: 5, clientId, clean: false });
    assert.equal(second.connack.sessionPresent, false);
    await second.client.endAsync();
  });

  it('v5: a second connection with the same client id takes over; the old one gets DISCONNECT 0x8E', async () => {
    const clientId = uid('to5');
    const old = await RawClient.connected(broker().ports.mqtt, 5, { clientId });
    const fresh = await connect(broker().url, { protocolVersion: 5, clientId });
    assert.equal(await old.closedWithin(5000), true, 'old connection closed [MQTT-3.1.4-3]');
    if (!isMosquitto()) {
      // Mosquitto 2.0.11 closes the old socket without a DISCONNECT; the 5.0 spec says 0x8E.
      const disconnect = old.received.find((p) => p.cmd === 'disconnect') as IDisconnectPacket | undefined;
      assert.equal(disconnect?.reasonCode, 0x8e, `DISCONNECT 0x8E Session taken over; got ${JSON.stringify(old.received)}`);
    }
    // The new connection works.
    await fresh.client.subscribeAsync('to5/x', { qos: 1 });
    const got = collect(fresh.client, 1, 3000);
    await fresh.client.publishAsync('to5/x', 'still here', { qos: 1 });
    assert.equal((await got)[0].payload.toString(), 'still here');
    await fresh.client.endAsync();
  });

  it('v3.1.1: a second connection with the same client id closes the old one', async () => {
    const clientId = uid('to4');
    const old = await connect(broker().url, { protocolVersion: 4, clientId });
    const oldClosed = closed(old.client, 5000);
    const fresh = await connect(broker().url, { protocolVersion: 4, clientId });
    await oldClosed;
    assert.equal(fresh.client.connected, true);
    await fresh.client.endAsync();
  });

  it('keep alive: a silent client is disconnected after 1.5 x keep alive and its will is published [MQTT-3.1.2-24]', async () => {
    const topic = uid('ka/');
    const watcher = await connect(broker().url, { clientId: uid('w') });
    await watcher.client.subscribeAsync(topic, { qos: 1 });
    const raw = await RawClient.open(broker().ports.mqtt, 4);
    // Mosquitto checks keep alives on a coarse timer (~5 s late); ours must be within 1.5 x.
    const bound = isMosquitto() ? 8000 : 2500;
    const will = collect(watcher.client, 1, bound + 2000);
    const started = Date.now();
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 1, clientId: uid('ka'), will: { topic, payload: Buffer.from('gone'), qos: 1, retain: false } });
    assert.equal(((await raw.next('connack')) as IConnackPacket).returnCode, 0);
    assert.equal(await raw.closedWithin(bound), true, `socket closed by the broker within ${bound} ms`);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1000, `closed after ${elapsed} ms, before the keep alive elapsed`);
    const [message] = await will;
    assert.equal(message.payload.toString(), 'gone');
    await watcher.client.endAsync();
  });

  it('keep alive: PINGREQ keeps a connection alive past 1.5 x keep alive', async () => {
    const raw = await RawClient.connected(broker().ports.mqtt, 4, { keepalive: 1, clientId: uid('ping') });
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 600));
      raw.send({ cmd: 'pingreq' });
      await raw.next('pingresp', 2000);
    }
    assert.equal(raw.isClosed, false);
    raw.destroy();
  });

  it('v5: DISCONNECT from the client is normal: no will, socket closed by the server after it', async () => {
    const topic = uid('nd/');
    const watcher = await connect(broker().url, { clientId: uid('w') });
    await watcher.client.subscribeAsync(topic, { qos: 1 });
    const raw = await RawClient.connected(broker().ports.mqtt, 5, { clientId: uid('nd'), will: { topic, payload: Buffer.from('x'), qos: 1, retain: false } });
    const watched: IPublishPacket[] = [];
    watcher.client.on('message', (_t, _p, packet) => watched.push(packet));
    raw.send({ cmd: 'disconnect', reasonCode: 0 } as IDisconnectPacket);
    assert.equal(await raw.closedWithin(3000), true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(watched.length, 0, 'no will after a normal DISCONNECT [MQTT-3.1.2-10]');
    await watcher.client.endAsync();
  });
});
