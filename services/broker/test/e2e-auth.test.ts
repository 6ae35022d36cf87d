// End to end: authentication with a PASSWORD_FILE written by Debian's `mosquitto_passwd`, and
// authorization with an ACL_FILE in Mosquitto's format; the same files configure Mosquitto
// when E2E_TARGET=mosquitto.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { IPubackPacket, ISubackPacket } from 'mqtt-packet';
import { collectFor, connect, connectRefused, uid } from './helpers/clients.js';
import { suiteSkipReason } from './helpers/processes.js';
import { RawClient } from './helpers/raw.js';
import { isMosquitto, oursOnly, useTarget } from './helpers/suite.js';

const dir = mkdtempSync(join(tmpdir(), 'e2e-auth-'));
// Mosquitto started as root drops to the `mosquitto` user, which must be able to read the files.
chmodSync(dir, 0o755);
const passwordFile = join(dir, 'passwd');
const aclFile = join(dir, 'acl');
if (suiteSkipReason() === false) {
  execFileSync('mosquitto_passwd', ['-c', '-b', passwordFile, 'alice', 'secret']);
  execFileSync('mosquitto_passwd', ['-b', passwordFile, 'bob', 'hunter2']);
}
writeFileSync(
  aclFile,
  [
    '# anonymous clients (none are allowed in, but the section must parse)',
    'topic read public/#',
    '',
    'user alice',
    'topic readwrite alice/#',
    'topic read public/#',
    'topic deny alice/secret/#',
    '',
    'user bob',
    'topic read alice/#',
    'topic readwrite bob/#',
    '',
    'pattern readwrite clients/%c/#',
    'pattern read users/%u/#',
    '',
  ].join('\n'),
  { mode: 0o644 },
);
if (suiteSkipReason() === false) chmodSync(passwordFile, 0o644);

