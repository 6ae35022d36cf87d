// End to end: configurable limits as a user meets them (max connections, queued messages with
// drop oldest/newest, topic length/levels, subscriptions per client, publish rate) and the
// $SYS topics. Each describe block runs its own broker with its own settings.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { metricsText, metricValue, sleep, waitUntil } from '@mqtt-broker/test-support';
import mqttPacket from 'mqtt-packet';
import type { IPubackPacket, IPublishPacket, ISubackPacket } from 'mqtt-packet';
import { collect, collectFor, connect, connectRefused, uid } from './helpers/clients.js';
import { suiteSkipReason } from './helpers/processes.js';
import { RawClient } from './helpers/raw.js';
import { isMosquitto, oursOnly, useTarget } from './helpers/suite.js';

const skip = suiteSkipReason();

describe('e2e limit: max connections', { skip }, () => {
  const broker = useTarget({ env: { MAX_CONNECTIONS: '3' }, mosquittoListener: ['max_connections 3'] });

  for (const protocolVersion of [4, 5] as const) {
    it(`v${protocolVersion}: the connection over MAX_CONNECTIONS is refused; a slot freed is reusable`, oursOnly('Mosquitto 2.0.11 max_connections 3 accepts a 4th connection, then closes without CONNACK'), async () => {
      const clients = await Promise.all([0, 1, 2].map(() => connect(broker().url, { protocolVersion, clientId: uid('mc') })));
      const code = await connectRefused(broker().url, { protocolVersion, clientId: uid('over') });
      assert.equal(code, protocolVersion === 5 ? 0x97 : 3, 'Quota exceeded / Server unavailable');
      await clients[0].client.endAsync();
      // the slot is free once the broker counts 2 connections (polled: its close may lag on a loaded machine)
      await waitUntil(async () => metricValue(await metricsText(broker().ports.http), 'mqtt_connected_clients') <= 2, 10_000, 'connection closed on the broker');
      const again = await connect(broker().url, { protocolVersion, clientId: uid('again') });
      await Promise.all([again, clients[1], clients[2]].map((c) => c.client.endAsync()));
    });
  }
});

for (const overflow of ['drop_oldest', 'drop_newest'] as const) {
  const mosquittoDiffers = overflow === 'drop_oldest';
  describe(`e2e limit: max queued messages, ${overflow}`, { skip }, () => {
    const broker = useTarget({ env: { MAX_QUEUED_MESSAGES: '3', QUEUE_OVERFLOW: overflow }, mosquitto: ['max_queued_messages 3'] });

    it(`an offline persistent session keeps ${overflow === 'drop_oldest' ? 'the newest' : 'the oldest'} 3 of 6 messages`, mosquittoDiffers ? oursOnly('Mosquitto always drops the newest') : {}, async () => {
      const clientId = uid('mq');
      const topic = uid('mq/');
      const first = await RawClient.connected(broker().ports.mqtt, 4, { clientId, clean: false });
      first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
      await first.next('suback');
      first.send({ cmd: 'disconnect' });
      await first.closedWithin(2000);
      const pub = await connect(broker().url, { clientId: uid('p') });
      for (let i = 1; i <= 6; i++) await pub.client.publishAsync(topic, String(i), { qos: 1 });
      const back = await RawClient.connected(broker().ports.mqtt, 4, { clientId, clean: false });
      const got = ((await back.drainFor(800)).filter((p) => p.cmd === 'publish') as IPublishPacket[]).map((p) => p.payload.toString());
      assert.deepEqual(got, overflow === 'drop_oldest' ? ['4', '5', '6'] : ['1', '2', '3']);
      back.destroy();
      await pub.client.endAsync();
    });
  });
}

