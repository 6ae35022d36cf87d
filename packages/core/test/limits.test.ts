import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketType, serialize } from '@mqtt-broker/mqtt-codec';
import { TestClient } from '../src/testing/index.js';
import { payloads, publish, setup, sub, subscriber } from './harness.js';

describe('limits and backpressure', () => {
  it("queue overflow drop_oldest keeps the newest; counted 'queue_full'", async () => {
    const { broker, observer } = setup({ limits: { maxQueuedMessages: 3, queueOverflow: 'drop_oldest' } });
    const s = await subscriber(broker, 'q', [sub('t', 1)], 4, false);
    s.close();
    const p = new TestClient(broker, 4);
    await p.connect({ clientId: 'p' });
    for (let i = 0; i < 5; i++) publish(p, 't', String(i), 1);
    assert.equal(broker.stats().queuedMessages, 3);
    assert.equal(observer.drops.filter((d) => d.reason === 'queue_full').length, 2);
    const again = new TestClient(broker, 4);
    await again.connect({ clientId: 'q', clean: false });
    assert.deepEqual(payloads(again), ['2', '3', '4']);
  });

  it('queue overflow drop_newest keeps the oldest', async () => {
    const { broker } = setup({ limits: { maxQueuedMessages: 2, queueOverflow: 'drop_newest' } });
    const s = await subscriber(broker, 'q', [sub('t', 1)], 4, false);
    s.close();
    const p = new TestClient(broker, 4);
    await p.connect({ clientId: 'p' });
    for (let i = 0; i < 5; i++) publish(p, 't', String(i), 1);
    const again = new TestClient(broker, 4);
    await again.connect({ clientId: 'q', clean: false });
    assert.deepEqual(payloads(again), ['0', '1']);
  });

  it('slow subscriber: write() false -> queued up to the high-water mark, then the publisher is held back (nothing dropped), resumed on drain', async () => {
    const { broker, observer } = setup({ limits: { maxQueuedMessages: 10 } });
    const s = await subscriber(broker, 'slow', [sub('f')]);
    const p = new TestClient(broker, 4);
    await p.connect({ clientId: 'p' });
    s.conn.writable = false;
    for (let i = 0; i < 100; i++) publish(p, 'f', String(i));
    assert.deepEqual(payloads(s), ['0'], 'stopped writing after write() returned false');
    assert.equal(broker.stats().queuedMessages, 6, 'high-water mark (half the limit) + the message that crossed it');
    assert.ok(p.conn.paused, "the publisher's socket is no longer read");
    assert.equal(observer.drops.length, 0);
    s.conn.writable = true;
    s.handler.onDrain();
    await new Promise((resolve) => setImmediate(resolve)); // the release runs after the tick's writes (flow-control.ts)
    assert.deepEqual(payloads(s), Array.from({ length: 99 }, (_, i) => String(i + 1)));
    assert.equal(broker.stats().queuedMessages, 0);
    assert.ok(!p.conn.paused);
    assert.equal(observer.drops.length, 0);
  });

  it("a publisher held back longer than the watchdog allows is let go; the queue bound then applies ('client_slow')", async () => {
    const { broker, clock, observer } = setup({ limits: { maxQueuedMessages: 10 } });
    const s = await subscriber(broker, 'stuck', [sub('g')]);
    const p = new TestClient(broker, 4);
    await p.connect({ clientId: 'p' });
    s.conn.writable = false;
    for (let i = 0; i < 100; i++) publish(p, 'g', String(i));
    assert.ok(p.conn.paused);
    clock.advance(3000);
    assert.ok(!p.conn.paused, 'released by the watchdog');
    assert.equal(broker.stats().queuedMessages, 10);
    assert.equal(observer.drops.filter((d) => d.reason === 'client_slow').length, 89);
  });

  it('a subscriber that stopped reading holds its publisher for FLOW_STALL_MS only: a healthy subscriber beside it gets everything, the overflow is dropped and counted', async () => {
    const { broker, clock, observer } = setup({ limits: { maxQueuedMessages: 10 } });
    const stuck = await subscriber(broker, 'stuck', [sub('h/#')]);
    const healthy = await subscriber(broker, 'healthy', [sub('h/#')]);
    const p = new TestClient(broker, 4);
    await p.connect({ clientId: 'p' });
    stuck.conn.writable = false;
    for (let i = 0; i < 100; i++) publish(p, 'h/x', String(i));
    assert.ok(p.conn.paused, 'held while the stuck subscriber might still drain');
    clock.advance(200);
    assert.ok(p.conn.paused, 'still held before FLOW_STALL_MS');
    clock.advance(100);
    assert.ok(!p.conn.paused, 'let go once the subscriber has sent nothing for FLOW_STALL_MS');
    assert.deepEqual(payloads(healthy), Array.from({ length: 100 }, (_, i) => String(i)));
    for (let i = 100; i < 200; i++) publish(p, 'h/x', String(i));
    assert.ok(!p.conn.paused, 'a stalled subscriber holds nobody until it sends again');
    assert.deepEqual(payloads(healthy), Array.from({ length: 100 }, (_, i) => String(100 + i)));
    assert.equal(broker.stats().queuedMessages, 10, 'the stalled queue stays at its bound');
    assert.equal(observer.drops.filter((d) => d.reason === 'client_slow').length, 200 - 1 - 10);
    stuck.conn.writable = true;
    stuck.handler.onDrain();
    assert.deepEqual(payloads(stuck), Array.from({ length: 11 }, (_, i) => String(i)), 'it resumes with what it kept (QoS 0 overflow drops the newest)');
  });

  it('a QoS 1 subscriber that pauses (no PUBACK) holds its publisher for FLOW_STALL_ASSURED_MS, not FLOW_STALL_MS: nothing acknowledged overflows meanwhile', async () => {
    const { broker, clock, observer } = setup({ limits: { maxQueuedMessages: 10, maxInflight: 2 } });
    const paused = await subscriber(broker, 'paused', [sub('a/#', 1)]);
    const p = new TestClient(broker, 4);
    await p.connect({ clientId: 'p' });
    for (let i = 0; i < 100; i++) publish(p, 'a/x', String(i), 1);
    assert.ok(p.conn.paused, 'held by the congested QoS 1 queue');
    clock.advance(1500);
    assert.ok(p.conn.paused, 'still held well past FLOW_STALL_MS: its queue holds QoS 1 messages');
    assert.equal(observer.drops.length, 0, 'nothing dropped while held');
    const first = paused.take().filter((x) => x.type === PacketType.PUBLISH);
    assert.equal(first.length, 2, 'the window');
    // the client comes back from its pause: it acknowledges, and everything flows in order
    const got: string[] = [];
    for (let round = 0; round < 200 && got.length < 100; round++) {
      const batch = round === 0 ? first : paused.take().filter((x) => x.type === PacketType.PUBLISH);
      for (const m of batch) {
        if (m.type !== PacketType.PUBLISH) continue;
        got.push(m.payload.toString());
        paused.send({ type: PacketType.PUBACK, packetId: m.packetId as number });
      }
      await new Promise((resolve) => setImmediate(resolve)); // the publisher's held PUBLISHes replay
    }
    assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => String(i)));
    assert.equal(observer.drops.length, 0);
  });

  it('a client that publishes to its own congested subscription still has its PUBACKs handled while held back', async () => {
    const { broker } = setup({ limits: { maxQueuedMessages: 10, maxInflight: 2 } });
    const c = new TestClient(broker, 4);
    await c.connect({ clientId: 'loop' });
    c.send({ type: PacketType.SUBSCRIBE, packetId: 1, subscriptions: [sub('self', 1)] });
    for (let i = 0; i < 20; i++) publish(c, 'self', String(i), 1);
    assert.ok(c.conn.paused, 'held back by its own queue');
    const ids = c.received.filter((x) => x.type === PacketType.PUBLISH).map((x) => (x as { packetId?: number }).packetId ?? 0);
    assert.equal(ids.length, 2, 'window of 2');
    for (const id of ids) c.send({ type: PacketType.PUBACK, packetId: id });
    assert.ok(c.received.filter((x) => x.type === PacketType.PUBLISH).length > 2, 'acks went through and the window moved');
  });

  it('publish rate limit pauses reading and holds the rest of a chunk (backpressure, not drops)', async () => {
    const { broker, clock, observer } = setup({ limits: { publishRatePerClient: 3 } });
    const s = await subscriber(broker, 's', [sub('r')]);
    const p = new TestClient(broker, 4);
    await p.connect({ clientId: 'p' });
    // 8 PUBLISH packets in one chunk, as a socket read would deliver them
    const frames = [];
    for (let i = 0; i < 8; i++) frames.push(serialize({ type: PacketType.PUBLISH, dup: false, qos: 0, retain: false, topic: 'r', payload: Buffer.from(String(i)) }, 4));
    p.sendRaw(Buffer.concat(frames));
    assert.ok(p.conn.paused);
    assert.deepEqual(payloads(s), ['0', '1', '2']);
    clock.advance(1000);
    assert.deepEqual(payloads(s), ['3', '4', '5']);
    assert.ok(p.conn.paused);
    clock.advance(1000);
    assert.deepEqual(payloads(s), ['6', '7']);
    assert.ok(!p.conn.paused);
    assert.ok(observer.limits.every((l) => l === 'publish_rate') && observer.limits.length >= 2);
    assert.equal(observer.drops.length, 0);
  });

  it('memory stays bounded under a flood to an offline persistent session', async () => {
    const { broker } = setup({ limits: { maxQueuedMessages: 50 } });
    const s = await subscriber(broker, 'off', [sub('flood', 1)], 4, false);
    s.close();
    const p = new TestClient(broker, 4);
    await p.connect({ clientId: 'p' });
    for (let i = 0; i < 5000; i++) publish(p, 'flood', 'x'.repeat(100), 1);
    assert.equal(broker.stats().queuedMessages, 50);
  });
});

