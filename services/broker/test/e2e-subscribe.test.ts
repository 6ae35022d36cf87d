// End to end: SUBSCRIBE/UNSUBSCRIBE with wildcards and $-topics, overlapping subscriptions
// (3.1.1 one copy at the highest QoS; 5.0 subscription identifiers), v5 subscription options
// (no local, retain as published, retain handling) and shared subscriptions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IPublishPacket, ISubackPacket } from 'mqtt-packet';
import { collect, collectFor, connect, uid } from './helpers/clients.js';
import { suiteSkipReason } from './helpers/processes.js';
import { RawClient } from './helpers/raw.js';
import { oursOnly, useTarget } from './helpers/suite.js';

describe('e2e subscribe', { skip: suiteSkipReason() }, () => {
  const broker = useTarget();

  it('+ and # match as the spec says, and UNSUBSCRIBE stops delivery', async () => {
    const root = uid('w');
    const sub = await connect(broker().url, { clientId: uid('s') });
    const pub = await connect(broker().url, { clientId: uid('p') });
    await sub.client.subscribeAsync([`${root}/+/c`, `${root}/x/#`], { qos: 1 });
    const topics = [`${root}/b/c`, `${root}/b/c/d`, `${root}/x`, `${root}/x/y/z`, `${root}//c`, `${root}/b/d`];
    // Windows open before publishing: a fast broker delivers before the publisher's PUBACK returns.
    const window = collectFor(sub.client, 600);
    for (const t of topics) await pub.client.publishAsync(t, t, { qos: 1 });
    const got = await window;
    // a/x/# matches a/x itself [MQTT-4.7.1-2]; + matches an empty level.
    assert.deepEqual(got.map((m) => m.topic).sort(), [`${root}//c`, `${root}/b/c`, `${root}/x`, `${root}/x/y/z`].sort());
    await sub.client.unsubscribeAsync(`${root}/+/c`);
    const afterWindow = collectFor(sub.client, 600);
    await pub.client.publishAsync(`${root}/b/c`, 'after', { qos: 1 });
    await pub.client.publishAsync(`${root}/x/q`, 'still', { qos: 1 });
    const after = await afterWindow;
    assert.deepEqual(after.map((m) => m.topic), [`${root}/x/q`]);
    await Promise.all([sub.client.endAsync(), pub.client.endAsync()]);
  });

  it('topics starting with $ are not matched by leading wildcards [MQTT-4.7.2-1]', async () => {
    const name = uid('d');
    const wild = await connect(broker().url, { clientId: uid('s') });
    const dollar = await connect(broker().url, { clientId: uid('s') });
    const pub = await connect(broker().url, { clientId: uid('p') });
    await wild.client.subscribeAsync(['#', `+/${name}`], { qos: 0 });
    await dollar.client.subscribeAsync(`$${name}/#`, { qos: 0 });
    const wildGot = collectFor(wild.client, 700);
    const dollarGot = collect(dollar.client, 1, 3000);
    await pub.client.publishAsync(`$${name}/a`, 'dollar', { qos: 1 });
    const [d] = await dollarGot;
    assert.equal(d.topic, `$${name}/a`);
    const leaked = (await wildGot).filter((m) => m.topic.startsWith('$'));
    assert.deepEqual(leaked.map((m) => m.topic), []);
    await Promise.all([wild.client.endAsync(), dollar.client.endAsync(), pub.client.endAsync()]);
  });

  it('v3.1.1: overlapping subscriptions deliver one copy at the highest QoS [MQTT-3.3.5-1]', async () => {
    const root = uid('ov');
    const sub = await connect(broker().url, { clientId: uid('s') });
    const pub = await connect(broker().url, { clientId: uid('p') });
    await sub.client.subscribeAsync(`${root}/#`, { qos: 0 });
    await sub.client.subscribeAsync(`${root}/+`, { qos: 2 });
    const window = collectFor(sub.client, 700);
    await pub.client.publishAsync(`${root}/a`, 'x', { qos: 2 });
    const got = await window;
    assert.deepEqual(got.map((m) => [m.topic, m.packet.qos]), [[`${root}/a`, 2]]);
    await Promise.all([sub.client.endAsync(), pub.client.endAsync()]);
  });

  it('v5: overlapping subscriptions carry every matching Subscription Identifier [MQTT-3.3.4-3]', async () => {
    const root = uid('sid');
    const sub = await connect(broker().url, { protocolVersion: 5, clientId: uid('s') });
    const pub = await connect(broker().url, { protocolVersion: 5, clientId: uid('p') });
    await sub.client.subscribeAsync(`${root}/#`, { qos: 1, properties: { subscriptionIdentifier: 11 } });
    await sub.client.subscribeAsync(`${root}/+`, { qos: 1, properties: { subscriptionIdentifier: 22 } });
    await sub.client.subscribeAsync(`${root}/nomatch`, { qos: 1, properties: { subscriptionIdentifier: 33 } });
    const window = collectFor(sub.client, 700);
    await pub.client.publishAsync(`${root}/a`, 'x', { qos: 1 });
    const got = await window;
    assert.ok(got.length >= 1 && got.length <= 2, `one or two copies, got ${got.length}`);
    const ids = got.flatMap((m) => {
      const id = m.packet.properties?.subscriptionIdentifier;
      return id === undefined ? [] : Array.isArray(id) ? id : [id];
    });
    assert.deepEqual(ids.sort(), [11, 22]);
    await Promise.all([sub.client.endAsync(), pub.client.endAsync()]);
  });

  it('v5: no local: a client does not receive its own publications [MQTT-3.8.3-3]', async () => {
    const topic = uid('nl/');
    const self = await connect(broker().url, { protocolVersion: 5, clientId: uid('s') });
    const other = await connect(broker().url, { protocolVersion: 5, clientId: uid('p') });
    await self.client.subscribeAsync(topic, { qos: 1, nl: true });
    const window = collectFor(self.client, 700);
    await self.client.publishAsync(topic, 'mine', { qos: 1 });
    await other.client.publishAsync(topic, 'theirs', { qos: 1 });
    const got = await window;
    assert.deepEqual(got.map((m) => m.payload.toString()), ['theirs']);
    await Promise.all([self.client.endAsync(), other.client.endAsync()]);
  });

  it('v5: retain as published keeps the RETAIN flag on live messages; otherwise it is cleared [MQTT-3.3.1-12/13]', async () => {
    const root = uid('rap');
    const sub = await connect(broker().url, { protocolVersion: 5, clientId: uid('s') });
    const pub = await connect(broker().url, { protocolVersion: 5, clientId: uid('p') });
    await sub.client.subscribeAsync(`${root}/keep`, { qos: 1, rap: true });
    await sub.client.subscribeAsync(`${root}/clear`, { qos: 1, rap: false });
    const got = collect(sub.client, 2, 3000);
    await pub.client.publishAsync(`${root}/keep`, 'k', { qos: 1, retain: true });
    await pub.client.publishAsync(`${root}/clear`, 'c', { qos: 1, retain: true });
    const byTopic = new Map((await got).map((m) => [m.topic, m.packet.retain]));
    assert.equal(byTopic.get(`${root}/keep`), true);
    assert.equal(byTopic.get(`${root}/clear`), false);
    // clean up the retained messages
    await pub.client.publishAsync(`${root}/keep`, '', { qos: 1, retain: true });
    await pub.client.publishAsync(`${root}/clear`, '', { qos: 1, retain: true });
    await Promise.all([sub.client.endAsync(), pub.client.endAsync()]);
  });

  it('v5: retain handling 0 sends retained on every subscribe, 1 only for a new subscription, 2 never [MQTT-3.3.1-9/10/11]', async () => {
    const topic = uid('rh/');
    const pub = await connect(broker().url, { protocolVersion: 5, clientId: uid('p') });
    await pub.client.publishAsync(topic, 'kept', { qos: 1, retain: true });
    const counts: number[][] = [];
    for (const rh of [0, 1, 2] as const) {
      const sub = await connect(broker().url, { protocolVersion: 5, clientId: uid('s') });
      const perSubscribe: number[] = [];
      for (let i = 0; i < 2; i++) {
        const window = collectFor(sub.client, 500);
        await sub.client.subscribeAsync(topic, { qos: 1, rh });
        const got = await window;
        assert.ok(got.every((m) => m.packet.retain), 'retained messages sent on subscribe carry RETAIN=1 [MQTT-3.3.1-8]');
        perSubscribe.push(got.length);
      }
      counts.push(perSubscribe);
      await sub.client.endAsync();
    }
    assert.deepEqual(counts, [[1, 1], [1, 0], [0, 0]]);
    await pub.client.publishAsync(topic, '', { qos: 1, retain: true });
    await pub.client.endAsync();
  });

  it('shared subscription: each message goes to exactly one member, spread round robin [MQTT-4.8.2-4]', async () => {
    const root = uid('sh');
    const group = uid('g');
    const members = await Promise.all([0, 1, 2].map(() => connect(broker().url, { protocolVersion: 5, clientId: uid('m') })));
    const plain = await connect(broker().url, { protocolVersion: 5, clientId: uid('n') });
    for (const m of members) await m.client.subscribeAsync(`$share/${group}/${root}/#`, { qos: 1 });
    await plain.client.subscribeAsync(`${root}/#`, { qos: 1 });
    const windows = members.map((m) => collectFor(m.client, 1500));
    const plainGot = collect(plain.client, 30, 5000);
    const pub = await connect(broker().url, { protocolVersion: 5, clientId: uid('p') });
    for (let i = 0; i < 30; i++) await pub.client.publishAsync(`${root}/t`, String(i), { qos: 1 });
    const perMember = await Promise.all(windows);
    const all = perMember.flatMap((got) => got.map((m) => Number(m.payload.toString())));
    assert.deepEqual(all.sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i), 'every message exactly once across the group');
    for (const got of perMember) assert.ok(got.length >= 5, `each member gets a share: ${perMember.map((g) => g.length)}`);
    assert.equal((await plainGot).length, 30, 'a non-shared subscriber still gets every message');
    await Promise.all([...members, plain, pub].map((m) => m.client.endAsync()));
  });

  it('shared subscription: a member\'s unacknowledged messages go to another member when it disconnects', oursOnly('Mosquitto drops the in-flight messages of a clean member'), async () => {
    const topic = uid('shu/');
    const group = uid('g');
    const lazy = await RawClient.connected(broker().ports.mqtt, 5, { clientId: uid('lazy') });
    lazy.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `$share/${group}/${topic}`, qos: 1 }] });
    await lazy.next('suback');
    const good = await connect(broker().url, { protocolVersion: 5, clientId: uid('good') });
    await good.client.subscribeAsync(`$share/${group}/${topic}`, { qos: 1 });
    const goodGot = collect(good.client, 10, 6000);
    const pub = await connect(broker().url, { protocolVersion: 5, clientId: uid('p') });
    for (let i = 0; i < 10; i++) await pub.client.publishAsync(topic, String(i), { qos: 1 });
    const lazyGot = (await lazy.drainFor(300)).filter((p) => p.cmd === 'publish') as IPublishPacket[];
    assert.ok(lazyGot.length > 0, 'the lazy member got a share');
    lazy.destroy(); // never acknowledged
    const got = await goodGot;
    assert.deepEqual(got.map((m) => Number(m.payload.toString())).sort((a, b) => a - b), Array.from({ length: 10 }, (_, i) => i));
    await Promise.all([good.client.endAsync(), pub.client.endAsync()]);
  });

  it('v5: a shared subscription gets no retained messages on subscribe (5.0 section 4.8.2)', oursOnly('Mosquitto sends retained messages to shared subscribers'), async () => {
    const topic = uid('shr/');
    const pub = await connect(broker().url, { protocolVersion: 5, clientId: uid('p') });
    await pub.client.publishAsync(topic, 'old', { qos: 1, retain: true });
    const member = await connect(broker().url, { protocolVersion: 5, clientId: uid('m') });
    const window = collectFor(member.client, 600);
    await member.client.subscribeAsync(`$share/${uid('g')}/${topic}`, { qos: 1 });
    assert.equal((await window).length, 0);
    await pub.client.publishAsync(topic, '', { qos: 1, retain: true });
    await Promise.all([member.client.endAsync(), pub.client.endAsync()]);
  });

  it('invalid filters get a failure code in SUBACK: v3.1.1 0x80, v5 0x8F', oursOnly('Mosquitto disconnects on an invalid filter'), async () => {
    for (const version of [4, 5] as const) {
      const raw = await RawClient.connected(broker().ports.mqtt, version, { clientId: uid('bad') });
      raw.send({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: 'a/#/b', qos: 1 }, { topic: uid('ok/'), qos: 1 }] });
      const suback = (await raw.next('suback')) as ISubackPacket;
      assert.deepEqual(suback.granted, [version === 5 ? 0x8f : 0x80, 1]);
      raw.destroy();
    }
  });
});
