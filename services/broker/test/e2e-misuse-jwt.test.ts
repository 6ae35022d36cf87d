// Misuse suite, JWT and password file: a real broker with AUTH_CHAIN=jwt,password-file, tokens
// signed by the test (jose) against an RSA key whose public half is JWT_KEY_FILE, raw clients and
// MQTT.js. Each case asserts what the client sees (CONNACK / SUBACK / PUBACK / DISCONNECT code)
// and that nothing it sent reached a watcher subscribed to everything. docs/security.md has the
// table of these cases beside what Mosquitto and EMQX do.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SignJWT } from 'jose';
import type { IAuthPacket, IPubackPacket, ISubackPacket } from 'mqtt-packet';
import { closed, connect, serverDisconnect, uid } from './helpers/clients.js';
import { assertNothingDelivered, misuseAuthEnv, refusedConnect, useWatcher } from './helpers/misuse.js';
import { suiteSkipReason } from './helpers/processes.js';
import { RawClient } from './helpers/raw.js';
import { oursOnly, useTarget } from './helpers/suite.js';

const dir = mkdtempSync(join(tmpdir(), 'e2e-misuse-jwt-'));
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const keyFile = join(dir, 'jwt.pem');
writeFileSync(keyFile, publicPem);
const authEnv = suiteSkipReason() === false ? misuseAuthEnv(dir, ['pattern read public/#']) : {};

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'mqtt-fleet';
const DEVICE_ACL = { pub: ['dev/%c/up', 'public/%c'], sub: ['dev/%c/down', 'public/#'] };
const now = (): number => Math.floor(Date.now() / 1000);

interface TokenOptions {
  claims?: Record<string, unknown>;
  alg?: string;
  key?: Parameters<SignJWT['sign']>[0];
  exp?: number;
  nbf?: number;
  iat?: number;
  iss?: string;
  aud?: string;
}

/** A token for `clientId` that the broker accepts unless an option breaks it. */
function token(clientId: string, o: TokenOptions = {}): Promise<string> {
  const jwt = new SignJWT({ acl: DEVICE_ACL, ...o.claims })
    .setProtectedHeader({ alg: o.alg ?? 'RS256' })
    .setSubject(clientId)
    .setIssuer(o.iss ?? ISSUER)
    .setAudience(o.aud ?? AUDIENCE)
    .setIssuedAt(o.iat ?? now())
    .setExpirationTime(o.exp ?? now() + 300);
  if (o.nbf !== undefined) jwt.setNotBefore(o.nbf);
  return jwt.sign(o.key ?? privateKey);
}

