// The gateway driven datagram by datagram against a real engine on a ManualClock: Tretry/Nretry
// of a gateway PUBLISH, and keep-alive supervision awake (1.5 x keep alive) and asleep (1.5 x the
// sleep duration), the lost client's will reaching an MQTT subscriber. No sockets, no sleeping.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBroker } from '@mqtt-broker/core';
import { ManualClock, settle, TestClient } from '@mqtt-broker/core/testing';
import { PacketType, type Subscription } from '@mqtt-broker/mqtt-codec';
import { decodeSn, encodeSn, type SnPacket, SnType, TopicIdType } from '@mqtt-broker/mqttsn-codec';
import { MqttSnGateway } from '../src/index.js';

const RETRY_MS = 1_000;
const MAX_RETRIES = 2;

const sub = (topicFilter: string, qos: 0 | 1 = 0): Subscription => ({ topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 });

/** One engine, one gateway, one MQTT-SN client at 10.0.0.1:5000, and an MQTT client beside it. */
class Rig {
  readonly clock = new ManualClock();
  readonly broker = createBroker({ nodeId: 't', version: '0.0.0-test', clock: this.clock });
  private readonly out: SnPacket[] = [];
  readonly gateway = new MqttSnGateway({
    acceptor: this.broker,
    send: (datagram) => this.out.push(decodeSn(datagram)),
    gatewayId: 1,
    nodeId: 't',
    clock: this.clock,
    retryMs: RETRY_MS,
    maxRetries: MAX_RETRIES,
  });

  from(packet: SnPacket): void {
    this.gateway.onDatagram(encodeSn(packet), '10.0.0.1', 5000);
  }

  /** Datagrams the gateway sent since the last call. */
  sent(): SnPacket[] {
    return this.out.splice(0);
  }

  /** CONNECT with a will on `wills/sensor` and keep alive `durationS`, through the will dialogue. */
  async connectWithWill(durationS: number): Promise<void> {
    this.from({ type: SnType.CONNECT, will: true, cleanSession: true, protocolId: 1, duration: durationS, clientId: 'sensor' });
    this.from({ type: SnType.WILLTOPIC, topic: 'wills/sensor', qos: 0, retain: false });
    this.from({ type: SnType.WILLMSG, message: Buffer.from('gone') });
    await settle();
    assert.deepEqual(this.sent().map((p) => p.type), [SnType.WILLTOPICREQ, SnType.WILLMSGREQ, SnType.CONNACK]);
  }

  /** An MQTT client subscribed to `filter`. */
  async mqtt(clientId: string, filter: string, qos: 0 | 1 = 0): Promise<TestClient> {
    const c = new TestClient(this.broker);
    await c.connect({ clientId });
    c.send({ type: PacketType.SUBSCRIBE, packetId: 1, subscriptions: [sub(filter, qos)] });
    await settle();
    c.expect(PacketType.SUBACK);
    return c;
  }

  async advance(ms: number): Promise<void> {
    this.clock.advance(ms);
    await settle();
  }
}

const wills = (c: TestClient): string[] =>
  c.take().flatMap((p) => (p.type === PacketType.PUBLISH ? [`${p.topic}=${p.payload.toString()}`] : []));

