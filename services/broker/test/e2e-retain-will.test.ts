// End to end: retained messages (store, replace, delete, wildcard lookup, expiry) and will
// messages (keep alive timeout, network loss, protocol error, not after DISCONNECT, v5 will
// delay and DISCONNECT 0x04).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collect, collectFor, connect, uid } from './helpers/clients.js';
import { sleep, suiteSkipReason } from './helpers/processes.js';
import { RawClient } from './helpers/raw.js';
import { useTarget } from './helpers/suite.js';

describe('e2e retained messages', { skip: suiteSkipReason() }, () => {
  const broker = useTarget();

  for (const protocolVersion of [4, 5] as const) {
    it(`v${protocolVersion}: retained message is stored, replaced, sent with RETAIN=1 on subscribe, deleted by an empty payload [MQTT-3.3.1-5/6/10]`, async () => {
      const topic = uid('ret/');
      const pub = await connect(broker().url, { protocolVersion, clientId: uid('p') });
      await pub.client.publishAsync(topic, 'first', { qos: 1, retain: true });
      await pub.client.publishAsync(topic, 'second', { qos: 1, retain: true });
      const a = await connect(broker().url, { protocolVersion, clientId: uid('s') });
      const got = collect(a.client, 1, 3000);
      await a.client.subscribeAsync(topic, { qos: 1 });
      const [message] = await got;
      assert.equal(message.payload.toString(), 'second', 'the newer retained message replaced the older');
      assert.equal(message.packet.retain, true);
      await pub.client.publishAsync(topic, '', { qos: 1, retain: true });
      const b = await connect(broker().url, { protocolVersion, clientId: uid('s') });
      const none = collectFor(b.client, 600);
      await b.client.subscribeAsync(topic, { qos: 1 });
      assert.equal((await none).length, 0, 'empty retained payload deleted the message');
      await Promise.all([pub.client.endAsync(), a.client.endAsync(), b.client.endAsync()]);
    });
  }

  it('wildcard subscribe receives every matching retained message, at min(QoS)', async () => {
    const root = uid('rw');
    const pub = await connect(broker().url, { clientId: uid('p') });
    for (const t of ['a', 'b/c', 'b/d']) await pub.client.publishAsync(`${root}/${t}`, t, { qos: 1, retain: true });
    const sub = await connect(broker().url, { clientId: uid('s') });
    const window = collectFor(sub.client, 700);
    await sub.client.subscribeAsync(`${root}/b/+`, { qos: 0 });
    const got = await window;
    assert.deepEqual(got.map((m) => [m.topic, m.packet.qos, m.packet.retain]).sort(), [
      [`${root}/b/c`, 0, true],
      [`${root}/b/d`, 0, true],
    ]);
    for (const t of ['a', 'b/c', 'b/d']) await pub.client.publishAsync(`${root}/${t}`, '', { qos: 1, retain: true });
    await Promise.all([pub.client.endAsync(), sub.client.endAsync()]);
  });

  it('v5: a retained message past its Message Expiry Interval is no longer sent [MQTT-3.3.2-5]', async () => {
    const root = uid('rx');
    const pub = await connect(broker().url, { protocolVersion: 5, clientId: uid('p') });
    await pub.client.publishAsync(`${root}/short`, 'short', { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    await pub.client.publishAsync(`${root}/long`, 'long', { qos: 1, retain: true, properties: { messageExpiryInterval: 100 } });
    await sleep(2200);
    const sub = await connect(broker().url, { protocolVersion: 5, clientId: uid('s') });
    const window = collectFor(sub.client, 700);
    await sub.client.subscribeAsync(`${root}/#`, { qos: 1 });
    const got = await window;
    assert.deepEqual(got.map((m) => m.topic), [`${root}/long`]);
    const left = got[0].packet.properties?.messageExpiryInterval ?? 0;
    assert.ok(left > 90 && left < 100, `expiry decremented by the time retained: ${left} [MQTT-3.3.2-6]`);
    await pub.client.publishAsync(`${root}/long`, '', { qos: 1, retain: true });
    await Promise.all([pub.client.endAsync(), sub.client.endAsync()]);
  });
});

describe('e2e wills', { skip: suiteSkipReason() }, () => {
  const broker = useTarget();

  async function watch(topic: string) {
    const watcher = await connect(broker().url, { protocolVersion: 5, clientId: uid('w') });
    await watcher.client.subscribeAsync(topic, { qos: 1 });
    return watcher.client;
  }

  it('network loss (socket destroyed) publishes the will, with retain as requested [MQTT-3.1.2-8]', async () => {
    const topic = uid('wl/');
    const watcher = await watch(topic);
    const raw = await RawClient.connected(broker().ports.mqtt, 4, { clientId: uid('c'), will: { topic, payload: Buffer.from('lost'), qos: 1, retain: true } });
    const got = collect(watcher, 1, 3000);
    raw.destroy();
    const [will] = await got;
    assert.equal(will.payload.toString(), 'lost');
    // The will was retained: a late subscriber sees it.
    const late = await connect(broker().url, { clientId: uid('late') });
    const lateGot = collect(late.client, 1, 3000);
    await late.client.subscribeAsync(topic, { qos: 1 });
    assert.equal((await lateGot)[0].payload.toString(), 'lost');
    await late.client.publishAsync(topic, '', { qos: 1, retain: true });
    await Promise.all([watcher.endAsync(), late.client.endAsync()]);
  });

  it('a protocol error publishes the will', async () => {
    const topic = uid('wp/');
    const watcher = await watch(topic);
    const raw = await RawClient.connected(broker().ports.mqtt, 4, { clientId: uid('c'), will: { topic, payload: Buffer.from('broken'), qos: 1, retain: false } });
    const got = collect(watcher, 1, 3000);
    raw.write([0x00, 0x00]); // packet type 0 is reserved: malformed
    assert.equal(await raw.closedWithin(3000), true);
    assert.equal((await got)[0].payload.toString(), 'broken');
    await watcher.endAsync();
  });

  for (const version of [4, 5] as const) {
    it(`v${version}: a normal DISCONNECT discards the will [MQTT-3.14.4-3]`, async () => {
      const topic = uid('wn/');
      const watcher = await watch(topic);
      const raw = await RawClient.connected(broker().ports.mqtt, version, { clientId: uid('c'), will: { topic, payload: Buffer.from('no'), qos: 1, retain: false } });
      const window = collectFor(watcher, 800);
      raw.send({ cmd: 'disconnect' });
      await raw.closedWithin(2000);
      assert.equal((await window).length, 0);
      await watcher.endAsync();
    });
  }

  it('v5: DISCONNECT 0x04 (with will message) publishes the will, with its properties', async () => {
    const topic = uid('w4/');
    const watcher = await watch(topic);
    const raw = await RawClient.connected(broker().ports.mqtt, 5, {
      clientId: uid('c'),
      will: { topic, payload: Buffer.from('{"bye":1}'), qos: 1, retain: false, properties: { contentType: 'application/json', userProperties: { k: 'v' } } },
    });
    const got = collect(watcher, 1, 3000);
    raw.send({ cmd: 'disconnect', reasonCode: 0x04 });
    const [will] = await got;
    assert.equal(will.payload.toString(), '{"bye":1}');
    assert.equal(will.packet.properties?.contentType, 'application/json');
    assert.deepEqual({ ...will.packet.properties?.userProperties }, { k: 'v' });
    await watcher.endAsync();
  });

  it('v5: Will Delay Interval postpones the will; it is published once the delay passes [MQTT-3.1.3-9]', async () => {
    const topic = uid('wd/');
    const watcher = await watch(topic);
    const raw = await RawClient.connected(broker().ports.mqtt, 5, {
      clientId: uid('c'),
      properties: { sessionExpiryInterval: 60 },
      will: { topic, payload: Buffer.from('late'), qos: 1, retain: false, properties: { willDelayInterval: 2 } },
    });
    const started = Date.now();
    const got = collect(watcher, 1, 6000);
    raw.destroy();
    const [will] = await got;
    const elapsed = Date.now() - started;
    assert.equal(will.payload.toString(), 'late');
    assert.ok(elapsed >= 1500, `will published after ${elapsed} ms, before its 2 s delay`);
    await watcher.endAsync();
  });

  it('v5: reconnecting within the Will Delay Interval cancels the will', async () => {
    const topic = uid('wc/');
    const clientId = uid('c');
    const watcher = await watch(topic);
    const opts = {
      clientId,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: { topic, payload: Buffer.from('cancelled'), qos: 1 as const, retain: false, properties: { willDelayInterval: 2 } },
    };
    const first = await RawClient.connected(broker().ports.mqtt, 5, opts);
    const window = collectFor(watcher, 3500);
    first.destroy();
    await sleep(500);
    const second = await RawClient.connected(broker().ports.mqtt, 5, { clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
    assert.equal((await window).length, 0, 'no will: the client came back in time [MQTT-3.1.3-9]');
    second.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    await watcher.endAsync();
  });

  it('v5: the will is published when the session ends before the will delay [MQTT-3.1.2-8]', async () => {
    const topic = uid('we/');
    const watcher = await watch(topic);
    const raw = await RawClient.connected(broker().ports.mqtt, 5, {
      clientId: uid('c'),
      properties: { sessionExpiryInterval: 1 },
      will: { topic, payload: Buffer.from('session over'), qos: 1, retain: false, properties: { willDelayInterval: 30 } },
    });
    const got = collect(watcher, 1, 5000);
    raw.destroy();
    assert.equal((await got)[0].payload.toString(), 'session over');
    await watcher.endAsync();
  });
});
