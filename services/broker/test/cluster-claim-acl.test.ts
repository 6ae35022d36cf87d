/**
 * A token's claim ACL travels with the persistent session (issue 11, docs/security.md "Cluster"):
 * a device connected to node A with a token granting it `dev/<id>/down` only subscribes `dev/#`
 * (granted: it meets its claim); A is killed with SIGKILL and B adopts the session before the
 * device comes back. Messages published meanwhile on B are routed to the adopted session: only the
 * one its claim allows may be queued for it. Before the identity was saved with the session, the
 * adopted session had no claim ACL and, with no ACL file, everything passed.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type RunningRedis, startRedis } from '@mqtt-broker/cluster-redis/testing';
import { SignJWT } from 'jose';
import mqtt, { type IConnackPacket } from 'mqtt';
import { awaitRoute } from './cluster-ops-support.js';
import { closeAllClients, connect, uid } from './helpers/clients.js';
import { type RunningBroker, sleep, startBroker, suiteSkipReason } from './helpers/processes.js';

const TTL_MS = 1000;
const dir = mkdtempSync(join(tmpdir(), 'cluster-claim-acl-'));
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyFile = join(dir, 'jwt.pem');
writeFileSync(keyFile, publicKey.export({ type: 'spki', format: 'pem' }).toString());

function token(clientId: string, acl: { pub: string[]; sub: string[] }): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ acl }).setProtectedHeader({ alg: 'RS256' }).setSubject(clientId).setIssuedAt(now).setExpirationTime(now + 300).sign(privateKey);
}

describe('cluster: the claim ACL of an adopted session', { skip: suiteSkipReason(), timeout: 60_000 }, () => {
  let redis: RunningRedis | undefined;
  const nodes: RunningBroker[] = [];

  after(async () => {
    closeAllClients();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  });

  it('messages routed to a session adopted from a dead node are checked against its token', async () => {
    redis = await startRedis();
    const env = { REDIS_URL: redis.url, CLUSTER_HEARTBEAT_TTL_MS: String(TTL_MS), AUTH_CHAIN: 'jwt', JWT_KEY_FILE: keyFile, JWT_LEEWAY_SECONDS: '0', ALLOW_ANONYMOUS: 'false' };
    const a = await startBroker({ env: { ...env, NODE_ID: 'acl-a' } });
    const b = await startBroker({ env: { ...env, NODE_ID: 'acl-b' } });
    nodes.push(a, b);
    const device = uid('dev');
    const deviceAcl = { pub: [], sub: [`dev/${device}/down`] };
    const options = { protocolVersion: 5 as const, clientId: device, username: 'device', clean: false, properties: { sessionExpiryInterval: 600 } };
    const first = (await connect(a.url, { ...options, password: await token(device, deviceAcl) })).client;
    const granted = await first.subscribeAsync('dev/#', { qos: 1 });
    assert.equal(granted[0]?.qos, 1, 'dev/# is granted: it meets the claim');
    const pubId = uid('pub');
    const pub = (await connect(b.url, { protocolVersion: 5, clientId: pubId, username: 'publisher', password: await token(pubId, { pub: ['#'], sub: ['#'] }) })).client;
    await awaitRoute(pub, first, `dev/${device}/down`);

    a.kill();
    await sleep(TTL_MS * 3); // B sees A dead and adopts its sessions
    await pub.publishAsync(`dev/${device}/down`, 'for the device', { qos: 1 });
    await pub.publishAsync('dev/other/secret', 'not for the device', { qos: 1 });
    await sleep(500); // queued on the adopted session (or in A's inbox, drained into it)

    // listening before the CONNACK: the queued messages follow it in the same write
    const back = mqtt.connect(b.url, { ...options, password: await token(device, deviceAcl), reconnectPeriod: 0 });
    const got: string[] = [];
    back.on('message', (topic, payload) => got.push(`${topic}=${payload}`));
    const connack = await new Promise<IConnackPacket>((resolve, reject) => {
      back.once('connect', resolve);
      back.once('error', reject);
    });
    assert.equal(connack.sessionPresent, true, 'the session was adopted by B');
    await sleep(1500);
    back.end(true);
    assert.deepEqual(got, [`dev/${device}/down=for the device`]);
  });
});