describe('e2e limit: topic length and levels, subscriptions per client', { skip }, () => {
  const broker = useTarget({ env: { MAX_TOPIC_LENGTH: '40', MAX_TOPIC_LEVELS: '4', MAX_SUBSCRIPTIONS_PER_CLIENT: '3' } });
  const why = 'Mosquitto has no such limits';

  for (const version of [4, 5] as const) {
    it(`v${version}: a filter over the length or level limit is refused in SUBACK`, oursOnly(why), async () => {
      const raw = await RawClient.connected(broker().ports.mqtt, version, { clientId: uid('tl') });
      raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `a/${'x'.repeat(60)}`, qos: 1 }, { topic: 'a/b/c/d/e', qos: 1 }, { topic: 'a/b/c/d', qos: 1 }] });
      const suback = (await raw.next('suback')) as ISubackPacket;
      const refused = version === 5 ? 0x8f : 0x80;
      assert.deepEqual(suback.granted, [refused, refused, 1]);
      raw.destroy();
    });

    it(`v${version}: a PUBLISH to a topic over the limits is not delivered${version === 5 ? ' (0x90 Topic Name invalid)' : ''}`, oursOnly(why), async () => {
      const sub = await connect(broker().url, { protocolVersion: 5, clientId: uid('s') });
      await sub.client.subscribeAsync('a/#', { qos: 1 });
      const window = collectFor(sub.client, 800);
      const raw = await RawClient.connected(broker().ports.mqtt, version, { clientId: uid('tp') });
      raw.send({ cmd: 'publish', topic: 'a/b/c/d/e', payload: Buffer.from('deep'), qos: 1, messageId: 2, retain: false, dup: false });
      if (version === 5) {
        const packets = await raw.drainFor(500);
        const puback = packets.find((p) => p.cmd === 'puback') as IPubackPacket | undefined;
        const disconnect = packets.find((p) => p.cmd === 'disconnect') as { reasonCode?: number } | undefined;
        assert.ok(puback?.reasonCode === 0x90 || disconnect?.reasonCode === 0x90, `0x90; got ${JSON.stringify(packets)}`);
      }
      assert.equal((await window).length, 0);
      raw.destroy();
      await sub.client.endAsync();
    });

    it(`v${version}: subscriptions beyond MAX_SUBSCRIPTIONS_PER_CLIENT are refused (${version === 5 ? '0x97' : '0x80'})`, oursOnly(why), async () => {
      const raw = await RawClient.connected(broker().ports.mqtt, version, { clientId: uid('ms') });
      raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: ['s/1', 's/2', 's/3', 's/4'].map((topic) => ({ topic, qos: 0 as const })) });
      const suback = (await raw.next('suback')) as ISubackPacket;
      assert.deepEqual(suback.granted, [0, 0, 0, version === 5 ? 0x97 : 0x80]);
      // Re-subscribing an existing filter replaces it and does not count twice.
      raw.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 's/1', qos: 1 }] });
      assert.deepEqual(((await raw.next('suback')) as ISubackPacket).granted, [1]);
      raw.destroy();
    });
  }
});

describe('e2e limit: publish rate per client', { skip }, () => {
  const broker = useTarget({ env: { PUBLISH_RATE_PER_CLIENT: '100' } });

  it(
    'a client publishing faster than PUBLISH_RATE_PER_CLIENT is slowed down, not cut off, and loses nothing',
    oursOnly('Mosquitto has no publish rate limit'),
    async () => {
    const topic = uid('rate/');
    const sub = await connect(broker().url, { clientId: uid('s') });
    await sub.client.subscribeAsync(topic, { qos: 1 });
    const n = 500;
    const got = collect(sub.client, n, 15_000);
    const raw = await RawClient.connected(broker().ports.mqtt, 4, { clientId: uid('fast') });
    const started = Date.now();
    for (let i = 0; i < n; i++) raw.send({ cmd: 'publish', topic, payload: Buffer.from(String(i)), qos: 0, retain: false, dup: false });
    const messages = await got;
    const elapsed = Date.now() - started;
    assert.deepEqual(messages.map((m) => Number(m.payload.toString())), Array.from({ length: n }, (_, i) => i));
    // At 100/s, 500 messages need >= 4 s with a token bucket (burst 100) and >= 3 s with
    // fixed one-second windows; without a limit they take a few milliseconds.
    assert.ok(elapsed >= 3000, `500 messages at 100/s took ${elapsed} ms`);
    assert.equal(raw.isClosed, false, 'the publisher is still connected');
    raw.destroy();
    await sub.client.endAsync();
    },
  );
});

