import assert from 'node:assert/strict';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { after, describe, it } from 'node:test';
import { type Listener, listenTls, type TransportRejectReason } from '../src/index.js';
import { makeCerts, recordingAcceptor, waitFor } from './support.js';

async function tlsOpen(port: number, options: { cert?: Buffer; key?: Buffer }): Promise<TLSSocket> {
  const certs = makeCerts();
  return await new Promise((resolve, reject) => {
    const s = tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', ca: certs.caCert, ...options }, () => resolve(s));
    s.once('error', reject);
  });
}

describe('TLS listener', () => {
  const listeners: Listener[] = [];
  after(async () => {
    for (const l of listeners) await l.close();
  });

  it('serves MQTT bytes over TLS with the PEM certificate and key', async () => {
    const certs = makeCerts();
    const acceptor = recordingAcceptor({ echo: true });
    const listener = await listenTls({ port: 0, host: '127.0.0.1', acceptor, tls: { cert: certs.serverCert, key: certs.serverKey } });
    listeners.push(listener);
    const s = await tlsOpen(listener.port, {});
    const got: Buffer[] = [];
    s.on('data', (c: Buffer) => got.push(c));
    s.write(Buffer.from([0xc0, 0x00]));
    await waitFor(() => Buffer.concat(got).length === 2);
    const conn = acceptor.all[0].connection;
    assert.equal(conn.transport, 'tls');
    assert.equal(conn.remoteAddress, '127.0.0.1');
    assert.equal(conn.certificateCommonName, undefined);
    s.end();
    await waitFor(() => acceptor.all[0].closed !== undefined);
  });

  it('with client certificates required: exposes the CN, refuses no certificate and a foreign CA', async () => {
    const certs = makeCerts();
    const rejected: TransportRejectReason[] = [];
    const acceptor = recordingAcceptor();
    const listener = await listenTls({
      port: 0,
      host: '127.0.0.1',
      acceptor,
      events: { connectionRejected: (_t, r) => rejected.push(r) },
      tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.caCert, requireClientCert: true },
    });
    listeners.push(listener);
    const good = await tlsOpen(listener.port, { cert: certs.clientCert, key: certs.clientKey });
    await waitFor(() => acceptor.all.length === 1);
    assert.equal(acceptor.all[0].connection.certificateCommonName, 'device-42');
    good.destroy();

    for (const opts of [{}, { cert: certs.rogueCert, key: certs.rogueKey }]) {
      // TLS 1.3: the client learns of the refusal after its handshake, on the first read.
      const outcome = await new Promise<string>((resolve) => {
        const s = tlsConnect({ port: listener.port, host: '127.0.0.1', servername: 'localhost', ca: certs.caCert, ...opts });
        s.on('error', (e) => resolve(`error: ${e.message}`));
        s.on('close', () => resolve('closed'));
        s.on('data', () => resolve('data'));
      });
      assert.notEqual(outcome, 'data');
    }
    await waitFor(() => rejected.length === 2, 3000, 'two handshake rejections');
    assert.deepEqual(rejected, ['tls_handshake_failed', 'tls_handshake_failed']);
    assert.equal(acceptor.all.length, 1, 'refused clients never reach the core');
  });

  it('survives plain-text garbage on the TLS port', async () => {
    const certs = makeCerts();
    const acceptor = recordingAcceptor();
    const listener = await listenTls({ port: 0, host: '127.0.0.1', acceptor, tls: { cert: certs.serverCert, key: certs.serverKey } });
    listeners.push(listener);
    const { connect } = await import('node:net');
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const c = connect({ port: listener.port, host: '127.0.0.1' }, () => c.write(Buffer.from('GET / HTTP/1.1\r\n\r\n')));
        c.on('error', () => {});
        c.on('close', () => resolve());
      });
    }
    const s = await tlsOpen(listener.port, {});
    await waitFor(() => acceptor.all.length === 1, 3000, 'a real client still gets through');
    s.destroy();
  });
});
