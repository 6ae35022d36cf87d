// Misuse suite, JWKS URL: the key set is served by a real HTTP server in this process that the
// test can take down, make answer garbage, or rotate. Asserts what a device sees while the URL is
// down before any fetch (0x88 / 3), after rotation (a new kid is fetched on first sight), while
// down after a fetch (the cached set keeps verifying), and that made-up kids cannot make the
// broker hammer the URL.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, SignJWT } from 'jose';
import { connect, uid } from './helpers/clients.js';
import { refusedConnect } from './helpers/misuse.js';
import { type RunningBroker, startBroker, suiteSkipReason } from './helpers/processes.js';
import { oursOnly } from './helpers/suite.js';

type Mode = 'up' | 'down' | 'garbage';

interface SigningKey {
  kid: string;
  alg: 'ES256' | 'EdDSA';
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function signingKey(kid: string, alg: SigningKey['alg']): SigningKey {
  const pair = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  return { kid, alg, ...pair };
}

const k1 = signingKey('k1', 'ES256');
const k2 = signingKey('k2', 'EdDSA');

function token(clientId: string, key: SigningKey, kid = key.kid): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid })
    .setSubject(clientId)
    .setExpirationTime('5m')
    .sign(key.privateKey);
}

describe('misuse: JWKS URL down, garbage, rotated', { skip: suiteSkipReason() || oursOnly('JWT authentication').skip }, () => {
  let mode: Mode = 'down';
  let published: SigningKey[] = [k1];
  let requests = 0;
  let server: Server;
  let broker: RunningBroker;

  before(async () => {
    server = createServer((_req, res) => {
      requests++;
      if (mode === 'down') {
        res.writeHead(503).end();
        return;
      }
      if (mode === 'garbage') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": not json');
        return;
      }
      void Promise.all(published.map(async (k) => ({ ...(await exportJWK(k.publicKey)), kid: k.kid, alg: k.alg, use: 'sig' }))).then((keys) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    broker = await startBroker({ env: { JWT_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`, JWT_JWKS_REFRESH_SECONDS: '1', ALLOW_ANONYMOUS: 'false' } });
  });
  after(async () => {
    await broker?.stop();
    server?.close();
  });

  /** Connect with a fresh token until it works (the broker refetches at most every 5 s). */
  async function connectsWithin(ms: number, key: SigningKey): Promise<number> {
    const started = Date.now();
    for (;;) {
      const id = uid('jw');
      try {
        const { client } = await connect(broker.url, { protocolVersion: 5, clientId: id, username: 'd', password: await token(id, key) });
        await client.endAsync();
        return Date.now() - started;
      } catch (err) {
        if (Date.now() - started > ms) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  it('down before any key set was fetched: CONNACK 0x88 Server unavailable (3.1.1: 3), nothing delivered', async () => {
    for (const version of [4, 5] as const) {
      const id = uid('dn');
      const result = await refusedConnect(broker.ports.mqtt, version, { clientId: id, username: 'd', password: Buffer.from(await token(id, k1)) }, `leak/${id}`);
      assert.deepEqual(result, { code: version === 5 ? 0x88 : 3, closed: true });
    }
  });

  it('back up: devices get in again without a restart', async () => {
    mode = 'up';
    await connectsWithin(8000, k1);
  });

  it('rotation: a token with a kid the cached set lacks makes the broker fetch the set again', async () => {
    published = [k1, k2];
    await connectsWithin(8000, k2);
  });

  it('down or garbage after a fetch: the cached set keeps verifying (served stale); an unknown kid is refused 0x86', async () => {
    for (const m of ['down', 'garbage'] as const) {
      mode = m;
      const before = requests;
      // past JWT_JWKS_REFRESH_SECONDS (and the 5 s between attempts) a CONNECT makes the broker try
      // to refresh; every CONNECT meanwhile is verified with the set it holds
      const deadline = Date.now() + 8000;
      while (requests === before) {
        assert.ok(Date.now() < deadline, `the broker did not try the URL while ${m}`);
        await connectsWithin(0, k1);
        await new Promise((r) => setTimeout(r, 250));
      }
      await new Promise((r) => setTimeout(r, 100)); // the failed refresh has been answered
      await connectsWithin(0, k1);
      await connectsWithin(0, k2);
      const id = uid('uk');
      const unknown = await refusedConnect(broker.ports.mqtt, 5, { clientId: id, username: 'd', password: Buffer.from(await token(id, k1, 'k-unknown')) }, `leak/${id}`);
      assert.equal(unknown.code, 0x86);
    }
  });

  it('a flood of made-up kids makes at most one fetch per 5 s', async () => {
    mode = 'up';
    const before = requests;
    const started = Date.now();
    const codes = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const id = uid(`fl${i}`);
        return (await refusedConnect(broker.ports.mqtt, 5, { clientId: id, username: 'd', password: Buffer.from(await token(id, k1, `made-up-${i}`)) }, `leak/${id}`)).code;
      }),
    );
    assert.deepEqual(new Set(codes), new Set([0x86]));
    const seconds = (Date.now() - started) / 1000;
    assert.ok(requests - before <= Math.ceil(seconds / 5) + 1, `${requests - before} fetches in ${seconds.toFixed(1)} s`);
  });
});
