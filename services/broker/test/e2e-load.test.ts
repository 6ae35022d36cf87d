// End to end under load: a subscriber that never reads while a publisher floods (broker memory
// stays bounded, the publisher is not cut off), 1,000 concurrent clients each receiving its own
// message, and random bytes on every listener (the process survives and still serves).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { connect, uid } from './helpers/clients.js';
import { rssKb, sleep, suiteSkipReason } from './helpers/processes.js';
import { RawClient } from './helpers/raw.js';
import { useTarget } from './helpers/suite.js';

const skip = suiteSkipReason();

describe('e2e load: slow subscriber', { skip }, () => {
  const broker = useTarget({ env: { MAX_QUEUED_MESSAGES: '1000' }, mosquitto: ['max_queued_messages 1000'] });

  it('a subscriber that never reads does not grow broker memory without bound, and the publisher keeps going', async () => {
    const topic = uid('slow/');
    // The slow subscriber: subscribes, then stops reading its socket (the kernel buffers fill).
    const slow = await RawClient.connected(broker().ports.mqtt, 4, { clientId: uid('slow') });
    slow.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
    await slow.next('suback');
    slow.socket.pause();
    const pub = await RawClient.connected(broker().ports.mqtt, 4, { clientId: uid('flood') });
    const payload = Buffer.alloc(4096, 0x61);
    const before = await rssKb(broker().pid);
    const started = Date.now();
    let sent = 0;
    let samples: number[] = [];
    // ~200 MB offered in 8 s at most: far more than the socket buffers plus a 1,000-message queue.
    while (Date.now() - started < 8000 && sent < 50_000) {
      for (let i = 0; i < 500; i++, sent++) pub.send({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false });
      await new Promise<void>((resolve) => (pub.socket.writableLength > 4 * 1024 * 1024 ? pub.socket.once('drain', () => resolve()) : setImmediate(resolve)));
      if (sent % 5000 === 0) samples.push(await rssKb(broker().pid));
    }
    samples.push(await rssKb(broker().pid));
    samples = samples.map((kb) => Math.round(kb / 1024));
    const peakMb = Math.max(...samples);
    const growthMb = peakMb - Math.round(before / 1024);
    // The publisher is still connected and served: a PINGREQ round trip works.
    pub.send({ cmd: 'pingreq' });
    await pub.next('pingresp', 10_000);
    assert.equal(pub.isClosed, false, 'publisher not cut off');
    assert.ok(sent >= 10_000, `flood too small to be meaningful: ${sent}`);
    assert.ok(growthMb < 150, `broker RSS grew ${growthMb} MB while ${Math.round((sent * 4) / 1024)} MB were published; samples ${samples.join(',')} MB`);
    console.log(`# slow subscriber: ${sent} x 4 KiB published, broker RSS ${Math.round(before / 1024)} -> peak ${peakMb} MB`);
    slow.destroy();
    pub.destroy();
  });
});

describe('e2e load: 1,000 concurrent clients', { skip }, () => {
  const broker = useTarget({ mosquitto: ['max_connections -1'] });

  it('1,000 clients each subscribe to their own topic and receive their own message', async () => {
    const n = 1000;
    const root = uid('many');
    const clients: MqttClient[] = [];
    const started = Date.now();
    for (let i = 0; i < n; i += 100) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(100, n - i) }, (_, j) => connect(broker().url, { clientId: `${root}-${i + j}`, protocolVersion: j % 2 === 0 ? 4 : 5 }, 20_000)),
      );
      clients.push(...batch.map((c) => c.client));
    }
    await Promise.all(clients.map((c, i) => c.subscribeAsync(`${root}/${i}`, { qos: 1 })));
    const connectedMs = Date.now() - started;
    const received = clients.map(
      (c, i) =>
        new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`client ${i} got nothing`)), 20_000);
          c.once('message', (topic, payload) => {
            clearTimeout(timer);
            resolve(`${topic}=${payload}`);
          });
        }),
    );
    const pub = await connect(broker().url, { clientId: uid('pub') });
    await Promise.all(clients.map((_, i) => pub.client.publishAsync(`${root}/${i}`, `for ${i}`, { qos: 1 })));
    const got = await Promise.all(received);
    assert.deepEqual(got, clients.map((_, i) => `${root}/${i}=for ${i}`));
    console.log(`# 1,000 clients connected and subscribed in ${connectedMs} ms; all delivered in ${Date.now() - started} ms`);
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await pub.client.endAsync();
  });
});

describe('e2e robustness: random bytes on every listener', { skip }, () => {
  const broker = useTarget();

  async function garbage(port: number, prefix: Buffer, rounds: number): Promise<void> {
    await Promise.all(
      Array.from({ length: rounds }, async (_, i) => {
        const socket = new Socket();
        socket.on('error', () => {});
        await new Promise<void>((resolve) => {
          socket.setTimeout(2000, () => resolve());
          socket.connect(port, '127.0.0.1', () => {
            socket.write(Buffer.concat([prefix, randomBytes(16 + ((i * 97) % 4000))]));
            socket.end();
          });
          socket.once('close', () => resolve());
        });
        socket.destroy();
      }),
    );
  }

  it('TCP and WebSocket listeners survive random bytes and still serve normal clients', async () => {
    const b = broker();
    await garbage(b.ports.mqtt, Buffer.alloc(0), 100);
    // A CONNECT header followed by random bytes: reaches deeper into the parser.
    await garbage(b.ports.mqtt, Buffer.from([0x10, 0xff, 0x7f, 0, 4, 0x4d, 0x51, 0x54, 0x54, 5]), 100);
    await garbage(b.ports.ws, Buffer.alloc(0), 50);
    const upgrade = Buffer.from(`GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`);
    await garbage(b.ports.ws, upgrade, 50);
    await sleep(200);
    assert.equal(b.exited, false, `broker still running; stderr: ${b.stderr().slice(-1000)}`);
    const topic = uid('alive/');
    for (const url of [b.url, b.wsUrl]) {
      const { client } = await connect(url, { protocolVersion: 5, clientId: uid('ok') });
      await client.subscribeAsync(topic, { qos: 1 });
      const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(p.toString())));
      await client.publishAsync(topic, 'still serving', { qos: 1 });
      assert.equal(await got, 'still serving');
      await client.endAsync();
    }
  });
});
