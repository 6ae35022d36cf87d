// End to end, MQTT 5 features: topic aliases both ways, Receive Maximum both ways, Maximum
// Packet Size both ways, message expiry, payload format indicator, properties passed through,
// request problem information, enhanced-auth method refusal, server DISCONNECT reason codes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IConnackPacket, IDisconnectPacket, IPubackPacket, IPublishPacket } from 'mqtt-packet';
import { collect, collectFor, connect, uid } from './helpers/clients.js';
import { sleep, suiteSkipReason } from './helpers/processes.js';
import { RawClient } from './helpers/raw.js';
import { isMosquitto, oursOnly, useTarget } from './helpers/suite.js';

const MAX_PACKET = 2048;

describe('e2e MQTT 5', { skip: suiteSkipReason() }, () => {
  const broker = useTarget({ env: { MAX_PACKET_SIZE: String(MAX_PACKET) }, mosquitto: [`max_packet_size ${MAX_PACKET}`] });

  it('CONNACK advertises Maximum Packet Size, Receive Maximum and Topic Alias Maximum', async () => {
    const raw = await RawClient.open(broker().ports.mqtt, 5);
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: uid('c') });
    const connack = (await raw.next('connack')) as IConnackPacket;
    assert.equal(connack.reasonCode, 0);
    assert.equal(connack.properties?.maximumPacketSize, MAX_PACKET);
    const receiveMaximum = connack.properties?.receiveMaximum ?? 65535;
    assert.ok(receiveMaximum >= 1);
    assert.ok((connack.properties?.topicAliasMaximum ?? 0) >= 1, 'inbound topic aliases enabled');
    raw.destroy();
  });

  it('inbound topic alias: a PUBLISH with an empty topic and a known alias goes to the aliased topic [MQTT-3.3.2-12]', async () => {
    const topic = uid('ta/');
    const sub = await connect(broker().url, { protocolVersion: 5, clientId: uid('s') });
    await sub.client.subscribeAsync(topic, { qos: 1 });
    const got = collect(sub.client, 3, 3000);
    const raw = await RawClient.connected(broker().ports.mqtt, 5, { clientId: uid('p') });
    raw.send({ cmd: 'publish', topic, payload: Buffer.from('1'), qos: 1, messageId: 1, retain: false, dup: false, properties: { topicAlias: 1 } });
    raw.send({ cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 1, messageId: 2, retain: false, dup: false, properties: { topicAlias: 1 } });
    raw.send({ cmd: 'publish', topic: '', payload: Buffer.from('3'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
    const messages = await got;
    assert.deepEqual(messages.map((m) => [m.topic, m.payload.toString()]), [[topic, '1'], [topic, '2'], [topic, '3']]);
    raw.destroy();
    await sub.client.endAsync();
  });

  it('outbound topic alias: every PUBLISH resolves to its topic and aliases stay within the client maximum [MQTT-3.3.2-9]', async () => {
    const topic = uid('tao/');
    const raw = await RawClient.connected(broker().ports.mqtt, 5, { clientId: uid('s'), properties: { topicAliasMaximum: 2 } });
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `${topic}/#`, qos: 0 }] });
    await raw.next('suback');
    const pub = await connect(broker().url, { protocolVersion: 5, clientId: uid('p') });
    const sent = [`${topic}/a`, `${topic}/a`, `${topic}/b`, `${topic}/a`, `${topic}/c`, `${topic}/c`, `${topic}/a`];
    for (const t of sent) await pub.client.publishAsync(t, t, { qos: 1 });
    const aliases = new Map<number, string>();
    const resolved: string[] = [];
    let usedAlias = false;
    for (let i = 0; i < sent.length; i++) {
      const p = (await raw.next('publish', 3000)) as IPublishPacket;
      const alias = p.properties?.topicAlias;
      if (alias !== undefined) {
        assert.ok(alias >= 1 && alias <= 2, `alias ${alias} within the client's Topic Alias Maximum 2`);
        if (p.topic !== '') aliases.set(alias, p.topic);
        else usedAlias = true;
      }
      resolved.push(p.topic !== '' ? p.topic : (aliases.get(alias ?? -1) ?? '<unknown alias>'));
      assert.equal(p.payload.toString(), resolved[i], 'payload names the topic it was published to');
    }
    assert.deepEqual(resolved, sent);
    if (!isMosquitto()) assert.equal(usedAlias, true, 'our broker uses outbound aliases for repeated topics');
    raw.destroy();
    await pub.client.endAsync();
  });

  it('outbound Receive Maximum: never more unacknowledged QoS 1 than the client allows [MQTT-3.3.4-7]', oursOnly('Mosquitto 2.0.11 sends 2 more after one PUBACK: 3 in flight with Receive Maximum 2'), async () => {
    const topic = uid('rm/');
    const raw = await RawClient.connected(broker().ports.mqtt, 5, { clientId: uid('s'), properties: { receiveMaximum: 2 } });
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
    await raw.next('suback');
    const pub = await connect(broker().url, { protocolVersion: 5, clientId: uid('p') });
    for (let i = 0; i < 5; i++) await pub.client.publishAsync(topic, String(i), { qos: 1 });
    const first = (await raw.drainFor(700)).filter((p) => p.cmd === 'publish') as IPublishPacket[];
    assert.deepEqual(first.map((p) => p.payload.toString()), ['0', '1'], 'two in flight, the rest queued');
    raw.send({ cmd: 'puback', messageId: first[0].messageId!, reasonCode: 0 });
    const next = (await raw.drainFor(500)).filter((p) => p.cmd === 'publish') as IPublishPacket[];
    assert.deepEqual(next.map((p) => p.payload.toString()), ['2'], 'one acknowledgement releases one message');
    raw.send({ cmd: 'puback', messageId: first[1].messageId!, reasonCode: 0 });
    raw.send({ cmd: 'puback', messageId: next[0].messageId!, reasonCode: 0 });
    const rest = (await raw.drainFor(500)).filter((p) => p.cmd === 'publish') as IPublishPacket[];
    assert.deepEqual(rest.map((p) => p.payload.toString()), ['3', '4']);
    raw.destroy();
    await pub.client.endAsync();
  });

  it('outbound Maximum Packet Size: a message larger than the client allows is not sent to it [MQTT-3.1.2-25]', async () => {
    const topic = uid('mps/');
    const raw = await RawClient.connected(broker().ports.mqtt, 5, { clientId: uid('s'), properties: { maximumPacketSize: 200 } });
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
    await raw.next('suback');
    const pub = await connect(broker().url, { protocolVersion: 5, clientId: uid('p') });
    await pub.client.publishAsync(topic, 'x'.repeat(500), { qos: 1 });
    await pub.client.publishAsync(topic, 'small', { qos: 1 });
    const got = (await raw.drainFor(700)).filter((p) => p.cmd === 'publish') as IPublishPacket[];
    assert.deepEqual(got.map((p) => p.payload.toString()), ['small']);
    assert.equal(raw.isClosed, false);
    raw.destroy();
    await pub.client.endAsync();
  });

  it('inbound Maximum Packet Size: a larger packet gets DISCONNECT 0x95 and the connection closes [MQTT-3.2.2-15]', async () => {
    const raw = await RawClient.connected(broker().ports.mqtt, 5, { clientId: uid('big') });
    raw.send({ cmd: 'publish', topic: 'big', payload: Buffer.alloc(MAX_PACKET + 100, 1), qos: 0, retain: false, dup: false });
    assert.equal(await raw.closedWithin(3000), true);
    const disconnect = raw.received.find((p) => p.cmd === 'disconnect') as IDisconnectPacket | undefined;
    assert.equal(disconnect?.reasonCode, 0x95, `DISCONNECT 0x95 Packet too large; got ${JSON.stringify(raw.received)}`);
  });

  it('inbound Receive Maximum exceeded: DISCONNECT 0x93 [MQTT-3.3.4-9]', oursOnly('Mosquitto 2.0.11 silently drops the excess'), async () => {
    const raw = await RawClient.open(broker().ports.mqtt, 5);
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: uid('rmx') });
    const connack = (await raw.next('connack')) as IConnackPacket;
    const receiveMaximum = connack.properties?.receiveMaximum ?? 65535;
    assert.ok(receiveMaximum <= 10_000, `receive maximum ${receiveMaximum} small enough to exceed in a test`);
    // QoS 2 without PUBREL stays unacknowledged: one more than allowed is a violation.
    for (let i = 1; i <= receiveMaximum + 1; i++) {
      raw.send({ cmd: 'publish', topic: uid('rmx/'), payload: Buffer.from('x'), qos: 2, messageId: i, retain: false, dup: false });
    }
    assert.equal(await raw.closedWithin(3000), true);
    const disconnect = raw.received.find((p) => p.cmd === 'disconnect') as IDisconnectPacket | undefined;
    assert.equal(disconnect?.reasonCode, 0x93, 'Receive Maximum exceeded');
  });

  it('message expiry: a queued message past its expiry is not delivered; others carry the remaining interval [MQTT-3.3.2-5/6]', async () => {
    const clientId = uid('mx');
    const topic = uid('mx/');
    const sub = await connect(broker().url, { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
    await sub.client.subscribeAsync(topic, { qos: 1 });
    await sub.client.endAsync();
    const pub = await connect(broker().url, { protocolVersion: 5, clientId: uid('p') });
    await pub.client.publishAsync(topic, 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.client.publishAsync(topic, 'long', { qos: 1, properties: { messageExpiryInterval: 60 } });
    await sleep(2200);
    // A raw client: MQTT.js may emit queued messages before a listener can be attached.
    const back = await RawClient.connected(broker().ports.mqtt, 5, { clientId, clean: false, properties: { sessionExpiryInterval: 0 } });
    const got = (await back.drainFor(700)).filter((p) => p.cmd === 'publish') as IPublishPacket[];
    assert.deepEqual(got.map((m) => m.payload.toString()), ['long']);
    const left = got[0].properties?.messageExpiryInterval ?? 0;
    assert.ok(left >= 55 && left <= 58, `remaining expiry ${left}`);
    back.destroy();
    await pub.client.endAsync();
  });

  it('Payload Format Indicator 1 with invalid UTF-8: PUBACK or DISCONNECT 0x99, not forwarded [MQTT-3.3.2-4]', oursOnly('Mosquitto 2.0.11 does not validate the payload'), async () => {
    const topic = uid('pfi/');
    const sub = await connect(broker().url, { protocolVersion: 5, clientId: uid('s') });
    await sub.client.subscribeAsync(topic, { qos: 1 });
    const window = collectFor(sub.client, 800);
    const raw = await RawClient.connected(broker().ports.mqtt, 5, { clientId: uid('p') });
    raw.send({ cmd: 'publish', topic, payload: Buffer.from([0xc3, 0x28]), qos: 1, messageId: 9, retain: false, dup: false, properties: { payloadFormatIndicator: true } });
    const packets = await raw.drainFor(700);
    const puback = packets.find((p) => p.cmd === 'puback') as IPubackPacket | undefined;
    const disconnect = packets.find((p) => p.cmd === 'disconnect') as IDisconnectPacket | undefined;
    assert.ok(puback?.reasonCode === 0x99 || disconnect?.reasonCode === 0x99, `0x99 Payload format invalid; got ${JSON.stringify(packets)}`);
    assert.equal((await window).length, 0, 'not forwarded');
    raw.destroy();
    await sub.client.endAsync();
  });

  it('properties pass through unchanged: user properties, content type, response topic, correlation data, payload format [MQTT-3.3.2-15..20]', async () => {
    const topic = uid('props/');
    const sub = await connect(broker().url, { protocolVersion: 5, clientId: uid('s') });
    await sub.client.subscribeAsync(topic, { qos: 1 });
    const got = collect(sub.client, 1, 3000);
    const pub = await connect(broker().url, { protocolVersion: 5, clientId: uid('p') });
    await pub.client.publishAsync(topic, 'héllo', {
      qos: 1,
      properties: {
        payloadFormatIndicator: true,
        contentType: 'text/plain; charset=utf-8',
        responseTopic: 'reply/here',
        correlationData: Buffer.from([0, 1, 2, 0xff]),
        userProperties: { a: '1', b: ['x', 'y'] },
      },
    });
    const [m] = await got;
    const p = m.packet.properties ?? {};
    assert.equal(p.payloadFormatIndicator, true);
    assert.equal(p.contentType, 'text/plain; charset=utf-8');
    assert.equal(p.responseTopic, 'reply/here');
    assert.deepEqual([...(p.correlationData ?? [])], [0, 1, 2, 0xff]);
    assert.deepEqual({ ...p.userProperties }, { a: '1', b: ['x', 'y'] }, 'order and duplicates kept [MQTT-3.3.2-18]');
    assert.equal(m.payload.toString(), 'héllo');
    await Promise.all([sub.client.endAsync(), pub.client.endAsync()]);
  });

  it('Request Problem Information 0: no Reason String or User Property on a failed SUBACK [MQTT-3.1.2-29]', oursOnly('Mosquitto disconnects on an invalid filter'), async () => {
    const raw = await RawClient.connected(broker().ports.mqtt, 5, { clientId: uid('rpi'), properties: { requestProblemInformation: false } });
    raw.send({ cmd: 'subscribe', messageId: 4, subscriptions: [{ topic: 'a/#/b', qos: 1 }] });
    const suback = (await raw.next('suback')) as { granted: number[]; properties?: { reasonString?: string; userProperties?: object } };
    assert.deepEqual(suback.granted, [0x8f]);
    assert.equal(suback.properties?.reasonString, undefined);
    assert.equal(suback.properties?.userProperties, undefined);
    raw.destroy();
  });

  it('enhanced authentication with an unsupported method is refused with CONNACK 0x8C [MQTT-4.12.0-1]', async () => {
    // No enhanced authenticator is configurable from the CLI, so every method is unsupported.
    const raw = await RawClient.open(broker().ports.mqtt, 5);
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: uid('ea'), properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: Buffer.from('n,,n=user,r=abc') } });
    const connack = (await raw.next('connack')) as IConnackPacket;
    assert.equal(connack.reasonCode, 0x8c, 'Bad authentication method');
    assert.equal(await raw.closedWithin(3000), true);
  });

  it('a client Session Expiry change from 0 to non-zero at DISCONNECT is a protocol error 0x82 [MQTT-3.14.2-2]', async () => {
    const raw = await RawClient.connected(broker().ports.mqtt, 5, { clientId: uid('sx') });
    raw.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    assert.equal(await raw.closedWithin(3000), true);
    const disconnect = raw.received.find((p) => p.cmd === 'disconnect') as IDisconnectPacket | undefined;
    assert.equal(disconnect?.reasonCode, 0x82);
  });
});