describe('e2e $SYS topics', { skip }, () => {
  const broker = useTarget({ env: { SYS_INTERVAL_SECONDS: '1' }, mosquitto: ['sys_interval 1'] });

  it('$SYS/broker/... topics are published periodically (version, uptime, clients connected)', async () => {
    const sub = await connect(broker().url, { clientId: uid('sys') });
    const window = collectFor(sub.client, 2500);
    await sub.client.subscribeAsync('$SYS/#', { qos: 0 });
    const got = await window;
    const topics = new Set(got.map((m) => m.topic));
    for (const t of ['$SYS/broker/version', '$SYS/broker/uptime', '$SYS/broker/clients/connected']) {
      assert.ok(topics.has(t), `${t} published; got ${[...topics].slice(0, 20).join(', ')}`);
    }
    const connected = got.filter((m) => m.topic === '$SYS/broker/clients/connected').at(-1);
    assert.ok(Number(connected?.payload.toString()) >= 1, 'counts this client');
    await sub.client.endAsync();
  });

  it('a client cannot publish into $SYS', async () => {
    const sub = await connect(broker().url, { clientId: uid('sys') });
    await sub.client.subscribeAsync('$SYS/broker/fake', { qos: 0 });
    const window = collectFor(sub.client, 700);
    const pub = await connect(broker().url, { protocolVersion: 5, clientId: uid('p') });
    await pub.client.publishAsync('$SYS/broker/fake', 'forged', { qos: 0 });
    assert.equal((await window).length, 0);
    await Promise.all([sub.client.endAsync(), pub.client.endAsync()]);
  });
});

describe('e2e limit: a healthy subscriber beside subscribers that stopped reading', { skip }, () => {
  const broker = useTarget({ env: { MAX_QUEUED_MESSAGES: '1000' }, mosquitto: ['max_queued_messages 1000'] });

  it('keeps receiving while publishers flood 1 KiB QoS 0; what the stalled ones cannot take is dropped and counted', async () => {
    const root = uid('slow');
    const stalled = await Promise.all(
      [0, 1].map(async () => {
        const c = await RawClient.connected(broker().ports.mqtt, 4, { clientId: uid('stalled') });
        c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `${root}/#`, qos: 0 }] });
        await c.next('suback');
        c.socket.pause(); // stops reading: the broker's writes to it fill the socket buffers and stop
        return c;
      }),
    );
    const healthy = await connect(broker().url, { clientId: uid('healthy') });
    await healthy.client.subscribeAsync(`${root}/#`, { qos: 0 });
    const arrivals: number[] = [];
    healthy.client.on('message', () => arrivals.push(Date.now()));

    // 5 publishers write pre-encoded PUBLISH frames as fast as their sockets accept, for 4 s
    const frame = mqttPacket.generate({ cmd: 'publish', topic: `${root}/x`, payload: Buffer.alloc(1024, 0x61), qos: 0, retain: false, dup: false });
    const batch = Buffer.concat(Array.from({ length: 32 }, () => frame));
    const publishers = await Promise.all([0, 1, 2, 3, 4].map(() => RawClient.connected(broker().ports.mqtt, 4, { clientId: uid('flood') })));
    const until = Date.now() + 4000;
    await Promise.all(
      publishers.map(async (p) => {
        while (Date.now() < until && !p.socket.destroyed) {
          if (!p.socket.write(batch)) await Promise.race([once(p.socket, 'drain'), sleep(until - Date.now())]);
        }
      }),
    );
    const published = Date.now();
    const during = arrivals.filter((t) => t <= published);
    let longestGap = 0;
    for (let i = 1; i < during.length; i++) longestGap = Math.max(longestGap, during[i] - during[i - 1]);
    console.log(`# healthy subscriber: ${during.length} messages in 4 s of flooding, longest gap ${longestGap} ms`);
    assert.ok(during.length > 1000, `the healthy subscriber kept receiving (${during.length})`);
    // before the stall detection, the publishers were held 2 s at a time by each stalled subscriber
    assert.ok(longestGap < 1000, `no gap of a second or more at the healthy subscriber (longest ${longestGap} ms)`);
    if (!isMosquitto()) {
      const text = await metricsText(broker().ports.http);
      assert.ok(metricValue(text, 'mqtt_messages_dropped_total', '{qos="0",reason="client_slow"}') > 0, 'the stalled subscribers\u2019 overflow is counted as dropped');
      const queued = metricValue(text, 'mqtt_queued_messages');
      assert.ok(queued <= 3 * 1000, `and not held in memory beyond the queue bound of each subscriber (${queued} queued)`);
    }
    for (const c of [...stalled, ...publishers]) c.destroy();
    await healthy.client.endAsync();
  });
});