describe('$SYS', () => {
  it('publishes retained broker statistics every interval; not matched by #', async () => {
    const { broker, clock } = setup({ sysIntervalSeconds: 10 });
    const all = await subscriber(broker, 'all', [sub('#')]);
    const sys = await subscriber(broker, 'sys', [sub('$SYS/broker/#')]);
    clock.advance(10_000);
    assert.deepEqual(payloads(all), []);
    const got = new Map<string, string>();
    for (const m of sys.take()) if (m.type === PacketType.PUBLISH) got.set(m.topic, m.payload.toString());
    assert.equal(got.get('$SYS/broker/version'), 'mqtt-broker 0.0.0-test');
    assert.equal(got.get('$SYS/broker/clients/connected'), '2');
    assert.equal(got.get('$SYS/broker/uptime'), '10 seconds');
    for (const k of ['messages/received', 'messages/sent', 'bytes/received', 'bytes/sent', 'subscriptions/count', 'retained messages/count', 'clients/total']) {
      assert.ok(got.has(`$SYS/broker/${k}`), k);
    }
    const late = await subscriber(broker, 'late', [sub('$SYS/broker/uptime')]);
    assert.deepEqual(payloads(late), ['10 seconds'], 'retained');
  });
});

describe('drain and close', () => {
  it('drain: DISCONNECT 0x8B to 5.0 clients, new CONNECTs refused (0x89 / 3)', async () => {
    const { broker, clock } = setup();
    const a = new TestClient(broker, 5);
    await a.connect({ clientId: 'a' });
    const b = new TestClient(broker, 4);
    await b.connect({ clientId: 'b' });
    const done = broker.drain(1000);
    clock.advance(1000);
    await done;
    assert.equal(a.expect(PacketType.DISCONNECT).reasonCode, 0x8b);
    assert.ok(a.closed && b.closed);
    assert.equal((await new TestClient(broker, 5).connect({ clientId: 'n' })).reasonCode, 0x89);
    assert.equal((await new TestClient(broker, 4).connect({ clientId: 'm' })).reasonCode, 3);
  });

  it('drain with a server reference: DISCONNECT 0x9C + Server Reference', async () => {
    const { broker } = setup();
    const a = new TestClient(broker, 5);
    await a.connect({ clientId: 'a' });
    await broker.drain(0, 'other:1883');
    const d = a.expect(PacketType.DISCONNECT);
    assert.equal(d.reasonCode, 0x9c);
    assert.equal(d.properties?.serverReference, 'other:1883');
  });

  it('close(): every connection destroyed, timers stopped', async () => {
    const { broker, clock } = setup({ sysIntervalSeconds: 5 });
    const a = new TestClient(broker, 4);
    await a.connect({ clientId: 'a', keepAlive: 10 });
    await broker.close();
    assert.ok(a.conn.destroyed);
    assert.equal(clock.pending, 0);
  });
});
