// End to end: PUBLISH at QoS 0/1/2 both ways with MQTT.js v3.1.1 and v5, QoS downgrade,
// redelivery of unacknowledged messages to a resumed session, QoS 2 exactly once across a
// reconnect (both directions), and ordering per topic.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IPubackPacket, IPublishPacket, IPubrecPacket } from 'mqtt-packet';
import { collect, collectFor, connect, uid } from './helpers/clients.js';
import { suiteSkipReason } from './helpers/processes.js';
import { RawClient } from './helpers/raw.js';
import { useTarget } from './helpers/suite.js';

describe('e2e publish', { skip: suiteSkipReason() }, () => {
  const broker = useTarget();

  for (const protocolVersion of [4, 5] as const) {
    for (const qos of [0, 1, 2] as const) {
      it(`v${protocolVersion}: QoS ${qos} publish reaches a QoS ${qos} subscriber with its payload and QoS`, async () => {
        const topic = uid(`q${qos}/`);
        const sub = await connect(broker().url, { protocolVersion, clientId: uid('s') });
        const pub = await connect(broker().url, { protocolVersion, clientId: uid('p') });
        const granted = await sub.client.subscribeAsync(topic, { qos });
        assert.equal(granted[0].qos, qos);
        const got = collect(sub.client, 3, 5000);
        for (let i = 0; i < 3; i++) await pub.client.publishAsync(topic, Buffer.from([i, 0xff, 0]), { qos });
        const messages = await got;
        assert.deepEqual(
          messages.map((m) => [m.topic, [...m.payload], m.packet.qos]),
          [0, 1, 2].map((i) => [topic, [i, 0xff, 0], qos]),
        );
        await Promise.all([sub.client.endAsync(), pub.client.endAsync()]);
      });
    }
  }

  it('delivery QoS is the minimum of publish and subscription QoS [MQTT-3.8.4-6]', async () => {
    const topic = uid('down/');
    const sub = await connect(broker().url, { clientId: uid('s') });
    const pub = await connect(broker().url, { clientId: uid('p') });
    await sub.client.subscribeAsync(`${topic}/low`, { qos: 0 });
    await sub.client.subscribeAsync(`${topic}/high`, { qos: 2 });
    const got = collect(sub.client, 2, 5000);
    await pub.client.publishAsync(`${topic}/low`, 'a', { qos: 2 });
    await pub.client.publishAsync(`${topic}/high`, 'b', { qos: 1 });
    const messages = await got;
    assert.deepEqual(messages.map((m) => [m.topic, m.packet.qos]).sort(), [[`${topic}/high`, 1], [`${topic}/low`, 0]]);
    await Promise.all([sub.client.endAsync(), pub.client.endAsync()]);
  });

  for (const version of [4, 5] as const) {
    it(`v${version}: unacknowledged QoS 1 is redelivered with DUP=1 when the persistent session reconnects [MQTT-4.4.0-1]`, async () => {
      const clientId = uid('re1');
      const topic = uid('re1/');
      const session = version === 5 ? { properties: { sessionExpiryInterval: 300 } } : {};
      const first = await RawClient.connected(broker().ports.mqtt, version, { clientId, clean: false, ...session });
      first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
      await first.next('suback');
      const pub = await connect(broker().url, { clientId: uid('p') });
      await pub.client.publishAsync(topic, 'unacked', { qos: 1 });
      const original = (await first.next('publish')) as IPublishPacket;
      assert.equal(original.payload.toString(), 'unacked');
      first.destroy(); // network loss, no PUBACK
      await first.closedWithin(1000);
      const second = await RawClient.open(broker().ports.mqtt, version);
      second.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: false, keepalive: 30, clientId, ...session });
      const connack = await second.next('connack');
      assert.equal((connack as { sessionPresent: boolean }).sessionPresent, true);
      const again = (await second.next('publish', 3000)) as IPublishPacket;
      assert.equal(again.payload.toString(), 'unacked');
      assert.equal(again.dup, true, 'DUP flag set on redelivery [MQTT-3.3.1-1]');
      assert.equal(again.messageId, original.messageId, 'same packet identifier');
      second.send({ cmd: 'puback', messageId: again.messageId! });
      // Acknowledged now: a further reconnect gets nothing.
      second.destroy();
      await second.closedWithin(1000);
      const third = await RawClient.connected(broker().ports.mqtt, version, { clientId, clean: false, ...session });
      const extra = (await third.drainFor(500)).filter((p) => p.cmd === 'publish');
      assert.equal(extra.length, 0, 'no redelivery after PUBACK');
      third.destroy();
      await pub.client.endAsync();
    });
  }

  it('QoS 2 outbound: PUBREC received then reconnect -> PUBREL is resent, not the PUBLISH; exactly once', async () => {
    const clientId = uid('ex2');
    const topic = uid('ex2/');
    const first = await RawClient.connected(broker().ports.mqtt, 4, { clientId, clean: false });
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 2 }] });
    await first.next('suback');
    const pub = await connect(broker().url, { clientId: uid('p') });
    await pub.client.publishAsync(topic, 'once', { qos: 2 });
    const publish = (await first.next('publish')) as IPublishPacket;
    assert.equal(publish.qos, 2);
    first.send({ cmd: 'pubrec', messageId: publish.messageId! });
    await first.next('pubrel');
    first.destroy(); // lose the connection before PUBCOMP
    await first.closedWithin(1000);
    const second = await RawClient.connected(broker().ports.mqtt, 4, { clientId, clean: false });
    const pubrel = await second.next('pubrel', 3000);
    assert.equal(pubrel.messageId, publish.messageId, 'PUBREL resent for the PUBREC-ed message [MQTT-4.4.0-1]');
    second.send({ cmd: 'pubcomp', messageId: publish.messageId! });
    const rest = await second.drainFor(500);
    assert.equal(rest.filter((p) => p.cmd === 'publish').length, 0, 'the PUBLISH itself is not sent again');
    second.destroy();
    await pub.client.endAsync();
  });

  it('QoS 2 inbound: a PUBLISH resent after a reconnect (same id, DUP) is delivered once [MQTT-4.3.3-10]', async () => {
    const clientId = uid('in2');
    const topic = uid('in2/');
    const sub = await connect(broker().url, { clientId: uid('s') });
    await sub.client.subscribeAsync(topic, { qos: 2 });
    const window = collectFor(sub.client, 3000);
    const first = await RawClient.connected(broker().ports.mqtt, 4, { clientId, clean: false });
    first.send({ cmd: 'publish', topic, payload: Buffer.from('one'), qos: 2, messageId: 7, retain: false, dup: false });
    const pubrec = (await first.next('pubrec')) as IPubrecPacket;
    assert.equal(pubrec.messageId, 7);
    first.destroy();
    await first.closedWithin(1000);
    const second = await RawClient.connected(broker().ports.mqtt, 4, { clientId, clean: false });
    second.send({ cmd: 'publish', topic, payload: Buffer.from('one'), qos: 2, messageId: 7, retain: false, dup: true });
    assert.equal((await second.next('pubrec')).messageId, 7);
    second.send({ cmd: 'pubrel', messageId: 7 });
    assert.equal((await second.next('pubcomp')).messageId, 7);
    const got = await window;
    assert.deepEqual(got.map((m) => m.payload.toString()), ['one'], 'exactly one copy delivered');
    second.destroy();
    await sub.client.endAsync();
  });

  it('v5: PUBACK carries 0x10 No matching subscribers when nobody subscribes', async () => {
    const raw = await RawClient.connected(broker().ports.mqtt, 5, { clientId: uid('nm') });
    raw.send({ cmd: 'publish', topic: uid('nobody/'), payload: Buffer.from('x'), qos: 1, messageId: 3, retain: false, dup: false });
    const puback = (await raw.next('puback')) as IPubackPacket;
    assert.equal(puback.messageId, 3);
    assert.ok(puback.reasonCode === 0x10 || puback.reasonCode === 0 || puback.reasonCode === undefined, `reason ${puback.reasonCode}`);
    raw.destroy();
  });

  for (const qos of [0, 1, 2] as const) {
    it(`messages on one topic arrive in publish order (QoS ${qos}) [MQTT-4.6.0-5]`, async () => {
      const topic = uid('ord/');
      const n = 300;
      const sub = await connect(broker().url, { clientId: uid('s'), protocolVersion: 5 });
      const pub = await connect(broker().url, { clientId: uid('p'), protocolVersion: 5 });
      await sub.client.subscribeAsync(topic, { qos });
      const got = collect(sub.client, n, 15_000);
      // Windows of 10 in flight: MQTT.js does not honour the server's Receive Maximum by itself.
      for (let i = 0; i < n; i += 10) {
        await Promise.all(Array.from({ length: 10 }, (_, j) => pub.client.publishAsync(topic, String(i + j), { qos })));
      }
      const messages = await got;
      assert.deepEqual(
        messages.map((m) => Number(m.payload.toString())),
        Array.from({ length: n }, (_, i) => i),
      );
      await Promise.all([sub.client.endAsync(), pub.client.endAsync()]);
    });
  }
});
