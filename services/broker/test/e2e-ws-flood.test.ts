// A publisher floods QoS 0 over WebSocket into a subscriber that reads in bursts: the node holds
// the publisher back while the subscriber's queue is full (session/flow-control.ts). The `ws`
// engine stops reading the publisher's socket; uWebSockets.js cannot, so the engine holds what
// arrives and, past its bound, the publisher is let through (the subscriber's queue limit drops
// QoS 0, counted) instead of being cut off. Before, uws closed the publisher (ws_read_overflow).
// Run once per WebSocket engine.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { WebSocket } from 'ws';
import { waitUntil } from '@mqtt-broker/test-support';
import { connect, uid } from './helpers/clients.js';
import { sleep, suiteSkipReason } from './helpers/processes.js';
import { useTarget } from './helpers/suite.js';
import { WS_ENGINE_VARIANTS } from './helpers/ws-engines.js';

const FLOOD_MS = 3000;
const PUBLISHES_PER_MESSAGE = 32;

/** A raw MQTT 3.1.1 client over WebSocket: CONNECT, then whole WebSocket messages of PUBLISHes. */
async function openPublisher(url: string): Promise<{ ws: WebSocket; packets: string[]; closed: () => boolean }> {
  const ws = new WebSocket(url, ['mqtt']);
  const packets: string[] = [];
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  parser.on('packet', (p) => packets.push(p.cmd));
  ws.on('message', (data: Buffer) => parser.parse(data));
  let isClosed = false;
  ws.on('close', () => {
    isClosed = true;
  });
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: uid('wsflood'), keepalive: 60 }));
  await waitUntil(() => packets.includes('connack'), 5000, 'CONNACK');
  return { ws, packets, closed: () => isClosed };
}

for (const { engine, skip } of WS_ENGINE_VARIANTS) {
  describe(`e2e load: QoS 0 flood over WebSocket into a subscriber that reads in bursts, WS_ENGINE=${engine}`, { skip: suiteSkipReason() || skip }, () => {
    const broker = useTarget({ env: { WS_ENGINE: engine, MAX_QUEUED_MESSAGES: '1000' }, mosquitto: ['max_queued_messages 1000'] });

    it('the publisher stays connected and served, and the subscriber keeps receiving', async () => {
      const topic = uid('wsflood/');
      const sub = await connect(broker().url, { protocolVersion: 4, clientId: uid('burst') });
      await sub.client.subscribeAsync(topic, { qos: 0 });
      let received = 0;
      sub.client.on('message', () => received++);
      const socket = (sub.client as unknown as { stream: { pause(): void; resume(): void } }).stream;
      const pub = await openPublisher(broker().wsUrl);
      const one = mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.alloc(1024, 0x61), qos: 0, retain: false, dup: false });
      const message = Buffer.concat(Array.from({ length: PUBLISHES_PER_MESSAGE }, () => one));
      let sent = 0;
      const started = Date.now();
      // the subscriber reads for 30 ms out of every 230 (paused shorter than a stall, 250 ms)
      const reader = (async () => {
        while (Date.now() - started < FLOOD_MS) {
          socket.pause();
          await sleep(200);
          socket.resume();
          await sleep(30);
        }
      })();
      while (Date.now() - started < FLOOD_MS && !pub.closed()) {
        if (pub.ws.bufferedAmount < 1024 * 1024) {
          pub.ws.send(message);
          sent += PUBLISHES_PER_MESSAGE;
        } else await sleep(1);
        if (sent % 1024 === 0) await new Promise((r) => setImmediate(r));
      }
      await reader;
      assert.equal(pub.closed(), false, `publisher cut off after ${sent} PUBLISHes`);
      pub.ws.send(mqttPacket.generate({ cmd: 'pingreq' }));
      await waitUntil(() => pub.packets.includes('pingresp') || pub.closed(), 10_000, 'PINGRESP or close');
      assert.ok(pub.packets.includes('pingresp'), 'the publisher is still served: PINGREQ answered');
      assert.ok(received > 0 && sent > 20_000, `flood too small to mean anything: ${sent} sent, ${received} received`);
      console.log(`# WS_ENGINE=${engine}: ${sent} x 1 KiB QoS 0 published in ${FLOOD_MS} ms, ${received} delivered to the burst reader`);
      pub.ws.terminate();
      sub.client.end(true);
    });
  });
}
