import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import {
  createWsEngine,
  type Listener,
  listenWebSocket,
  type TransportRejectReason,
  type WebSocketEngine,
  type WebSocketPeer,
} from '../src/index.js';
import { makeCerts, recordingAcceptor, waitFor } from './support.js';

type Outcome = { ok: true; ws: WebSocket; protocol: string } | { ok: false; status: number };

async function wsOpen(url: string, protocols: string[] | undefined, extra: Record<string, unknown> = {}): Promise<Outcome> {
  return await new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, extra);
    ws.once('open', () => resolve({ ok: true, ws, protocol: ws.protocol }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ ok: false, status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once('error', (e) => reject(e));
  });
}

function countingEngine(): { engine: WebSocketEngine; batches: number[] } {
  const inner = createWsEngine();
  const batches: number[] = [];
  return {
    batches,
    engine: {
      listen: (options, onPeer) =>
        inner.listen(options, (peer, info) => {
          const wrapped: WebSocketPeer = Object.create(peer) as WebSocketPeer;
          wrapped.sendBatch = (frames) => {
            batches.push(frames.length);
            peer.sendBatch(frames);
          };
          onPeer(wrapped, info);
        }),
    },
  };
}

describe('WebSocket listener', () => {
  const listeners: Listener[] = [];
  after(async () => {
    for (const l of listeners) await l.close();
  });

  it('negotiates mqtt / mqttv3.1 and refuses other subprotocols and paths', async () => {
    const rejected: TransportRejectReason[] = [];
    const listener = await listenWebSocket({
      port: 0,
      host: '127.0.0.1',
      acceptor: recordingAcceptor(),
      events: { connectionRejected: (_t, r) => rejected.push(r) },
    });
    listeners.push(listener);
    const base = `ws://127.0.0.1:${listener.port}`;
    const a = await wsOpen(`${base}/mqtt`, ['mqtt']);
    assert.ok(a.ok && a.protocol === 'mqtt');
    const b = await wsOpen(`${base}/mqtt`, ['mqttv3.1']);
    assert.ok(b.ok && b.protocol === 'mqttv3.1');
    const c = await wsOpen(`${base}/mqtt`, ['chat', 'mqtt']);
    assert.ok(c.ok && c.protocol === 'mqtt');
    assert.deepEqual(await wsOpen(`${base}/mqtt`, ['chat']), { ok: false, status: 400 });
    assert.deepEqual(await wsOpen(`${base}/mqtt`, undefined), { ok: false, status: 400 });
    assert.deepEqual(await wsOpen(`${base}/other`, ['mqtt']), { ok: false, status: 404 });
    assert.deepEqual(rejected, ['ws_bad_subprotocol', 'ws_bad_subprotocol', 'ws_bad_path']);
    for (const o of [a, b, c]) if (o.ok) o.ws.close();
  });

  it('passes packets split across frames and several packets in one frame; one batch per turn', async () => {
    const { engine, batches } = countingEngine();
    const acceptor = recordingAcceptor();
    const listener = await listenWebSocket({ port: 0, host: '127.0.0.1', acceptor, engine });
    listeners.push(listener);
    const o = await wsOpen(`ws://127.0.0.1:${listener.port}/mqtt`, ['mqtt']);
    assert.ok(o.ok);
    const got: Buffer[] = [];
    o.ws.on('message', (d: Buffer) => got.push(d));
    const publish = Buffer.from([0x30, 0x06, 0x00, 0x01, 0x74, 0x68, 0x69, 0x21]);
    o.ws.send(publish.subarray(0, 3));
    o.ws.send(publish.subarray(3));
    o.ws.send(Buffer.concat([Buffer.from([0xc0, 0x00]), Buffer.from([0xc0, 0x00])]));
    await waitFor(() => acceptor.all[0]?.received().length === 12);
    assert.deepEqual(acceptor.all[0].received(), Buffer.concat([publish, Buffer.from([0xc0, 0x00, 0xc0, 0x00])]));
    const conn = acceptor.all[0].connection;
    assert.equal(conn.transport, 'ws');
    assert.equal(conn.remoteAddress, '127.0.0.1');
    for (let i = 0; i < 20; i++) conn.write(Buffer.from([0xd0, 0x00]));
    await waitFor(() => got.length === 20);
    assert.deepEqual(batches, [20]);
    o.ws.close();
    await waitFor(() => acceptor.all[0].closed !== undefined);
  });

  it('closes the connection on a text frame [MQTT-6.0.0-1]', async () => {
    const rejected: TransportRejectReason[] = [];
    const acceptor = recordingAcceptor();
    const listener = await listenWebSocket({ port: 0, host: '127.0.0.1', acceptor, events: { connectionRejected: (_t, r) => rejected.push(r) } });
    listeners.push(listener);
    const o = await wsOpen(`ws://127.0.0.1:${listener.port}/mqtt`, ['mqtt']);
    assert.ok(o.ok);
    const closed = new Promise<void>((r) => o.ws.once('close', () => r()));
    o.ws.send('hello');
    await closed;
    assert.deepEqual(rejected, ['ws_text_frame']);
    assert.equal(acceptor.all[0].chunks.length, 0);
  });

  it('backpressure: write returns false above the high-water mark, onDrain once the client reads', async () => {
    const acceptor = recordingAcceptor();
    const listener = await listenWebSocket({ port: 0, host: '127.0.0.1', acceptor, highWaterMark: 64 * 1024 });
    listeners.push(listener);
    const o = await wsOpen(`ws://127.0.0.1:${listener.port}/mqtt`, ['mqtt']);
    assert.ok(o.ok);
    let received = 0;
    o.ws.on('message', (d: Buffer) => {
      received += d.length;
    });
    o.ws.pause();
    await waitFor(() => acceptor.all.length === 1);
    const rec = acceptor.all[0];
    const frame = Buffer.alloc(16 * 1024, 1);
    let written = 0;
    // Write until write() says stop AND no drain follows (the kernel buffers are full too).
    let stuck = false;
    for (let turn = 0; turn < 4000 && !stuck; turn++) {
      const drainsBefore = rec.drains;
      let refused = false;
      for (let k = 0; k < 4 && !refused; k++) {
        refused = !rec.connection.write(frame);
        written += frame.length;
      }
      if (refused) assert.ok(rec.connection.bufferedBytes >= 64 * 1024);
      await new Promise((r) => setTimeout(r, refused ? 30 : 0));
      stuck = refused && rec.drains === drainsBefore;
    }
    assert.ok(stuck, 'write eventually returns false with no drain in sight');
    const drains = rec.drains;
    o.ws.resume();
    await waitFor(() => rec.drains === drains + 1, 5000, 'onDrain');
    await waitFor(() => received === written, 5000, 'all bytes');
    o.ws.close();
  });

  it('pauseReading holds messages until resumeReading; random binary is passed on, not fatal', async () => {
    const acceptor = recordingAcceptor();
    const listener = await listenWebSocket({ port: 0, host: '127.0.0.1', acceptor });
    listeners.push(listener);
    const o = await wsOpen(`ws://127.0.0.1:${listener.port}/mqtt`, ['mqtt']);
    assert.ok(o.ok);
    await waitFor(() => acceptor.all.length === 1);
    acceptor.all[0].connection.pauseReading();
    o.ws.send(Buffer.from('abc'));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(acceptor.all[0].chunks.length, 0);
    acceptor.all[0].connection.resumeReading();
    await waitFor(() => acceptor.all[0].received().toString() === 'abc');
    o.ws.terminate();
    // Raw garbage on the HTTP port does not take the listener down.
    const { connect } = await import('node:net');
    await new Promise<void>((resolve) => {
      const c = connect({ port: listener.port, host: '127.0.0.1' }, () => c.write(Buffer.from([0, 1, 2, 3, 255, 13, 10, 13, 10])));
      c.on('error', () => {});
      c.on('close', () => resolve());
    });
    const again = await wsOpen(`ws://127.0.0.1:${listener.port}/mqtt`, ['mqtt']);
    assert.ok(again.ok);
    again.ws.close();
  });

  it('secure WebSocket with a client certificate exposes its CN', async () => {
    const certs = makeCerts();
    const acceptor = recordingAcceptor({ echo: true });
    const listener = await listenWebSocket({
      port: 0,
      host: '127.0.0.1',
      acceptor,
      tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.caCert, requireClientCert: true },
    });
    listeners.push(listener);
    assert.equal(listener.transport, 'wss');
    const o = await wsOpen(`wss://localhost:${listener.port}/mqtt`, ['mqtt'], { ca: certs.caCert, cert: certs.clientCert, key: certs.clientKey });
    assert.ok(o.ok);
    const got: Buffer[] = [];
    o.ws.on('message', (d: Buffer) => got.push(d));
    o.ws.send(Buffer.from([0xc0, 0x00]));
    await waitFor(() => got.length === 1);
    assert.equal(acceptor.all[0].connection.transport, 'wss');
    assert.equal(acceptor.all[0].connection.certificateCommonName, 'device-42');
    await assert.rejects(wsOpen(`wss://localhost:${listener.port}/mqtt`, ['mqtt'], { ca: certs.caCert }));
    o.ws.close();
  });
});