describe('gateway retransmission (Tretry / Nretry) on a manual clock', () => {
  async function subscribedClient(rig: Rig): Promise<number> {
    await rig.connectWithWill(3_600);
    rig.from({ type: SnType.SUBSCRIBE, dup: false, qos: 1, msgId: 7, topicIdType: TopicIdType.NORMAL, topicName: 'plant/t' });
    await settle();
    const suback = rig.sent()[0];
    assert.ok(suback?.type === SnType.SUBACK && suback.returnCode === 0, JSON.stringify(suback));
    const publisher = new TestClient(rig.broker);
    await publisher.connect({ clientId: 'pub' });
    publisher.send({ type: PacketType.PUBLISH, dup: false, qos: 1, retain: false, topic: 'plant/t', payload: Buffer.from('21.5'), packetId: 1 });
    await settle();
    return suback.topicId;
  }

  it('resends an unacknowledged QoS 1 PUBLISH every Tretry with DUP, Nretry times, then loses the client (will published)', async () => {
    const rig = new Rig();
    const watcher = await rig.mqtt('w', 'wills/#');
    const topicId = await subscribedClient(rig);
    const first = rig.sent();
    assert.equal(first.length, 1);
    const publish = first[0]!;
    assert.ok(publish.type === SnType.PUBLISH && !publish.dup && publish.topicId === topicId && publish.data.toString() === '21.5');

    await rig.advance(RETRY_MS - 1);
    assert.deepEqual(rig.sent(), [], 'nothing before Tretry');
    for (let retry = 1; retry <= MAX_RETRIES; retry++) {
      await rig.advance(1);
      const again = rig.sent();
      assert.equal(again.length, 1, `retransmission ${retry}`);
      assert.ok(again[0]!.type === SnType.PUBLISH && again[0]!.dup && again[0]!.msgId === publish.msgId);
      await rig.advance(RETRY_MS - 1);
    }
    assert.deepEqual(wills(watcher), [], 'still connected after Nretry retransmissions');
    await rig.advance(1);
    assert.deepEqual(rig.sent(), [], 'no further retransmission');
    assert.deepEqual(wills(watcher), ['wills/sensor=gone'], 'lost: the will is out');
    assert.equal(rig.gateway.stats().clientsAwake, 0);
  });

  it('stops retransmitting once the PUBACK arrives', async () => {
    const rig = new Rig();
    await subscribedClient(rig);
    const publish = rig.sent()[0]!;
    assert.ok(publish.type === SnType.PUBLISH);
    await rig.advance(RETRY_MS);
    assert.equal(rig.sent().length, 1, 'one retransmission');
    rig.from({ type: SnType.PUBACK, topicId: publish.topicId, msgId: publish.msgId, returnCode: 0 });
    await rig.advance(RETRY_MS * (MAX_RETRIES + 2));
    assert.deepEqual(rig.sent(), []);
    assert.equal(rig.gateway.stats().clientsAwake, 1, 'still connected');
  });
});

describe('gateway keep-alive supervision on a manual clock', () => {
  it('awake: lost after 1.5 x keep alive of silence; any datagram restarts the count', async () => {
    const rig = new Rig();
    const watcher = await rig.mqtt('w', 'wills/#');
    await rig.connectWithWill(10);
    await rig.advance(14_000);
    rig.from({ type: SnType.PINGREQ });
    assert.deepEqual(rig.sent().map((p) => p.type), [SnType.PINGRESP]);
    await rig.advance(14_999);
    assert.deepEqual(wills(watcher), [], '14.999 s after the PINGREQ: alive');
    assert.equal(rig.gateway.stats().clientsAwake, 1);
    await rig.advance(1);
    assert.deepEqual(wills(watcher), ['wills/sensor=gone']);
    assert.equal(rig.gateway.stats().clientsAwake, 0);
  });

  it('asleep: supervised by 1.5 x the sleep duration, not the keep alive; a PINGREQ wake restarts it', async () => {
    const rig = new Rig();
    const watcher = await rig.mqtt('w', 'wills/#');
    await rig.connectWithWill(10);
    rig.from({ type: SnType.DISCONNECT, duration: 60 });
    await settle();
    assert.deepEqual(rig.sent().map((p) => p.type), [SnType.DISCONNECT]);
    assert.equal(rig.gateway.stats().clientsAsleep, 1);

    await rig.advance(89_000); // far beyond 1.5 x the keep alive of 10 s
    assert.deepEqual(wills(watcher), [], 'asleep for 89 s of 90: alive');
    rig.from({ type: SnType.PINGREQ, clientId: 'sensor' });
    await settle();
    assert.deepEqual(rig.sent().map((p) => p.type), [SnType.PINGRESP], 'woken: nothing buffered, PINGRESP');
    assert.equal(rig.gateway.stats().clientsAsleep, 1, 'asleep again');

    await rig.advance(89_999);
    assert.deepEqual(wills(watcher), [], 'the wake restarted the count');
    await rig.advance(1);
    assert.deepEqual(wills(watcher), ['wills/sensor=gone'], 'lost after 90 s asleep and silent');
    assert.equal(rig.gateway.stats().clientsAsleep, 0);
  });
});
