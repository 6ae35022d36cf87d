// The UDP listener of the MQTT-SN gateway: datagrams arrive in order with their source, a burst
// read in one poll is handed over in one macrotask (so the TCP writes it causes are flushed once,
// not once per datagram), and send() reaches the source.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { listenUdp } from '../src/index.js';

describe('UDP listener', () => {
  it('hands a burst over in order, in one macrotask, and answers the source', async () => {
    const received: string[] = [];
    const sources = new Set<string>();
    let turns = 0;
    let turnOpen = false;
    const listener = await listenUdp({
      host: '127.0.0.1',
      port: 0,
      onDatagram(datagram, address, port) {
        received.push(datagram.toString());
        sources.add(`${address}:${port}`);
        if (!turnOpen) {
          turnOpen = true;
          turns++;
          process.nextTick(() => {
            turnOpen = false;
          });
        }
      },
    });
    const client = createSocket('udp4');
    try {
      client.connect(listener.port, '127.0.0.1');
      await once(client, 'connect');
      const sent = Array.from({ length: 20 }, (_, i) => `d${i}`);
      for (const d of sent) client.send(d);
      for (let i = 0; i < 100 && received.length < sent.length; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(received, sent);
      assert.equal(sources.size, 1);
      assert.equal(turns, 1, 'one nextTick boundary for the whole burst');

      const [address, port] = [...sources][0]!.split(':');
      const answer = once(client, 'message');
      listener.send(Buffer.from('ack'), address!, Number(port));
      const [reply] = (await answer) as [Buffer];
      assert.equal(reply.toString(), 'ack');
    } finally {
      client.close();
      await listener.close();
    }
  });
});
