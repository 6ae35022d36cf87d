/**
 * The per-peer consumption window of the node bus: congestion (hold publishers) and drain, the
 * drop bound, and the sync probe that replaces a blind reopen (PeerWindows with a fake clock),
 * then the sync round trip between two RedisNodeBus on a real redis-server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StoredMessage } from '@mqtt-broker/core';
import { Redis } from 'ioredis';
import { Keys } from '../src/keys.js';
import { RedisNodeBus } from '../src/node-bus.js';
import { PeerWindows } from '../src/peer-windows.js';
import { useRedisServer } from './redis-suite.js';

describe('PeerWindows', () => {
  it('reports a peer congested past half the window and drains it once at a quarter', () => {
    const p = new PeerWindows({ maxUnconsumed: 1000, now: () => 0 });
    const drained: string[] = [];
    p.onDrain = (n) => drained.push(n);
    p.sent('b', 400);
    assert.equal(p.congested('b', 0), false);
    assert.equal(p.congested('b', 200), true, 'the batch being collected counts');
    p.sent('b', 200);
    p.credit('b', 300); // 300 unconsumed: still held (above 250)
    assert.equal(p.congested('b', 0), true);
    assert.deepEqual(drained, []);
    p.credit('b', 400);
    assert.deepEqual(drained, ['b']);
    assert.equal(p.congested('b', 0), false);
    p.credit('b', 600);
    assert.deepEqual(drained, ['b'], 'drained once');
  });

  it('drops past the window; without credit it asks for one sync probe, never reopens blindly', () => {
    let now = 0;
    const p = new PeerWindows({ maxUnconsumed: 1000, now: () => now });
    p.sent('b', 1200);
    assert.equal(p.admits('b', 0), false);
    now = 1999;
    assert.equal(p.admits('b', 0), false);
    now = 2000;
    assert.equal(p.admits('b', 0), 'sync');
    assert.equal(p.syncMark('b'), 1200);
    now = 10_000;
    assert.equal(p.admits('b', 0), 'sync', 'a lost probe is repeated');
    assert.equal(p.admits('b', 0), false);
    assert.equal(p.unconsumed('b'), 1200, 'still full: a stopped peer gets nothing more');
    p.sent('b', 0);
    p.syncAck('b', 1200, 100); // the peer read all of it but counted only 100 (it restarted, or a link cut lost the rest)
    assert.equal(p.unconsumed('b'), 0);
    assert.equal(p.admits('b', 0), true);
    p.sent('b', 500);
    p.credit('b', 300); // 200 of the 500 consumed: counted once, relative to the ack
    assert.equal(p.unconsumed('b'), 300);
  });

  it('a peer that restarted (its count went back) is credited from its new count', () => {
    const p = new PeerWindows({ maxUnconsumed: 1000, now: () => 0 });
    p.sent('b', 800);
    p.credit('b', 500);
    p.credit('b', 100);
    assert.equal(p.unconsumed('b'), 200);
  });
});

describe('RedisNodeBus consumption window', () => {
  const redis = useRedisServer();

  it('a sender whose credits never come reopens the window through a sync probe answered by the receiver', async () => {
    const keys = new Keys('win');
    const [ca, cb] = [redis.track(new Redis(redis.url)), redis.track(new Redis(redis.url))];
    // credits only every 1 GiB: none comes, the window (4 KiB) stays full until the sync probe
    const a = new RedisNodeBus(ca, keys, { nodeId: 'a', maxUnconsumedBytes: 4096, creditEveryBytes: 1 << 30 });
    const b = new RedisNodeBus(cb, keys, { nodeId: 'b', creditEveryBytes: 1 << 30 });
    const got: string[] = [];
    await b.listen('b', (m: StoredMessage) => got.push(m.topic));
    await a.listen('a', () => {});
    const payload = Buffer.alloc(1000);
    const msg = (topic: string): StoredMessage => ({ topic, payload, qos: 0, retain: false, expiresAt: 0 });
    const drained: string[] = [];
    a.onDrain((n) => drained.push(n));
    for (let i = 0; i < 10; i++) {
      a.send('b', msg(`t/${i}`));
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(a.congested('b'), true);
    assert.ok(a.stats.messagesDropped > 0, 'past the window messages are dropped');
    const deadline = Date.now() + 5000;
    while (a.stats.messagesDropped > 0 && Date.now() < deadline) {
      // keeps sending: after 2 s without credit one send triggers the probe; the ack reopens the window
      a.send('b', msg('probe'));
      if (got.includes('probe')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(got.includes('probe'), 'a message got through after the sync ack');
    assert.deepEqual(drained, ['b']);
    await a.close();
    await b.close();
  });
});