describe('e2e auth: password file and ACL file', { skip: suiteSkipReason() }, () => {
  const broker = useTarget({
    env: { PASSWORD_FILE: passwordFile, ACL_FILE: aclFile, ALLOW_ANONYMOUS: 'false' },
    mosquitto: [`password_file ${passwordFile}`, `acl_file ${aclFile}`, 'allow_anonymous false'],
  });

  for (const protocolVersion of [4, 5] as const) {
    it(`v${protocolVersion}: a user from the mosquitto_passwd file connects with the right password`, async () => {
      const { client, connack } = await connect(broker().url, { protocolVersion, clientId: uid('a'), username: 'alice', password: 'secret' });
      assert.equal(connack.reasonCode ?? connack.returnCode ?? 0, 0);
      await client.endAsync();
    });

    it(`v${protocolVersion}: a wrong password is refused (v3 code 4 / v5 0x86) and the socket closed`, async () => {
      const code = await connectRefused(broker().url, { protocolVersion, clientId: uid('a'), username: 'alice', password: 'wrong' });
      // Mosquitto answers "not authorised" (5 / 0x87) to a wrong password; ours says what went wrong.
      const expected = isMosquitto() ? (protocolVersion === 5 ? 0x87 : 5) : protocolVersion === 5 ? 0x86 : 4;
      assert.equal(code, expected);
    });

    it(`v${protocolVersion}: an unknown user is refused`, async () => {
      const code = await connectRefused(broker().url, { protocolVersion, clientId: uid('a'), username: 'mallory', password: 'x' });
      assert.ok(protocolVersion === 5 ? code === 0x86 || code === 0x87 : code === 4 || code === 5, `code ${code}`);
    });

    it(`v${protocolVersion}: an anonymous client is refused (v3 code 5 / v5 0x87)`, async () => {
      const code = await connectRefused(broker().url, { protocolVersion, clientId: uid('a') });
      assert.equal(code, protocolVersion === 5 ? 0x87 : 5);
    });

    it(`v${protocolVersion}: a denied SUBSCRIBE gets ${protocolVersion === 5 ? '0x87' : '0x80'} in SUBACK; allowed filters in the same packet are granted`, oursOnly('Mosquitto 2.0.11 grants a denied subscription and filters on delivery'), async () => {
      const raw = await RawClient.connected(broker().ports.mqtt, protocolVersion, { clientId: uid('a'), username: 'alice', password: Buffer.from('secret') });
      raw.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'bob/inbox', qos: 1 }, { topic: 'alice/+', qos: 1 }, { topic: 'public/#', qos: 0 }] });
      const suback = (await raw.next('suback')) as ISubackPacket;
      assert.deepEqual(suback.granted, [protocolVersion === 5 ? 0x87 : 0x80, 1, 0]);
      raw.destroy();
    });

    it(`v${protocolVersion}: a denied PUBLISH is not delivered${protocolVersion === 5 ? ' and gets PUBACK 0x87' : ' (acknowledged normally)'}`, async () => {
      const bob = await connect(broker().url, { protocolVersion, clientId: uid('b'), username: 'bob', password: 'hunter2' });
      await bob.client.subscribeAsync(['bob/#', 'alice/#'], { qos: 1 });
      const window = collectFor(bob.client, 800);
      const raw = await RawClient.connected(broker().ports.mqtt, protocolVersion, { clientId: uid('a'), username: 'alice', password: Buffer.from('secret') });
      raw.send({ cmd: 'publish', topic: 'bob/inbox', payload: Buffer.from('forged'), qos: 1, messageId: 3, retain: false, dup: false });
      const puback = (await raw.next('puback')) as IPubackPacket;
      if (protocolVersion === 5) assert.equal(puback.reasonCode, 0x87, 'Not authorized [MQTT-3.4.2-?]');
      raw.send({ cmd: 'publish', topic: 'alice/secret/x', payload: Buffer.from('deny wins'), qos: 1, messageId: 4, retain: false, dup: false });
      await raw.next('puback');
      raw.send({ cmd: 'publish', topic: 'alice/news', payload: Buffer.from('allowed'), qos: 1, messageId: 5, retain: false, dup: false });
      await raw.next('puback');
      assert.deepEqual((await window).map((m) => `${m.topic}=${m.payload}`), ['alice/news=allowed']);
      assert.equal(raw.isClosed, false, 'the client stays connected');
      raw.destroy();
      await bob.client.endAsync();
    });
  }

  it('pattern rules substitute %c and %u', async () => {
    const clientId = uid('pc');
    // A raw client: MQTT.js rejects the whole subscribeAsync when one filter is refused.
    const raw = await RawClient.connected(broker().ports.mqtt, 5, { clientId, username: 'alice', password: Buffer.from('secret') });
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [`clients/${clientId}/#`, 'clients/someone-else/#', 'users/alice/#', 'users/bob/#'].map((topic) => ({ topic, qos: 1 as const })) });
    const suback = (await raw.next('suback')) as ISubackPacket;
    if (!isMosquitto()) assert.deepEqual(suback.granted, [1, 0x87, 1, 0x87]);
    raw.send({ cmd: 'publish', topic: `clients/${clientId}/x`, payload: Buffer.from('mine'), qos: 1, messageId: 2, retain: false, dup: false });
    assert.equal(((await raw.next('puback')) as IPubackPacket).reasonCode ?? 0, 0);
    const delivered = (await raw.next('publish', 3000)) as { payload: Buffer };
    assert.equal(delivered.payload.toString(), 'mine');
    raw.destroy();
  });

  it('read access is checked per delivered topic under a wildcard subscription', async () => {
    const bob = await connect(broker().url, { protocolVersion: 5, clientId: uid('b'), username: 'bob', password: 'hunter2' });
    await bob.client.subscribeAsync('alice/#', { qos: 1 });
    const alice = await connect(broker().url, { protocolVersion: 5, clientId: uid('a'), username: 'alice', password: 'secret' });
    const window = collectFor(bob.client, 700);
    await alice.client.publishAsync('alice/open', 'visible', { qos: 1 });
    assert.deepEqual((await window).map((m) => m.topic), ['alice/open']);
    await Promise.all([bob.client.endAsync(), alice.client.endAsync()]);
  });
});
