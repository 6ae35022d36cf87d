/**
 * Publisher acknowledgements with durable cross-node forwarding (cluster/durable-ack.ts), driven
 * packet by packet against a scripted DurablePort: a PUBACK/PUBREC waits for the append of every
 * remote copy, acks stay in PUBLISH order, a 5.0 publisher hears the failure's reason code and a
 * 3.1.1 publisher is never acknowledged for a message that was not stored (its connection closes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketType } from '@mqtt-broker/mqtt-codec';
import { waitUntil } from '@mqtt-broker/test-support';
import {
  type Broker,
  createBrokerReady,
  DurableAppendError,
  type DurablePort,
  type NodeBus,
  type RouteTable,
  type StoredMessage,
} from '../src/index.js';
import { settle, TestClient } from '../src/testing/index.js';
import { durablePortDefaults, fixedRoutes, quietBus } from './durable-stub.js';

interface Append {
  nodeId: string;
  message: StoredMessage;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Every append waits until the test resolves or rejects it. */
function scriptedPort(appendTimeoutMs = 1000): DurablePort & { appends: Append[] } {
  const appends: Append[] = [];
  return {
    ...durablePortDefaults(),
    appends,
    appendTimeoutMs,
    append(nodeId, dm) {
      return new Promise<void>((resolve, reject) => appends.push({ nodeId, message: dm.message, resolve, reject }));
    },
  };
}

/** Node "other" has a route for `remote/#`; nothing else is remote. */
function ports(): { routes: RouteTable; bus: NodeBus; sent: StoredMessage[] } {
  const sent: StoredMessage[] = [];
  return { routes: fixedRoutes([{ filter: 'remote/#', nodeId: 'other' }]), bus: quietBus((_node, m) => sent.push(m)), sent };
}

async function broker(port: DurablePort): Promise<{ broker: Broker; sent: StoredMessage[] }> {
  const p = ports();
  const b = await createBrokerReady({ nodeId: 'me', version: 'test', ports: { routes: p.routes, bus: p.bus }, durable: port });
  return { broker: b, sent: p.sent };
}

function publish(c: TestClient, topic: string, qos: 0 | 1 | 2, packetId: number): void {
  c.send({ type: PacketType.PUBLISH, topic, payload: Buffer.from(String(packetId)), qos, retain: false, dup: false, packetId } as never);
}

