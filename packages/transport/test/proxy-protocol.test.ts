import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import {
  chooseWebSocketEngine,
  createWsEngine,
  encodeProxyV1,
  type Listener,
  listenTcp,
  listenTls,
  listenWebSocket,
  ProxyProtocolError,
  parseProxyHeader,
  type TransportRejectReason,
  WebSocketEngineError,
} from '../src/index.js';
import { makeCerts, recordingAcceptor, waitFor } from './support.js';
import { WEBSOCKET_ENGINES } from './ws-engines.js';

const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function v2(command: number, family: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = 0x20 | command;
  head[1] = family;
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([SIG, head, body]);
}

function v2Tcp4(src: string, sport: number, dst: string, dport: number, tlv = Buffer.alloc(0)): Buffer {
  const body = Buffer.alloc(12);
  src.split('.').forEach((o, i) => {
    body[i] = Number(o);
  });
  dst.split('.').forEach((o, i) => {
    body[4 + i] = Number(o);
  });
  body.writeUInt16BE(sport, 8);
  body.writeUInt16BE(dport, 10);
  return v2(1, 0x11, Buffer.concat([body, tlv]));
}

describe('PROXY protocol parser', () => {
  it('parses v1 TCP4, TCP6 and UNKNOWN, leaving the following bytes', () => {
    const buf = Buffer.concat([Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 51234 1883\r\n'), Buffer.from([0x10, 0x00])]);
    const r = parseProxyHeader(buf);
    assert.ok(r.done);
    assert.deepEqual(r.header.source, { address: '203.0.113.7', port: 51234 });
    assert.deepEqual(r.header.destination, { address: '10.0.0.1', port: 1883 });
    assert.equal(r.consumed, buf.length - 2);
    const r6 = parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::2 4000 8883\r\n'));
    assert.ok(r6.done);
    assert.deepEqual(r6.header.source, { address: '2001:db8::1', port: 4000 });
    const ru = parseProxyHeader(Buffer.from('PROXY UNKNOWN ffff:: 1:: 1 2\r\n'));
    assert.ok(ru.done);
    assert.equal(ru.header.source, undefined);
    assert.deepEqual(encodeProxyV1({ address: '1.2.3.4', port: 5 }, { address: '6.7.8.9', port: 10 }).toString(), 'PROXY TCP4 1.2.3.4 6.7.8.9 5 10\r\n');
  });

  it('parses v2 IPv4 with TLVs, IPv6, and LOCAL', () => {
    const tlv = Buffer.from([0x01, 0x00, 0x02, 0x68, 0x32]); // ALPN "h2"
    const buf = Buffer.concat([v2Tcp4('198.51.100.9', 40000, '10.1.2.3', 1883, tlv), Buffer.from('MQTT')]);
    const r = parseProxyHeader(buf);
    assert.ok(r.done);
    assert.equal(r.header.version, 2);
    assert.deepEqual(r.header.source, { address: '198.51.100.9', port: 40000 });
    assert.equal(buf.subarray(r.consumed).toString(), 'MQTT');
    const body6 = Buffer.alloc(36);
    Buffer.from('20010db8000000000000000000000001', 'hex').copy(body6, 0);
    Buffer.from('fe800000000000000000000000000abc', 'hex').copy(body6, 16);
    body6.writeUInt16BE(1234, 32);
    body6.writeUInt16BE(8883, 34);
    const r6 = parseProxyHeader(v2(1, 0x21, body6));
    assert.ok(r6.done);
    assert.deepEqual(r6.header.source, { address: '2001:db8::1', port: 1234 });
    assert.deepEqual(r6.header.destination, { address: 'fe80::abc', port: 8883 });
    const local = parseProxyHeader(v2(0, 0x00, Buffer.alloc(0)));
    assert.ok(local.done);
    assert.equal(local.header.source, undefined);
  });

  it('asks for more bytes on every strict prefix of a valid header', () => {
    for (const full of [Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), v2Tcp4('1.2.3.4', 1, '5.6.7.8', 2)]) {
      for (let n = 0; n < full.length; n++) assert.deepEqual(parseProxyHeader(full.subarray(0, n)), { done: false }, `prefix ${n}`);
      assert.ok(parseProxyHeader(full).done);
    }
  });

  it('rejects malformed headers', () => {
    const bad = [
      Buffer.from([0x10, 0x0c, 0x00, 0x04]), // an MQTT CONNECT, no header
      Buffer.from('PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n'),
      Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n'),
      Buffer.from('PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n'),
      Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n'),
      Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n'),
      Buffer.from(`PROXY TCP4 ${'9'.repeat(120)}`),
      Buffer.from('PROXZ'),
      Buffer.concat([SIG.subarray(0, 6), Buffer.from([0xff])]),
      v2(1, 0x11, Buffer.alloc(4)), // IPv4 block too short
      Buffer.concat([SIG, Buffer.from([0x31, 0x11, 0x00, 0x00])]), // version 3
      Buffer.concat([SIG, Buffer.from([0x22, 0x11, 0x00, 0x00])]), // command 2
      Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0xff, 0xff])]), // absurd length
    ];
    for (const b of bad) assert.throws(() => parseProxyHeader(b), ProxyProtocolError, b.toString('hex'));
  });

  it('never throws anything but ProxyProtocolError on random input', () => {
    for (let i = 0; i < 2000; i++) {
      const b = randomBytes(i % 200);
      if (i % 3 === 0) SIG.copy(b, 0, 0, Math.min(12, b.length));
      if (i % 3 === 1) Buffer.from('PROXY ').copy(b, 0, 0, Math.min(6, b.length));
      try {
        parseProxyHeader(b);
      } catch (err) {
        assert.ok(err instanceof ProxyProtocolError);
      }
    }
  });
});

