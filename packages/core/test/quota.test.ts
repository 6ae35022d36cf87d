import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketType, ReasonCode } from '@mqtt-broker/mqtt-codec';
import { TokenBucket } from '../src/quota/token-bucket.js';
import { TestClient } from '../src/testing/index.js';
import { payloads, publish, setup, sub, subscriber } from './harness.js';

describe('token bucket', () => {
  it('holds the burst, refills at the rate, never above the capacity', () => {
    const b = new TokenBucket(10, 20, 0);
    b.refill(0);
    assert.ok(b.has(20) && !b.has(21));
    b.take(20);
    b.refill(500);
    assert.ok(b.has(5) && !b.has(6));
    b.refill(60_000);
    assert.ok(b.isFull() && !b.has(21));
  });
});

describe('quotas', () => {
  it('5.0: over the messages quota, DISCONNECT 0x96; nothing beyond the burst delivered; counted and reported once', async () => {
    const { broker, observer } = setup({ limits: { quotaMessagesPerSecond: 3 } });
    const s = await subscriber(broker, 's', [sub('q')]);
    const p = new TestClient(broker, 5);
    await p.connect({ clientId: 'p', username: 'u' });
    for (let i = 0; i < 5; i++) publish(p, 'q', String(i));
    assert.deepEqual(payloads(s), ['0', '1', '2']);
    const disconnect = p.take().find((x) => x.type === PacketType.DISCONNECT);
    assert.equal(disconnect?.type === PacketType.DISCONNECT ? disconnect.reasonCode : undefined, ReasonCode.MessageRateTooHigh);
    assert.ok(p.closed);
    assert.deepEqual(observer.quotaRefusals, ['messages']);
    assert.equal(observer.quotaEvents.length, 1);
    assert.deepEqual(observer.quotaEvents[0], { quota: 'messages', clientId: 'p', username: 'u', address: '127.0.0.1', protocolVersion: 5, outcome: 'disconnected' });
  });

  it('5.0: over the bytes quota (topic + payload), DISCONNECT 0x97', async () => {
    const { broker, observer } = setup({ limits: { quotaBytesPerSecond: 100 } });
    const s = await subscriber(broker, 's', [sub('q')]);
    const p = new TestClient(broker, 5);
    await p.connect({ clientId: 'p' });
    publish(p, 'q', 'x'.repeat(60)); // 61 bytes
    publish(p, 'q', 'y'.repeat(60)); // 122 > 100
    assert.equal(payloads(s).length, 1);
    const disconnect = p.take().find((x) => x.type === PacketType.DISCONNECT);
    assert.equal(disconnect?.type === PacketType.DISCONNECT ? disconnect.reasonCode : undefined, ReasonCode.QuotaExceeded);
    assert.deepEqual(observer.quotaRefusals, ['bytes']);
  });

  it('the bucket refills: a client at the rate stays connected', async () => {
    const { broker, clock } = setup({ limits: { quotaMessagesPerSecond: 2 } });
    const s = await subscriber(broker, 's', [sub('q')]);
    const p = new TestClient(broker, 5);
    await p.connect({ clientId: 'p' });
    for (let i = 0; i < 10; i++) {
      publish(p, 'q', String(i));
      clock.advance(500);
    }
    assert.equal(payloads(s).length, 10);
    assert.ok(!p.closed);
  });

  it('3.1.1: over quota, excess dropped but acknowledged during the grace; a pause forgives; still over after the grace, closed', async () => {
    const { broker, clock, observer } = setup({ limits: { quotaMessagesPerSecond: 2, quotaGraceSeconds: 5 } });
    const s = await subscriber(broker, 's', [sub('q', 1)]);
    const p = new TestClient(broker, 4);
    await p.connect({ clientId: 'p' });
    for (let i = 0; i < 4; i++) publish(p, 'q', String(i), 1);
    assert.deepEqual(payloads(s), ['0', '1']);
    assert.equal(p.take().filter((x) => x.type === PacketType.PUBACK).length, 4, 'every PUBLISH acknowledged');
    assert.deepEqual(observer.quotaEvents.map((e) => e.outcome), ['grace']);
    clock.advance(1000); // a burst's time without a refusal: forgiven
    const graceStart = clock.now();
    for (let i = 0; i < 3; i++) publish(p, 'q', `again${i}`, 1);
    assert.deepEqual(observer.quotaEvents.map((e) => e.outcome), ['grace', 'grace'], 'a new grace');
    // 10 messages a second against 2: the admitted ones do not end the grace, the refusals go on
    for (let i = 0; i < 100 && !p.closed; i++) {
      clock.advance(100);
      publish(p, 'q', `flood${i}`, 1);
    }
    assert.ok(p.closed, 'closed after the grace');
    assert.ok(clock.now() - graceStart >= 5000, 'not before the grace');
    assert.equal(observer.quotaEvents.at(-1)?.outcome, 'disconnected');
    assert.equal(observer.drops.filter((d) => d.reason === 'rate_limited').length, observer.quotaRefusals.length - 1, 'each refusal but the last dropped');
    const got = payloads(s).length;
    assert.ok(got <= 2 + 2 * 6 + 1, `no more delivered than the quota allows (${got})`);
  });

  it('per user: connections of one user share the bucket, another user and anonymous clients are unharmed', async () => {
    const { broker } = setup({ limits: { quotaUserMessagesPerSecond: 4 } });
    const s = await subscriber(broker, 's', [sub('#')]);
    const a1 = new TestClient(broker, 5);
    await a1.connect({ clientId: 'a1', username: 'alice' });
    const a2 = new TestClient(broker, 5);
    await a2.connect({ clientId: 'a2', username: 'alice' });
    const b = new TestClient(broker, 5);
    await b.connect({ clientId: 'b', username: 'bob' });
    for (let i = 0; i < 2; i++) publish(a1, 'a1', String(i));
    for (let i = 0; i < 3; i++) publish(a2, 'a2', String(i));
    for (let i = 0; i < 4; i++) publish(b, 'b', String(i));
    assert.ok(a2.closed && !a1.closed && !b.closed);
    assert.equal(payloads(s).length, 8, '4 of alice, 4 of bob');
    a1.close();
    // alice's buckets went with her last connection: a new one starts full
    const a3 = new TestClient(broker, 5);
    await a3.connect({ clientId: 'a3', username: 'alice' });
    for (let i = 0; i < 4; i++) publish(a3, 'a3', String(i));
    assert.ok(!a3.closed);
  });

  it('CONNECT rate per address: 5.0 CONNACK 0x9F, 3.1.1 closed without CONNACK, another address unharmed', async () => {
    const { broker, clock, observer } = setup({ limits: { connectRatePerAddress: 2 } });
    for (let i = 0; i < 2; i++) await new TestClient(broker, 5, '10.0.0.1').connect({ clientId: `ok${i}` });
    const refused = await new TestClient(broker, 5, '10.0.0.1').connect({ clientId: 'r5' });
    assert.equal(refused.reasonCode, ReasonCode.ConnectionRateExceeded);
    const old = new TestClient(broker, 4, '10.0.0.1');
    old.send({ type: PacketType.CONNECT, protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 0, clientId: 'r4' });
    assert.ok(old.closed && old.idle, 'closed, no CONNACK');
    assert.equal((await new TestClient(broker, 5, '10.0.0.2').connect({ clientId: 'other' })).reasonCode, 0);
    clock.advance(1000);
    assert.equal((await new TestClient(broker, 5, '10.0.0.1').connect({ clientId: 'later' })).reasonCode, 0);
    assert.deepEqual(observer.quotaRefusals, ['connect_rate', 'connect_rate']);
  });
});