describe('durable forwarding: publisher acknowledgements', () => {
  it('QoS 1 to another node: PUBACK only once the append is acknowledged; QoS 0 goes over the bus', async () => {
    const port = scriptedPort();
    const { broker: b, sent } = await broker(port);
    const pub = new TestClient(b, 5);
    await pub.connect();
    publish(pub, 'remote/a', 1, 1);
    publish(pub, 'remote/a', 0, 0);
    await settle();
    assert.equal(port.appends.length, 1, 'QoS 1 appended to the inbox of node "other"');
    assert.equal(port.appends[0].nodeId, 'other');
    assert.equal(sent.length, 1, 'QoS 0 on the pub/sub bus');
    assert.ok(pub.idle, 'no PUBACK yet');
    port.appends[0].resolve();
    await settle();
    const ack = pub.expect(PacketType.PUBACK);
    assert.equal(ack.packetId, 1);
    assert.equal(ack.reasonCode ?? 0, 0);
  });

  it('acks stay in PUBLISH order: a local-only message is not acknowledged before an earlier remote one [MQTT-4.6.0-2]', async () => {
    const port = scriptedPort();
    const { broker: b } = await broker(port);
    const sub = new TestClient(b, 5);
    await sub.connect({ clientId: 's' });
    sub.send({ type: PacketType.SUBSCRIBE, packetId: 1, subscriptions: [{ topicFilter: 'local', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    await settle();
    const pub = new TestClient(b, 4);
    await pub.connect({ clientId: 'p' });
    publish(pub, 'remote/x', 1, 1);
    publish(pub, 'local', 1, 2);
    await settle();
    assert.ok(pub.idle, 'the local-only message waits behind the remote one');
    port.appends[0].resolve();
    await settle();
    assert.deepEqual(
      pub.take().map((p) => (p as { packetId: number }).packetId),
      [1, 2],
    );
  });

  it('appends of one batch share one promise: its acks go out together, never before an earlier batch', async () => {
    // the Redis port batches the appends of one event-loop turn into one entry and returns one promise
    let batch: { done: Promise<void>; resolve: () => void } | undefined;
    const batches: Array<NonNullable<typeof batch>> = [];
    const port: DurablePort = {
      ...durablePortDefaults(),
      append() {
        if (batch === undefined) {
          let resolve!: () => void;
          const done = new Promise<void>((r) => (resolve = r));
          batch = { done, resolve };
          batches.push(batch);
        }
        return batch.done;
      },
    };
    const { broker: b } = await broker(port);
    const pub = new TestClient(b, 4);
    await pub.connect({ clientId: 'p' });
    publish(pub, 'remote/a', 1, 1);
    publish(pub, 'remote/a', 1, 2);
    batch = undefined; // the next turn's entry
    publish(pub, 'remote/a', 1, 3);
    await settle();
    assert.equal(batches.length, 2);
    batches[1].resolve();
    await settle();
    assert.ok(pub.idle, 'the later batch is stored, the earlier one is not: no ack');
    batches[0].resolve();
    await settle();
    assert.deepEqual(
      pub.take().map((p) => (p as { packetId: number }).packetId),
      [1, 2, 3],
    );
  });

  it('5.0: a failed append is answered with its reason code; a refused QoS 2 id can be sent again as a new message', async () => {
    const port = scriptedPort();
    const { broker: b } = await broker(port);
    const pub = new TestClient(b, 5);
    await pub.connect();
    publish(pub, 'remote/a', 1, 1);
    publish(pub, 'remote/a', 2, 2);
    await settle();
    port.appends[0].reject(new DurableAppendError(0x97, 'backlog'));
    port.appends[1].reject(new DurableAppendError(0x80, 'Redis down'));
    await settle();
    await settle();
    const puback = pub.expect(PacketType.PUBACK);
    assert.equal(puback.reasonCode, 0x97);
    const pubrec = pub.expect(PacketType.PUBREC);
    assert.equal(pubrec.reasonCode, 0x80);
    publish(pub, 'remote/a', 2, 2); // the client tries again with the same id
    await settle();
    assert.equal(port.appends.length, 3, 'routed again, not treated as a duplicate');
    port.appends[2].resolve();
    await settle();
    assert.equal(pub.expect(PacketType.PUBREC).reasonCode ?? 0, 0);
  });

  it('5.0: an append that does not complete within the bound is answered 0x80', async () => {
    const port = scriptedPort(50);
    const { broker: b } = await broker(port);
    const pub = new TestClient(b, 5);
    await pub.connect();
    publish(pub, 'remote/a', 1, 7);
    await waitUntil(() => !pub.idle, 5000, 'an answer to the PUBLISH after the 50 ms append bound');
    assert.equal(pub.expect(PacketType.PUBACK).reasonCode, 0x80);
  });

  it('3.1.1: a failed append is never acknowledged; the connection is closed so that the client resends', async () => {
    const port = scriptedPort(60);
    const { broker: b } = await broker(port);
    const pub = new TestClient(b, 4);
    await pub.connect();
    publish(pub, 'remote/a', 1, 1);
    publish(pub, 'remote/a', 1, 2);
    await settle();
    port.appends[0].reject(new DurableAppendError(0x80, 'Redis down'));
    port.appends[1].resolve();
    await settle();
    assert.ok(pub.idle, 'held: no PUBACK for the failed one, none after it either');
    assert.equal(pub.closed, false);
    await waitUntil(() => pub.closed, 5000, 'the connection closed after the 60 ms append bound');
    assert.equal(
      pub.take().filter((p) => p.type === PacketType.PUBACK).length,
      0,
    );
  });
});