describe('PROXY protocol on listeners', () => {
  const listeners: Listener[] = [];
  after(async () => {
    for (const l of listeners) await l.close();
  });

  async function open(port: number): Promise<Socket> {
    return await new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1' }, () => resolve(s));
      s.once('error', reject);
    });
  }

  it('TCP: reports the proxied address and passes the bytes after the header (same segment)', async () => {
    const acceptor = recordingAcceptor();
    const listener = await listenTcp({ port: 0, host: '127.0.0.1', acceptor, proxyProtocol: true });
    listeners.push(listener);
    const c1 = await open(listener.port);
    c1.write(Buffer.concat([Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 51234 1883\r\n'), Buffer.from([0x10, 0x01, 0x02])]));
    const c2 = await open(listener.port);
    c2.write(v2Tcp4('198.51.100.9', 40000, '10.1.2.3', 1883).subarray(0, 7));
    await new Promise((r) => setTimeout(r, 20));
    c2.write(Buffer.concat([v2Tcp4('198.51.100.9', 40000, '10.1.2.3', 1883).subarray(7), Buffer.from('after')]));
    await waitFor(() => acceptor.all.length === 2 && acceptor.all.every((r) => r.chunks.length > 0));
    const byAddr = new Map(acceptor.all.map((r) => [r.connection.remoteAddress, r]));
    assert.deepEqual(byAddr.get('203.0.113.7')?.received(), Buffer.from([0x10, 0x01, 0x02]));
    assert.equal(byAddr.get('203.0.113.7')?.connection.remotePort, 51234);
    assert.equal(byAddr.get('198.51.100.9')?.received().toString(), 'after');
    c1.destroy();
    c2.destroy();
  });

  it('TCP: a malformed or missing header closes the socket and is counted; the core never sees it', async () => {
    const rejected: TransportRejectReason[] = [];
    const acceptor = recordingAcceptor();
    const listener = await listenTcp({
      port: 0,
      host: '127.0.0.1',
      acceptor,
      proxyProtocol: true,
      proxyHeaderTimeoutMs: 200,
      events: { connectionRejected: (_t, reason) => rejected.push(reason) },
    });
    listeners.push(listener);
    const bad = await open(listener.port);
    const badClosed = new Promise<void>((r) => bad.once('close', () => r()));
    bad.write(Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54]));
    await badClosed;
    const silent = await open(listener.port);
    const silentClosed = new Promise<void>((r) => silent.once('close', () => r()));
    await silentClosed;
    for (let i = 0; i < 20; i++) {
      const c = await open(listener.port);
      c.on('error', () => {});
      c.write(randomBytes(50 + i));
      c.end();
    }
    await waitFor(() => rejected.length >= 22, 3000, 'rejections');
    assert.equal(rejected[0], 'proxy_header_invalid');
    assert.ok(rejected.includes('proxy_header_timeout'));
    assert.equal(acceptor.all.length, 0);
  });

  it('TLS: the header precedes the handshake and the proxied address is reported', async () => {
    const certs = makeCerts();
    const acceptor = recordingAcceptor({ echo: true });
    const listener = await listenTls({
      port: 0,
      host: '127.0.0.1',
      acceptor,
      proxyProtocol: true,
      tls: { cert: certs.serverCert, key: certs.serverKey },
    });
    listeners.push(listener);
    const raw = await open(listener.port);
    raw.cork(); // header and ClientHello in one segment, as a balancer would send them
    raw.write(Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 6000 8883\r\n'));
    const secure = tlsConnect({ socket: raw, ca: certs.caCert, servername: 'localhost' });
    process.nextTick(() => raw.uncork());
    const got: Buffer[] = [];
    secure.on('data', (c: Buffer) => got.push(c));
    await new Promise<void>((r) => secure.once('secureConnect', () => r()));
    secure.write('ping');
    await waitFor(() => Buffer.concat(got).toString() === 'ping', 3000, 'echo over TLS');
    assert.equal(acceptor.all[0].connection.remoteAddress, '2001:db8::7');
    assert.equal(acceptor.all[0].connection.transport, 'tls');
    secure.destroy();
  });
});