function unsigned(clientId: string): string {
  const part = (v: object): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: clientId, iss: ISSUER, aud: AUDIENCE, exp: now() + 300, acl: { pub: ['#'], sub: ['#'] } })}.`;
}

describe('misuse: JWT, password file, claim ACL', { skip: suiteSkipReason() || oursOnly('JWT authentication').skip }, () => {
  const broker = useTarget({
    env: {
      AUTH_CHAIN: 'jwt,password-file',
      JWT_KEY_FILE: keyFile,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWT_LEEWAY_SECONDS: '0',
      ...authEnv,
    },
  });
  const watcher = useWatcher(broker);

  it('a valid token connects (3.1.1 and 5.0) and may use what its acl claim grants', async () => {
    for (const protocolVersion of [4, 5] as const) {
      const id = uid('dev');
      const { client } = await connect(broker().url, { protocolVersion, clientId: id, username: 'ignored', password: await token(id) });
      await client.publishAsync(`dev/${id}/up`, 'reading', { qos: 1 });
      await client.endAsync();
      const deadline = Date.now() + 2000;
      while (watcher().seen(`dev/${id}/up`).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(watcher().seen(`dev/${id}/up`).length, 1, 'the positive control: an allowed publish is seen by the watcher');
    }
  });

  const refusals: Array<{ name: string; connect: (id: string) => Promise<Record<string, unknown>>; v5: number; v4: number }> = [
    { name: 'wrong password', connect: async () => ({ username: 'watcher', password: Buffer.from('nope') }), v5: 0x86, v4: 4 },
    { name: 'unknown user', connect: async () => ({ username: 'mallory', password: Buffer.from('x') }), v5: 0x86, v4: 4 },
    { name: 'empty password', connect: async () => ({ username: 'watcher', password: Buffer.alloc(0) }), v5: 0x86, v4: 4 },
    { name: 'no credentials', connect: async () => ({}), v5: 0x87, v4: 5 },
    { name: 'expired token', connect: async (id) => ({ username: 'd', password: Buffer.from(await token(id, { exp: now() - 5, iat: now() - 60 })) }), v5: 0x86, v4: 4 },
    { name: 'token not yet valid (nbf)', connect: async (id) => ({ username: 'd', password: Buffer.from(await token(id, { nbf: now() + 120 })) }), v5: 0x86, v4: 4 },
    { name: 'token issued in the future (iat)', connect: async (id) => ({ username: 'd', password: Buffer.from(await token(id, { iat: now() + 120 })) }), v5: 0x86, v4: 4 },
    { name: 'token for another audience', connect: async (id) => ({ username: 'd', password: Buffer.from(await token(id, { aud: 'other-fleet' })) }), v5: 0x86, v4: 4 },
    { name: 'token from another issuer', connect: async (id) => ({ username: 'd', password: Buffer.from(await token(id, { iss: 'https://evil.test' })) }), v5: 0x86, v4: 4 },
    { name: 'alg none', connect: async (id) => ({ username: 'd', password: Buffer.from(unsigned(id)) }), v5: 0x86, v4: 4 },
    {
      name: 'HS256 signed with the public key as secret',
      connect: async (id) => ({ username: 'd', password: Buffer.from(await token(id, { alg: 'HS256', key: Buffer.from(publicPem), claims: { acl: { pub: ['#'], sub: ['#'] } } })) }),
      v5: 0x86,
      v4: 4,
    },
    {
      name: 'token signed by another key',
      connect: async (id) => ({ username: 'd', password: Buffer.from(await token(id, { key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey })) }),
      v5: 0x86,
      v4: 4,
    },
    { name: 'token for another client id', connect: async () => ({ username: 'd', password: Buffer.from(await token('victim-device')) }), v5: 0x87, v4: 5 },
    { name: 'token whose acl claim is malformed', connect: async (id) => ({ username: 'd', password: Buffer.from(await token(id, { claims: { acl: { pub: 'dev/#' } } })) }), v5: 0x87, v4: 5 },
  ];
  for (const r of refusals) {
    it(`refused: ${r.name} (5.0 0x${r.v5.toString(16)}, 3.1.1 ${r.v4}); a PUBLISH sent behind the CONNECT is not delivered`, async () => {
      for (const version of [4, 5] as const) {
        const id = uid('m');
        const leak = `dev/${id}/up`;
        const result = await refusedConnect(broker().ports.mqtt, version, { clientId: id, ...(await r.connect(id)) }, leak);
        assert.deepEqual(result, { code: version === 5 ? r.v5 : r.v4, closed: true });
        await assertNothingDelivered(watcher(), leak, 100);
      }
    });
  }

  it('5.0 enhanced authentication method JWT: a bad token gets CONNACK 0x86, a good one connects', async () => {
    const id = uid('ea');
    const bad = await refusedConnect(broker().ports.mqtt, 5, { clientId: id, properties: { authenticationMethod: 'JWT', authenticationData: Buffer.from(unsigned(id)) } }, `dev/${id}/up`);
    assert.deepEqual(bad, { code: 0x86, closed: true });
    const raw = await RawClient.connected(broker().ports.mqtt, 5, { clientId: id, properties: { authenticationMethod: 'JWT', authenticationData: Buffer.from(await token(id)) } });
    raw.destroy();
  });

  describe('ACL escapes by a device whose token grants dev/%c/up, dev/%c/down and public/#', () => {
    it('subscriptions reaching past the claim: SUBACK refuses what can never be read, and no denied message is delivered', async () => {
      const id = uid('esc');
      const raw = await RawClient.connected(broker().ports.mqtt, 5, { clientId: id, username: 'd', password: Buffer.from(await token(id)) });
      const filters = ['#', '+/#', '$SYS/#', '$share/g/#', '$share/g/secret/+', 'dev/+/down', `dev/${id}/down`];
      raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: filters.map((topic) => ({ topic, qos: 1 as const })) });
      const suback = (await raw.next('suback')) as ISubackPacket;
      // '#', '+/#' and '$share/g/#' meet public/# (granted; delivery filters); 'dev/+/down' meets dev/<id>/down
      assert.deepEqual(suback.granted, [1, 1, 0x87, 1, 0x87, 1, 1]);
      const { client: watcherPub } = await connect(broker().url, { protocolVersion: 5, clientId: uid('wp'), username: 'watcher', password: 'w4tch' });
      for (const topic of ['secret/x', 'dev/other/down', 'dev/other/up', `${id}/x`]) await watcherPub.publishAsync(topic, 'denied', { qos: 1 });
      await watcherPub.publishAsync(`dev/${id}/down`, 'allowed', { qos: 1 });
      const delivered = (await raw.next('publish', 3000)) as { topic: string; payload: Buffer };
      assert.equal(`${delivered.topic}=${delivered.payload}`, `dev/${id}/down=allowed`);
      const rest = (await raw.drainFor(300)).filter((p) => p.cmd === 'publish') as Array<{ topic: string }>;
      // the same message may come once more through another granted filter, nothing else
      assert.deepEqual([...new Set(rest.map((p) => p.topic))].filter((t) => t !== `dev/${id}/down`), []);
      await watcherPub.endAsync();
      raw.destroy();
    });

    it('publishing to a denied topic: directly, through a 5.0 topic alias set on it, and through an alias re-pointed at it', async () => {
      const id = uid('alias');
      const raw = await RawClient.connected(broker().ports.mqtt, 5, { clientId: id, username: 'd', password: Buffer.from(await token(id)) });
      const publish = (messageId: number, topic: string, alias: number): void =>
        raw.send({ cmd: 'publish', messageId, topic, payload: Buffer.from(`m${messageId}`), qos: 1, retain: false, dup: false, properties: { topicAlias: alias } });
      publish(1, `dev/${id}/up`, 1); // allowed, alias 1 -> own topic
      publish(2, 'secret/alias', 1); // alias 1 re-pointed at a denied topic
      publish(3, '', 1); // through the alias only
      publish(4, 'secret/alias2', 2);
      publish(5, '', 2);
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push(((await raw.next('puback')) as IPubackPacket).reasonCode ?? 0);
      assert.deepEqual(codes, [0, 0x87, 0x87, 0x87, 0x87]);
      await assertNothingDelivered(watcher(), 'secret/alias');
      assert.equal(watcher().seen(`dev/${id}/up`).length, 1, 'the allowed one was delivered');
      raw.destroy();
    });

    it('a will on a denied topic is not published when the device drops', async () => {
      const id = uid('will');
      const raw = await RawClient.connected(broker().ports.mqtt, 5, { clientId: id, username: 'd', password: Buffer.from(await token(id)), will: { topic: 'secret/will', payload: Buffer.from('w'), qos: 1, retain: false } });
      raw.destroy();
      await assertNothingDelivered(watcher(), 'secret/will', 500);
    });

    it('a retained message on a denied topic is neither delivered nor kept for later subscribers', async () => {
      const id = uid('ret');
      const raw = await RawClient.connected(broker().ports.mqtt, 5, { clientId: id, username: 'd', password: Buffer.from(await token(id)) });
      raw.send({ cmd: 'publish', messageId: 1, topic: 'secret/retained', payload: Buffer.from('r'), qos: 1, retain: true, dup: false });
      assert.equal(((await raw.next('puback')) as IPubackPacket).reasonCode, 0x87);
      raw.destroy();
      const { client } = await connect(broker().url, { protocolVersion: 5, clientId: uid('late'), username: 'watcher', password: 'w4tch' });
      const got: string[] = [];
      client.on('message', (topic) => got.push(topic));
      await client.subscribeAsync('secret/retained', { qos: 1 });
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(got, []);
      await client.endAsync();
    });

    it('%c with a client id containing /, + or #: no substituted rule applies to it', async () => {
      // client id "a/b" must not reach dev/a/b/up, inside device "a"'s dev/a/... subtree
      const slash = `${uid('x')}/b`;
      const raw = await RawClient.connected(broker().ports.mqtt, 5, { clientId: slash, username: 'd', password: Buffer.from(await token(slash)) });
      raw.send({ cmd: 'publish', messageId: 1, topic: `dev/${slash}/up`, payload: Buffer.from('x'), qos: 1, retain: false, dup: false });
      assert.equal(((await raw.next('puback')) as IPubackPacket).reasonCode, 0x87);
      raw.destroy();
      await assertNothingDelivered(watcher(), `dev/${slash}`);
      for (const wild of [`${uid('p')}+`, `${uid('h')}#`]) {
        const w = await RawClient.connected(broker().ports.mqtt, 5, { clientId: wild, username: 'd', password: Buffer.from(await token(wild)) });
        w.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'dev/+/down', qos: 1 }, { topic: 'public/#', qos: 1 }] });
        assert.deepEqual(((await w.next('suback')) as ISubackPacket).granted, [0x87, 0x87], `client id ${wild}: every rule of the claim is off`);
        w.destroy();
      }
    });
  });

  describe('token expiry', () => {
    it('5.0: DISCONNECT 0xA0 Maximum connect time when the token expires; 3.1.1: the connection is closed', async () => {
      const id5 = uid('exp5');
      const v5 = await connect(broker().url, { protocolVersion: 5, clientId: id5, username: 'd', password: await token(id5, { exp: now() + 2 }) });
      const id4 = uid('exp4');
      const v4 = await connect(broker().url, { protocolVersion: 4, clientId: id4, username: 'd', password: await token(id4, { exp: now() + 2 }) });
      const started = Date.now();
      assert.equal((await serverDisconnect(v5.client, 5000)).reasonCode, 0xa0);
      await closed(v4.client, 5000);
      assert.ok(Date.now() - started < 4000, 'closed at the expiry');
    });

    it('5.0: re-authentication (AUTH 0x19, method JWT) with a fresh token keeps the connection past the first expiry', async () => {
      const id = uid('reauth');
      const raw = await RawClient.connected(broker().ports.mqtt, 5, { clientId: id, properties: { authenticationMethod: 'JWT', authenticationData: Buffer.from(await token(id, { exp: now() + 2 })) } });
      raw.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'JWT', authenticationData: Buffer.from(await token(id, { exp: now() + 60 })) } } as IAuthPacket);
      assert.equal(((await raw.next('auth')) as IAuthPacket).reasonCode, 0);
      assert.equal(await raw.closedWithin(3500), false, 'still connected after the first token expired');
      raw.send({ cmd: 'pingreq' });
      await raw.next('pingresp');
      // a re-authentication with a token for another client id ends the connection
      raw.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'JWT', authenticationData: Buffer.from(await token('someone-else')) } } as IAuthPacket);
      const disconnect = (await raw.next('disconnect')) as { reasonCode: number };
      assert.equal(disconnect.reasonCode, 0x87);
      raw.destroy();
    });
  });

  it('every refusal is counted in mqtt_auth_refusals_total by method and reason', async () => {
    const text = await (await fetch(`http://127.0.0.1:${broker().ports.http}/metrics`)).text();
    const count = (method: string, reason: string): number => {
      const m = new RegExp(`^mqtt_auth_refusals_total\\{method="${method}",reason="${reason}"\\} (\\d+)`, 'm').exec(text);
      return m === null ? 0 : Number(m[1]);
    };
    assert.equal(count('password-file', 'bad_password'), 4, 'wrong and empty password, 3.1.1 and 5.0');
    assert.equal(count('chain', 'unknown_user'), 2);
    assert.equal(count('jwt', 'token_expired'), 2);
    assert.equal(count('jwt', 'token_not_yet_valid'), 2);
    assert.equal(count('jwt', 'token_wrong_audience'), 2);
    assert.equal(count('jwt', 'token_wrong_issuer'), 2);
    assert.equal(count('jwt', 'token_algorithm_not_allowed'), 5, 'alg none and HS256, 3.1.1 and 5.0, and alg none by enhanced authentication');
    assert.equal(count('jwt', 'token_issued_in_future'), 2);
    assert.equal(count('jwt', 'token_bad_signature'), 2);
    assert.equal(count('jwt', 'token_acl_claim_invalid'), 2);
    assert.equal(count('chain', 'anonymous'), 2);
    assert.equal(count('jwt', 'token_for_other_client'), 3, '3.1.1, 5.0 and the re-authentication as another client');
  });
});
