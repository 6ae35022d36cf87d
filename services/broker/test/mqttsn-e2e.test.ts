// End to end, one node: MQTT-SN clients (the test's own client, written from the spec) and
// MQTT.js on the same broker over real UDP and TCP sockets. QoS -1/0/1/2 both ways, REGISTER both
// directions, wildcard subscriptions, predefined and short topic ids, wills, sleeping clients,
// retransmission, a forwarder carrying two wireless nodes, the admin listing, metrics, bad input.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { collect, collectFor, connect, uid } from './helpers/clients.js';
import { mqttctlJson, mqttctlSkipReason } from './helpers/mqttctl.js';
import { Forwarder, message, readPublish, SnTestClient, T } from './helpers/mqttsn-client.js';
import { freePort, type RunningBroker, startBroker, suiteSkipReason } from './helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'mqttsn-'));
const predefinedFile = join(dir, 'predefined.txt');
writeFileSync(predefinedFile, '# id topic\n1 plant/line1/temperature\n2 plant/commands\n');

async function metric(broker: RunningBroker, line: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${broker.ports.http}/metrics`)).text();
  const m = text.split('\n').find((l) => line.test(l));
  return m === undefined ? 0 : Number(m.split(' ').pop());
}

describe('MQTT-SN gateway, one node', { skip: suiteSkipReason() }, () => {
  let broker: RunningBroker;
  let snPort: number;
  const clients: SnTestClient[] = [];
  const open = async (bindAddress?: string): Promise<SnTestClient> => {
    const c = await SnTestClient.open(snPort, bindAddress);
    clients.push(c);
    return c;
  };

  before(async () => {
    snPort = await freePort();
    broker = await startBroker({
      env: { MQTTSN_PORT: String(snPort), MQTTSN_PREDEFINED_TOPICS: predefinedFile, MQTTSN_RETRY_MS: '300', MQTTSN_RATE_PER_ADDRESS: '300', MQTTSN_MAX_DATAGRAM_BYTES: '1024' },
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await broker?.stop();
  });

  it('SEARCHGW is answered with GWINFO and a CONNECT with CONNACK accepted', async () => {
    const c = await open();
    c.send(message(T.SEARCHGW, 0));
    const info = await c.next(T.GWINFO);
    assert.equal(info.body[0], 1);
    assert.equal(await c.connect(uid('sn')), 0);
    c.disconnect();
    await c.next(T.DISCONNECT);
  });

  for (const qos of [0, 1, 2] as const) {
    it(`MQTT-SN PUBLISH at QoS ${qos} on a REGISTERed topic reaches an MQTT.js subscriber`, async () => {
      const topic = uid(`sn-up${qos}/`);
      const sub = await connect(broker.url, { clientId: uid('m') });
      await sub.client.subscribeAsync(topic, { qos: 2 });
      const c = await open();
      assert.equal(await c.connect(uid('sn')), 0);
      const id = await c.register(topic);
      const got = collect(sub.client, 1);
      const msgId = c.publish(id, `hello ${qos}`, { qos });
      if (qos === 1) {
        const ack = await c.next(T.PUBACK);
        assert.deepEqual([ack.body.readUInt16BE(0), ack.body.readUInt16BE(2), ack.body[4]], [id, msgId, 0]);
      }
      if (qos === 2) {
        assert.equal((await c.next(T.PUBREC)).body.readUInt16BE(0), msgId);
        c.send(message(T.PUBREL, Buffer.from([msgId >> 8, msgId & 0xff])));
        assert.equal((await c.next(T.PUBCOMP)).body.readUInt16BE(0), msgId);
      }
      const [m] = await got;
      assert.deepEqual([m!.topic, m!.payload.toString(), m!.packet.qos], [topic, `hello ${qos}`, qos]);
      await sub.client.endAsync();
    });

    it(`an MQTT.js PUBLISH at QoS ${qos} reaches an MQTT-SN subscriber by topic name, with the SUBACK's topic id`, async () => {
      const topic = uid(`sn-down${qos}/`);
      const c = await open();
      assert.equal(await c.connect(uid('sn')), 0);
      const ack = await c.subscribe(topic, qos);
      assert.equal(ack.returnCode, 0);
      assert.equal(ack.qos, qos);
      assert.notEqual(ack.topicId, 0);
      const pub = await connect(broker.url, { clientId: uid('m') });
      await pub.client.publishAsync(topic, `down ${qos}`, { qos });
      const r = await c.next(T.PUBLISH);
      const p = readPublish(r);
      assert.deepEqual([p.topicIdType, p.topicId, p.qos, p.data.toString()], [0, ack.topicId, qos, `down ${qos}`]);
      await c.ack(r);
      assert.deepEqual(await c.during(T.PUBLISH, 400), [], 'acknowledged: not sent again');
      await pub.client.endAsync();
    });
  }

  it('a wildcard subscription: the gateway REGISTERs each new topic before its first PUBLISH', async () => {
    const base = uid('wild');
    const c = await open();
    assert.equal(await c.connect(uid('sn')), 0);
    const ack = await c.subscribe(`${base}/+/t`, 1);
    assert.deepEqual([ack.returnCode, ack.topicId], [0, 0]);
    const pub = await connect(broker.url, { clientId: uid('m') });
    await pub.client.publishAsync(`${base}/a/t`, 'one', { qos: 1 });
    await pub.client.publishAsync(`${base}/a/t`, 'two', { qos: 1 });
    const [topicId, name] = await c.acceptRegister();
    assert.equal(name, `${base}/a/t`);
    for (const expected of ['one', 'two']) {
      const r = await c.next(T.PUBLISH);
      const p = readPublish(r);
      assert.deepEqual([p.topicIdType, p.topicId, p.data.toString()], [0, topicId, expected]);
      await c.ack(r);
    }
    await pub.client.endAsync();
  });

  it('predefined topic ids and short topic names, both ways, without REGISTER', async () => {
    const sub = await connect(broker.url, { clientId: uid('m') });
    await sub.client.subscribeAsync(['plant/line1/temperature', 'zz'], { qos: 1 });
    const c = await open();
    assert.equal(await c.connect(uid('sn')), 0);
    const got = collect(sub.client, 2);
    c.publish(1, '21.5', { qos: 1, topicIdType: 1 });
    await c.next(T.PUBACK);
    c.publish(0x7a7a, 'short', { qos: 1, topicIdType: 2 });
    await c.next(T.PUBACK);
    assert.deepEqual((await got).map((m) => [m.topic, m.payload.toString()]).sort(), [['plant/line1/temperature', '21.5'], ['zz', 'short']]);

    assert.equal((await c.subscribe(2, 1, 1)).returnCode, 0);
    assert.equal((await c.subscribe('yy', 1, 2)).returnCode, 0);
    await sub.client.publishAsync('plant/commands', 'stop', { qos: 1 });
    await sub.client.publishAsync('yy', 'tiny', { qos: 1 });
    const p1 = readPublish(await c.next(T.PUBLISH));
    const p2 = readPublish(await c.next(T.PUBLISH));
    assert.deepEqual([p1.topicIdType, p1.topicId, p1.data.toString()], [1, 2, 'stop']);
    assert.deepEqual([p2.topicIdType, p2.topicId, p2.data.toString()], [2, 0x7979, 'tiny']);
    assert.equal((await c.subscribe(99, 0, 1)).returnCode, 0x02, 'unknown predefined id: rejected, invalid topic ID');
    await sub.client.endAsync();
  });

  it('QoS -1: a client with no connection publishes to a predefined id and a short name', async () => {
    const sub = await connect(broker.url, { clientId: uid('m') });
    await sub.client.subscribeAsync(['plant/line1/temperature', 'q1'], { qos: 0 });
    const c = await open();
    const got = collect(sub.client, 2);
    c.publish(1, 'no connection', { qos: -1, topicIdType: 1 });
    c.publish(0x7131, 'short too', { qos: -1, topicIdType: 2 });
    assert.deepEqual((await got).map((m) => m.payload.toString()).sort(), ['no connection', 'short too']);
    await sub.client.endAsync();
  });

  it('an unknown topic id is answered with PUBACK 0x02 (rejected: invalid topic ID), at QoS 0 and 1', async () => {
    const c = await open();
    assert.equal(await c.connect(uid('sn')), 0);
    const msgId = c.publish(4242, 'x', { qos: 1 });
    const ack = await c.next(T.PUBACK);
    assert.deepEqual([ack.body.readUInt16BE(0), ack.body.readUInt16BE(2), ack.body[4]], [4242, msgId, 0x02]);
    c.publish(4243, 'y', { qos: 0 });
    assert.equal((await c.next(T.PUBACK)).body[4], 0x02);
  });

  it('the will of a client that goes silent is published once its keep alive (x1.5) runs out', async () => {
    const topic = uid('will/');
    const sub = await connect(broker.url, { clientId: uid('m') });
    await sub.client.subscribeAsync(topic, { qos: 1 });
    const c = await open();
    assert.equal(await c.connect(uid('sn'), { duration: 1, will: { topic, message: 'gone', qos: 1 } }), 0);
    const got = collect(sub.client, 1, 5000);
    const t0 = Date.now();
    const [m] = await got; // the client never sends again
    assert.equal(m!.payload.toString(), 'gone');
    assert.ok(Date.now() - t0 >= 1000, 'not before the keep alive');
    await sub.client.endAsync();
  });

  it('WILLTOPICUPD / WILLMSGUPD change the will; a DISCONNECT discards it', async () => {
    const topic = `${uid('willupd')}/`;
    const sub = await connect(broker.url, { clientId: uid('m') });
    await sub.client.subscribeAsync(`${topic}#`, { qos: 1 });
    const c = await open();
    assert.equal(await c.connect(uid('sn'), { duration: 1, will: { topic: `${topic}old`, message: 'old' } }), 0);
    c.send(message(T.WILLTOPICUPD, 0x20, Buffer.from(`${topic}new`)));
    assert.equal((await c.next(T.WILLTOPICRESP)).body[0], 0);
    c.send(message(T.WILLMSGUPD, Buffer.from('new')));
    assert.equal((await c.next(T.WILLMSGRESP)).body[0], 0);
    const [m] = await collect(sub.client, 1, 5000);
    assert.deepEqual([m!.topic, m!.payload.toString()], [`${topic}new`, 'new']);

    const d = await open();
    assert.equal(await d.connect(uid('sn'), { duration: 60, will: { topic: `${topic}bye`, message: 'no' } }), 0);
    d.disconnect();
    await d.next(T.DISCONNECT);
    assert.deepEqual(await collectFor(sub.client, 600), [], 'no will after DISCONNECT');
    await sub.client.endAsync();
  });

  it('a sleeping client gets what arrived while it slept when it wakes with PINGREQ, then PINGRESP', async () => {
    const topic = uid('sleep/');
    const c = await open();
    const clientId = uid('sleeper');
    assert.equal(await c.connect(clientId, { clean: false, duration: 2 }), 0);
    const { topicId } = await c.subscribe(topic, 1);
    c.disconnect(30);
    await c.next(T.DISCONNECT);
    const pub = await connect(broker.url, { clientId: uid('m') });
    for (const n of ['a', 'b', 'c']) await pub.client.publishAsync(topic, n, { qos: 1 });
    await pub.client.publishAsync(topic, 'd', { qos: 0 });
    assert.deepEqual(await c.during(T.PUBLISH, 3500), [], 'nothing while asleep (and not lost after 1.5 x keep alive)');
    c.pingreq();
    const got: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await c.next(T.PUBLISH);
      const p = readPublish(r);
      assert.equal(p.topicId, topicId);
      got.push(p.data.toString());
      await c.ack(r);
    }
    assert.deepEqual(got, ['a', 'b', 'c', 'd']);
    await c.next(T.PINGRESP);
    await pub.client.publishAsync(topic, 'later', { qos: 1 });
    assert.deepEqual(await c.during(T.PUBLISH, 500), [], 'asleep again after PINGRESP');
    assert.equal(await c.connect(clientId, { clean: false, duration: 60 }), 0);
    const later = readPublish(await c.next(T.PUBLISH));
    assert.equal(later.data.toString(), 'later', 'a reconnect also delivers what was buffered');
    await pub.client.endAsync();
  });

  it('a QoS 1 delivery that is not acknowledged is sent again after Tretry with DUP set', async () => {
    const topic = uid('retry/');
    const c = await open();
    assert.equal(await c.connect(uid('sn')), 0);
    await c.subscribe(topic, 1);
    const pub = await connect(broker.url, { clientId: uid('m') });
    await pub.client.publishAsync(topic, 'again', { qos: 1 });
    const first = readPublish(await c.next(T.PUBLISH));
    assert.equal(first.dup, false);
    const t0 = Date.now();
    const second = await c.next(T.PUBLISH, 3000);
    assert.ok(Date.now() - t0 >= 250);
    assert.deepEqual([readPublish(second).dup, readPublish(second).msgId], [true, first.msgId]);
    await c.ack(second);
    assert.ok((await metric(broker, /^mqtt_sn_retransmissions_total\{type="publish"\}/)) >= 1);
    await pub.client.endAsync();
  });

  it('a forwarder carries two wireless nodes from one UDP address, each its own session', async () => {
    const fwd = await Forwarder.open(snPort);
    const a = fwd.node(Buffer.from([0x00, 0x01]));
    const b = fwd.node(Buffer.from([0x00, 0x02]));
    const [ida, idb] = [uid('node-a'), uid('node-b')];
    assert.equal(await a.connect(ida), 0);
    assert.equal(await b.connect(idb), 0);
    const topic = uid('fwd/');
    await a.subscribe(`${topic}a`, 0);
    await b.subscribe(`${topic}b`, 0);
    const pub = await connect(broker.url, { clientId: uid('m') });
    await pub.client.publishAsync(`${topic}a`, 'for a');
    await pub.client.publishAsync(`${topic}b`, 'for b');
    assert.equal(readPublish(await a.next(T.PUBLISH)).data.toString(), 'for a');
    assert.equal(readPublish(await b.next(T.PUBLISH)).data.toString(), 'for b');
    if (mqttctlSkipReason() === false) {
      const listed = await mqttctlJson<{ clients: Array<{ clientId: string; transport: string }> }>(`127.0.0.1:${broker.ports.grpc}`, 'clients', '--prefix', 'node-');
      const mine = listed.clients.filter((x) => x.clientId === ida || x.clientId === idb);
      assert.deepEqual(mine.map((x) => x.transport), ['mqttsn', 'mqttsn']);
    }
    fwd.close();
    await pub.client.endAsync();
  });

  it('bad input is dropped and counted; a flood from one address leaves another client unharmed', async () => {
    const bad = await open('127.0.0.2');
    bad.send(Buffer.from([0x05, 0x16])); // wrong length
    bad.send(Buffer.from([0x02, 0x03])); // reserved MsgType
    bad.send(Buffer.alloc(2000, 0x41)); // over MQTTSN_MAX_DATAGRAM_BYTES
    bad.send(message(T.PUBLISH, 0x03, Buffer.from([0, 1, 0, 0]))); // TopicIdType 0b11
    const good = await open();
    assert.equal(await good.connect(uid('sn')), 0);
    const topic = uid('flood/');
    const id = await good.register(topic);
    const sub = await connect(broker.url, { clientId: uid('m') });
    await sub.client.subscribeAsync(topic, { qos: 1 });
    // 2,000 datagrams in bursts of 50 (a few thousand per second, far over the limit of 300/s):
    // sent in one go they can overflow the gateway's socket buffer before it reads any (Node 24)
    for (let burst = 0; burst < 40; burst++) {
      for (let i = 0; i < 50; i++) bad.send(message(T.PINGREQ));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const got = collect(sub.client, 5, 15_000);
    // the flood can fill the gateway's UDP buffer, where the kernel drops any datagram: the good
    // client retransmits as the specification's clients do (Tretry), and is served
    for (let i = 0; i < 5; i++) assert.equal((await good.publishAcked(id, String(i))).body[4], 0, "PUBACK accepted");
    assert.equal((await got).length, 5);
    const drops = async (reason: string) => metric(broker, new RegExp(`^mqtt_sn_dropped_datagrams_total\\{reason="${reason}"\\}`));
    for (const reason of ['bad_length', 'unknown_type', 'oversize', 'malformed']) assert.ok((await drops(reason)) >= 1, reason);
    // > 0, not ~1,700: what the kernel dropped from a full socket buffer never reaches the limiter
    assert.ok((await drops('rate_limited')) > 0, 'the flood beyond 300/s was dropped by the per-address limit');
    assert.ok((await metric(broker, /^mqtt_sn_packets_total\{direction="in",type="connect"\}/)) >= 1);
    await sub.client.endAsync();
  });
});

describe('MQTT-SN gateway with ALLOW_ANONYMOUS=false and a client list', { skip: suiteSkipReason() }, () => {
  let broker: RunningBroker;
  let snPort: number;
  const clientsFile = join(dir, 'clients.txt');
  writeFileSync(clientsFile, '# listed ids\nsensor-ok\nsensor-pre*\n');

  before(async () => {
    snPort = await freePort();
    broker = await startBroker({ env: { MQTTSN_PORT: String(snPort), MQTTSN_CLIENTS: clientsFile, ALLOW_ANONYMOUS: 'false' } });
  });
  after(async () => {
    await broker?.stop();
  });

  it('a listed client id (exact or by prefix) connects, an unlisted one gets CONNACK 0x03', async () => {
    for (const [id, code] of [['sensor-ok', 0], ['sensor-pre-17', 0], ['intruder', 0x03]] as const) {
      const c = await SnTestClient.open(snPort);
      assert.equal(await c.connect(id), code, id);
      c.close();
    }
  });
});