/** A WebSocket (subprotocol mqtt) whose TCP connection starts with `header`, before the HTTP upgrade or the TLS handshake. */
async function proxiedWebSocket(port: number, header: Buffer, ca?: Buffer): Promise<WebSocket> {
  const url = `${ca === undefined ? 'ws' : 'wss'}://localhost:${port}/mqtt`;
  const createConnection = (): Socket => {
    const raw = connect({ port, host: '127.0.0.1' });
    raw.write(header);
    return ca === undefined ? raw : tlsConnect({ socket: raw, ca, servername: 'localhost' });
  };
  return await new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['mqtt'], { createConnection });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

describe('PROXY protocol on WebSocket listeners', () => {
  const listeners: Listener[] = [];
  after(async () => {
    for (const l of listeners) await l.close();
  });

  it('ws and wss (ws engine): the header precedes the upgrade / the handshake; the proxied address and port are reported', async () => {
    const certs = makeCerts();
    const acceptor = recordingAcceptor({ echo: true });
    const engine = createWsEngine();
    const plain = await listenWebSocket({ port: 0, host: '127.0.0.1', acceptor, engine, proxyProtocol: true });
    const secure = await listenWebSocket({ port: 0, host: '127.0.0.1', acceptor, engine, proxyProtocol: true, tls: { cert: certs.serverCert, key: certs.serverKey } });
    listeners.push(plain, secure);
    const clients = [
      await proxiedWebSocket(plain.port, Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 51234 8083\r\n')),
      await proxiedWebSocket(plain.port, v2Tcp4('198.51.100.9', 40000, '10.1.2.3', 8083)),
      await proxiedWebSocket(secure.port, Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 6000 8084\r\n'), certs.caCert),
      await proxiedWebSocket(secure.port, v2Tcp4('192.0.2.44', 41000, '10.1.2.3', 8084), certs.caCert),
    ];
    const echoes = clients.map((ws) => new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString()))));
    for (const [i, ws] of clients.entries()) ws.send(Buffer.from(`hello ${i}`));
    assert.deepEqual(await Promise.all(echoes), ['hello 0', 'hello 1', 'hello 2', 'hello 3']);
    const seen = acceptor.all.map((r) => `${r.connection.transport} ${r.connection.remoteAddress} ${r.connection.remotePort}`).sort();
    assert.deepEqual(seen, ['ws 198.51.100.9 40000', 'ws 203.0.113.7 51234', 'wss 192.0.2.44 41000', 'wss 2001:db8::7 6000']);
    for (const ws of clients) ws.close();
  });

  it('ws: a client without a header, or with a malformed one, is closed and counted; the core never sees it', async () => {
    const rejected: TransportRejectReason[] = [];
    const acceptor = recordingAcceptor();
    const listener = await listenWebSocket({
      port: 0,
      host: '127.0.0.1',
      acceptor,
      engine: createWsEngine(),
      proxyProtocol: true,
      proxyHeaderTimeoutMs: 200,
      events: { connectionRejected: (_t, reason) => rejected.push(reason) },
    });
    listeners.push(listener);
    await assert.rejects(
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${listener.port}/mqtt`, ['mqtt']);
        ws.once('open', resolve);
        ws.once('error', reject);
      }),
      'a plain WebSocket client is refused',
    );
    await assert.rejects(proxiedWebSocket(listener.port, Buffer.from('PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n')), 'a malformed header is refused');
    const silent = await new Promise<Socket>((resolve) => {
      const s = connect({ port: listener.port, host: '127.0.0.1' }, () => resolve(s));
    });
    await new Promise<void>((r) => silent.once('close', () => r()));
    await waitFor(() => rejected.length === 3, 3000, 'rejections');
    assert.deepEqual(rejected, ['proxy_header_invalid', 'proxy_header_invalid', 'proxy_header_timeout']);
    assert.equal(acceptor.all.length, 0);
    await waitFor(() => listener.connections === 0, 3000, 'refused sockets closed');
  });

  it('WS_ENGINE=auto takes ws for PROXY protocol on a WebSocket listener; uws refuses it', async () => {
    const auto = chooseWebSocketEngine('auto', { clientCertificates: false, proxyProtocol: true });
    assert.equal(auto.engine.name, 'ws');
    assert.match(auto.reason, /cannot read the PROXY protocol/);
    assert.throws(() => chooseWebSocketEngine('uws', { clientCertificates: false, proxyProtocol: true }), WebSocketEngineError);
    const uws = WEBSOCKET_ENGINES.find((e) => e.name === 'uws');
    if (uws !== undefined && uws.skip === false) {
      await assert.rejects(listenWebSocket({ port: 0, host: '127.0.0.1', acceptor: recordingAcceptor(), engine: uws.create(), proxyProtocol: true }), /cannot read the PROXY protocol/);
    }
  });
});
