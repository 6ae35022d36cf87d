import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { type Listener, listenWebSocket, MIN_HELD_WHILE_PAUSED, type TransportRejectReason, type WebSocketEngine, type WebSocketPeer } from '../src/index.js';
import { makeCerts, recordingAcceptor, waitFor } from './support.js';
import { WEBSOCKET_ENGINES } from './ws-engines.js';

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

/** `inner`, counting the frames of each sendBatch. */
function countingEngine(inner: WebSocketEngine): { engine: WebSocketEngine; batches: number[] } {
  const batches: number[] = [];
  return {
    batches,
    engine: {
      name: inner.name,
      proxyProtocol: inner.proxyProtocol,
      listen: (options, onPeer) =>
        inner.listen(options, (peer, info) => {
          const wrapped: WebSocketPeer = {
            sendBatch: (frames) => {
              batches.push(frames.length);
              peer.sendBatch(frames);
            },
            get bufferedAmount() {
              return peer.bufferedAmount;
            },
            get needsDrain() {
              return peer.needsDrain;
            },
            close: () => peer.close(),
            terminate: () => peer.terminate(),
            pause: () => peer.pause(),
            resume: () => peer.resume(),
            bind: (events) => peer.bind(events),
          };
          onPeer(wrapped, info);
        }),
    },
  };
}

