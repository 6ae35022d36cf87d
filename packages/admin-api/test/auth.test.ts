/**
 * The admin API's bearer token and TLS, over a real core broker and real gRPC connections:
 * refused calls are UNAUTHENTICATED (typed client and mqttctl), TLS needs the right CA.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { createAdminFacade, createBroker } from '@mqtt-broker/core';
import { makeCertificates, type TestCertificates } from '@mqtt-broker/test-support';
import { AdminApiError, AdminClient, type AdminServer, loadAdminService, runMqttctl, startAdminServer } from '../src/index.js';

const TOKEN = 'correct-horse-battery-staple-42';

function grpcCode(code: status): (e: unknown) => boolean {
  return (e: unknown) => e instanceof AdminApiError && e.code === code;
}

async function ctl(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runMqttctl(args, { out: (t) => (out += t), err: (t) => (err += t), env });
  return { code, out, err };
}

describe('admin API with a token', () => {
  const broker = createBroker({ nodeId: 'tok-1', version: '1.0.0' });
  const failures: Array<[string, string]> = [];
  let server: AdminServer;
  let address: string;
  before(async () => {
    server = await startAdminServer({ port: 0, token: TOKEN, facade: createAdminFacade(broker), onAuthFailure: (method, _peer, reason) => failures.push([method, reason]) });
    address = `127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server.close(500);
    await broker.close();
  });

  it('binds loopback by default and says a token is required', () => {
    assert.equal(server.host, '127.0.0.1');
    assert.equal(server.tokenRequired, true);
    assert.equal(server.tls, false);
  });

  it('refuses every RPC without a token or with a wrong one (UNAUTHENTICATED), answers with the right one', async () => {
    const none = new AdminClient(address, { timeoutMs: 3000 });
    const wrong = new AdminClient(address, { timeoutMs: 3000, token: `${TOKEN}x` });
    const right = new AdminClient(address, { timeoutMs: 3000, token: TOKEN });
    try {
      await assert.rejects(none.clusterStatus(), grpcCode(status.UNAUTHENTICATED));
      await assert.rejects(none.publish({ topic: 'a', payload: Buffer.from('x') }), grpcCode(status.UNAUTHENTICATED));
      await assert.rejects(wrong.clusterStatus(), grpcCode(status.UNAUTHENTICATED));
      await assert.rejects(wrong.kickClient('anyone'), grpcCode(status.UNAUTHENTICATED));
      await assert.rejects(wrong.deleteRetained('t'), grpcCode(status.UNAUTHENTICATED));
      const r = await right.clusterStatus();
      assert.equal(r.nodes[0]?.id, 'tok-1');
      // a refused call did nothing: the right token still sees NOT_FOUND for the kicked id
      await assert.rejects(right.kickClient('anyone'), grpcCode(status.NOT_FOUND));
      assert.deepEqual(failures, [
        ['ClusterStatus', 'missing'],
        ['Publish', 'missing'],
        ['ClusterStatus', 'invalid'],
        ['KickClient', 'invalid'],
        ['DeleteRetained', 'invalid'],
      ]);
    } finally {
      none.close();
      wrong.close();
      right.close();
    }
  });

  it('refuses a token that is not in the Bearer form, and a prefix of the token', async () => {
    const service = loadAdminService();
    const raw = new Client(address, credentials.createInsecure());
    const call = (value: string): Promise<status> =>
      new Promise((resolve) => {
        const md = new Metadata();
        md.set('authorization', value);
        raw.makeUnaryRequest(service.ClusterStatus.path, (v) => service.ClusterStatus.requestSerialize(v), (b) => b, {}, md, { deadline: Date.now() + 3000 }, (e) =>
          resolve(e === null ? status.OK : e.code),
        );
      });
    try {
      assert.equal(await call(TOKEN), status.UNAUTHENTICATED, 'no Bearer scheme');
      assert.equal(await call(`Basic ${TOKEN}`), status.UNAUTHENTICATED);
      assert.equal(await call(`Bearer ${TOKEN.slice(0, -1)}`), status.UNAUTHENTICATED);
      assert.equal(await call('Bearer '), status.UNAUTHENTICATED);
      assert.equal(await call(`bearer ${TOKEN}`), status.OK, 'the scheme is case-insensitive (RFC 7235)');
    } finally {
      raw.close();
    }
  });

  it('mqttctl: exit 1 with UNAUTHENTICATED and a hint without a token; --token and MQTTCTL_TOKEN work', async () => {
    const refused = await ctl(['--server', address, 'status']);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /^mqttctl: UNAUTHENTICATED: missing admin token.*--token or set MQTTCTL_TOKEN/);
    const wrong = await ctl(['--server', address, '--token', 'nope', 'status']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.err, /UNAUTHENTICATED: invalid admin token/);
    const flag = await ctl(['--server', address, '--token', TOKEN, '--json', 'status']);
    assert.equal(flag.code, 0, flag.err);
    assert.equal(JSON.parse(flag.out).nodes[0].id, 'tok-1');
    const env = await ctl(['--server', address, '--json', 'status'], { MQTTCTL_TOKEN: TOKEN });
    assert.equal(env.code, 0, env.err);
  });

  it('an empty token is a programming error, not an open server', async () => {
    await assert.rejects(startAdminServer({ port: 0, token: ' ', facade: createAdminFacade(broker) }), TypeError);
  });
});

describe('admin API over TLS', () => {
  const broker = createBroker({ nodeId: 'tls-1', version: '1.0.0' });
  let certs: TestCertificates;
  let server: AdminServer;
  before(async () => {
    certs = makeCertificates({ caName: 'AdminTestCA', san: 'DNS:localhost,DNS:admin.example,IP:127.0.0.1' });
    server = await startAdminServer({ port: 0, token: TOKEN, tls: { cert: certs.cert, key: certs.key }, facade: createAdminFacade(broker) });
  });
  after(async () => {
    await server.close(500);
    await broker.close();
    rmSync(certs.dir, { recursive: true, force: true });
  });

  it('answers a client that trusts its CA (with the token), refuses plaintext and unknown CAs', async () => {
    assert.equal(server.tls, true);
    for (const host of ['127.0.0.1', 'localhost']) {
      const ok = new AdminClient(`${host}:${server.port}`, { timeoutMs: 3000, token: TOKEN, tls: { ca: certs.ca } });
      try {
        assert.equal((await ok.clusterStatus()).nodes[0]?.id, 'tls-1');
      } finally {
        ok.close();
      }
    }
    const noToken = new AdminClient(`127.0.0.1:${server.port}`, { timeoutMs: 3000, tls: { ca: certs.ca } });
    const plain = new AdminClient(`127.0.0.1:${server.port}`, { timeoutMs: 1500, token: TOKEN });
    const systemRoots = new AdminClient(`127.0.0.1:${server.port}`, { timeoutMs: 1500, token: TOKEN, tls: true });
    try {
      await assert.rejects(noToken.clusterStatus(), grpcCode(status.UNAUTHENTICATED));
      await assert.rejects(plain.clusterStatus(), grpcCode(status.UNAVAILABLE));
      await assert.rejects(systemRoots.clusterStatus(), grpcCode(status.UNAVAILABLE), 'self-made CA is not a system root');
    } finally {
      noToken.close();
      plain.close();
      systemRoots.close();
    }
  });

  it('mqttctl --cafile (implies --tls) and --servername work; --tls alone fails to verify; an unreadable --cafile is bad usage', async () => {
    const addr = `127.0.0.1:${server.port}`;
    const ok = await ctl(['--server', addr, '--cafile', certs.caFile, '--json', 'status'], { MQTTCTL_TOKEN: TOKEN });
    assert.equal(ok.code, 0, ok.err);
    assert.equal(JSON.parse(ok.out).nodes[0].id, 'tls-1');
    const unverified = await ctl(['--server', addr, '--tls', '--timeout', '1500', 'status'], { MQTTCTL_TOKEN: TOKEN });
    assert.equal(unverified.code, 1);
    assert.match(unverified.err, /cannot reach the admin API/);
    const named = await ctl(['--server', addr, '--cafile', certs.caFile, '--servername', 'admin.example', 'status'], { MQTTCTL_TOKEN: TOKEN });
    assert.equal(named.code, 0, named.err);
    const misnamed = await ctl(['--server', addr, '--cafile', certs.caFile, '--servername', 'other.example', '--timeout', '1500', 'status'], { MQTTCTL_TOKEN: TOKEN });
    assert.equal(misnamed.code, 1, 'a name not in the certificate fails verification');
    const missing = await ctl(['--server', addr, '--cafile', join(certs.dir, 'nope.pem'), 'status']);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /cannot read .*nope\.pem: ENOENT/);
  });
});