for (const { name, create, skip } of WEBSOCKET_ENGINES) describe(`WebSocket listener, ${name} engine`, { skip }, () => {
  const listeners: Listener[] = [];
  after(async () => {
    for (const l of listeners) await l.close();
  });
  const listenWs: typeof listenWebSocket = async (options) => {
    const listener = await listenWebSocket({ engine: create(), ...options });
    listeners.push(listener);
    return listener;
  };

  it('negotiates mqtt / mqttv3.1 and refuses other subprotocols and paths', async () => {
    const rejected: TransportRejectReason[] = [];
    const listener = await listenWs({
      port: 0,
      host: '127.0.0.1',
      acceptor: recordingAcceptor(),
      events: { connectionRejected: (_t, r) => rejected.push(r) },
    });
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
    const { engine, batches } = countingEngine(create());
    const acceptor = recordingAcceptor();
    const listener = await listenWs({ port: 0, host: '127.0.0.1', acceptor, engine });
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
    await waitFor(() => Buffer.concat(got).length === 40);
    assert.deepEqual(batches, [20]);
    assert.equal(got.length, 1, "the turn's 20 packets in one WebSocket message");
    assert.deepEqual(Buffer.concat(got), Buffer.concat(Array.from({ length: 20 }, () => Buffer.from([0xd0, 0x00]))));
    o.ws.close();
    await waitFor(() => acceptor.all[0].closed !== undefined);
  });

  it('closes the connection on a text frame [MQTT-6.0.0-1]', async () => {
    const rejected: TransportRejectReason[] = [];
    const acceptor = recordingAcceptor();
    const listener = await listenWs({ port: 0, host: '127.0.0.1', acceptor, events: { connectionRejected: (_t, r) => rejected.push(r) } });
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
    const listener = await listenWs({ port: 0, host: '127.0.0.1', acceptor, highWaterMark: 64 * 1024 });
    const o = await wsOpen(`ws://127.0.0.1:${listener.port}/mqtt`, ['mqtt']);
    assert.ok(o.ok);
    let received = 0;
    o.ws.on('message', (d: Buffer) => {
      received += d.length;
    });
    o.ws.pause();
    await waitFor(() => acceptor.all.length === 1);
    const rec = acceptor.all[0];
    // 16 KiB: the one message size uWS v20.30 corrupts under backpressure (ws-engine-uws.ts)
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
    const listener = await listenWs({ port: 0, host: '127.0.0.1', acceptor });
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
      // ws answers 400 and closes; uWS may wait for its HTTP idle timeout (10 s)
      setTimeout(() => c.destroy(), 300);
    });
    const again = await wsOpen(`ws://127.0.0.1:${listener.port}/mqtt`, ['mqtt']);
    assert.ok(again.ok);
    again.ws.close();
  });

  it('secure WebSocket: the client verifies the server certificate; frames echo', async () => {
    const certs = makeCerts();
    const acceptor = recordingAcceptor({ echo: true });
    const listener = await listenWs({ port: 0, host: '127.0.0.1', acceptor, tls: { cert: certs.serverCert, key: certs.serverKey } });
    assert.equal(listener.transport, 'wss');
    const o = await wsOpen(`wss://localhost:${listener.port}/mqtt`, ['mqtt'], { ca: certs.caCert });
    assert.ok(o.ok && o.protocol === 'mqtt');
    const got: Buffer[] = [];
    o.ws.on('message', (d: Buffer) => got.push(d));
    const big = Buffer.alloc(200 * 1024, 7);
    o.ws.send(big);
    await waitFor(() => Buffer.concat(got).length === big.length);
    assert.deepEqual(Buffer.concat(got), big);
    assert.equal(acceptor.all[0].connection.transport, 'wss');
    await assert.rejects(wsOpen(`wss://localhost:${listener.port}/mqtt`, ['mqtt'], {}), 'an untrusted server certificate is refused by the client');
    o.ws.close();
  });

  it('a message above maxMessageBytes closes the connection; one at the limit passes', async () => {
    const acceptor = recordingAcceptor();
    const listener = await listenWs({ port: 0, host: '127.0.0.1', acceptor, maxMessageBytes: 4096 });
    const o = await wsOpen(`ws://127.0.0.1:${listener.port}/mqtt`, ['mqtt']);
    assert.ok(o.ok);
    o.ws.send(Buffer.alloc(4096, 1));
    await waitFor(() => acceptor.all[0]?.received().length === 4096);
    const code = new Promise<number>((r) => o.ws.once('close', (c: number) => r(c)));
    o.ws.send(Buffer.alloc(4097, 1));
    // ws sends close code 1009 (message too big); uWS drops the socket (1006 at the client).
    assert.equal(await code, name === 'ws' ? 1009 : 1006);
    await waitFor(() => acceptor.all[0].closed !== undefined);
    assert.equal(acceptor.all[0].received().length, 4096);
  });

  it('counts open connections; stopAccepting refuses new ones and keeps open ones; a used port fails with EADDRINUSE', async () => {
    const acceptor = recordingAcceptor({ echo: true });
    const listener = await listenWs({ port: 0, host: '127.0.0.1', acceptor });
    const a = await wsOpen(`ws://127.0.0.1:${listener.port}/mqtt`, ['mqtt']);
    const b = await wsOpen(`ws://127.0.0.1:${listener.port}/mqtt`, ['mqtt']);
    assert.ok(a.ok && b.ok);
    await waitFor(() => listener.connections === 2, 3000, 'two connections');
    b.ws.close();
    await waitFor(() => listener.connections === 1, 3000, 'one connection');
    await assert.rejects(listenWebSocket({ engine: create(), port: listener.port, host: '127.0.0.1', acceptor }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'EADDRINUSE');
      assert.match(err.message, /address already in use/);
      return true;
    });
    listener.stopAccepting();
    await assert.rejects(wsOpen(`ws://127.0.0.1:${listener.port}/mqtt`, ['mqtt']));
    const got: Buffer[] = [];
    a.ws.on('message', (d: Buffer) => got.push(d));
    a.ws.send(Buffer.from([0xc0, 0x00]));
    await waitFor(() => got.length === 1, 3000, 'the open connection still echoes');
    await listener.close();
    await waitFor(() => acceptor.all[0].closed !== undefined, 3000, 'closed by close()');
  });

  it('secure WebSocket with a client certificate exposes its CN', { skip: name === 'uws' && 'uWebSockets.js cannot verify client certificates (WS_ENGINE=auto uses ws for them)' }, async () => {
    const certs = makeCerts();
    const acceptor = recordingAcceptor({ echo: true });
    const listener = await listenWs({
      port: 0,
      host: '127.0.0.1',
      acceptor,
      tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.caCert, requireClientCert: true },
    });
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

  /** A WebSocket client connected to a listener (1 MiB messages) whose side paused reading at once. */
  async function pausedClient(options: { resumeOnOverflow?: boolean }) {
    const rejected: TransportRejectReason[] = [];
    const acceptor = recordingAcceptor(options);
    const listener = await listenWs({ port: 0, host: '127.0.0.1', acceptor, maxMessageBytes: 1024 * 1024, events: { connectionRejected: (_t, r) => rejected.push(r) } });
    const o = await wsOpen(`ws://127.0.0.1:${listener.port}/mqtt`, ['mqtt']);
    assert.ok(o.ok);
    await waitFor(() => acceptor.all.length === 1);
    const rec = acceptor.all[0];
    rec.connection.pauseReading();
    return { rejected, o, rec };
  }

  it('while paused, messages are held (uws) or left unread (ws); a client that ignores the pause past the bound is closed (uws)', async () => {
    const { rejected, o, rec } = await pausedClient({});
    const chunk = Buffer.alloc(256 * 1024, 3);
    const chunks = MIN_HELD_WHILE_PAUSED / chunk.length + 4;
    const closed = new Promise<void>((r) => o.ws.once('close', () => r()));
    for (let i = 0; i < chunks && o.ws.readyState === WebSocket.OPEN; i++) o.ws.send(chunk);
    if (name === 'ws') {
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(rec.chunks.length, 0, 'nothing read while paused');
      rec.connection.resumeReading();
      await waitFor(() => rec.received().length === chunks * chunk.length, 5000, 'everything after resume');
      o.ws.close();
      return;
    }
    await closed;
    assert.deepEqual(rejected, ['ws_read_overflow']);
    assert.equal(rec.overflows, 1, 'the handler was asked to resume first');
    assert.equal(rec.chunks.length, 0);
  });

  it('a handler that resumes when asked (uws: input held past the bound) gets every byte, in order, and the connection stays', async () => {
    const { rejected, o, rec } = await pausedClient({ resumeOnOverflow: true });
    const chunks = MIN_HELD_WHILE_PAUSED / (256 * 1024) + 4;
    const sent: Buffer[] = [];
    for (let i = 0; i < chunks; i++) sent.push(Buffer.alloc(256 * 1024, i));
    for (const chunk of sent) o.ws.send(chunk);
    if (name === 'ws') {
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(rec.chunks.length, 0, 'nothing read while paused');
      rec.connection.resumeReading();
    }
    await waitFor(() => rec.received().length === chunks * 256 * 1024, 5000, 'everything');
    assert.ok(rec.received().equals(Buffer.concat(sent)), 'in order');
    assert.equal(rec.overflows, name === 'uws' ? 1 : 0);
    assert.deepEqual(rejected, []);
    assert.equal(o.ws.readyState, WebSocket.OPEN);
    o.ws.close();
  });
});
