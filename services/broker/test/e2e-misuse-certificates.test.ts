// Misuse suite, X.509 client certificates: a broker with TLS and WSS listeners that require a
// certificate from the fleet CA (TLS_REQUIRE_CLIENT_CERT), TLS_IDENTITY=cn and a CRL; the clients
// are Debian's mosquitto_pub / mosquitto_sub (--cafile/--cert/--key) and MQTT.js over WSS, the
// certificates made by the test with openssl. Each case asserts what the client sees and that
// nothing it published reached a watcher subscribed to everything (over plain TCP, password).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { connect, uid } from './helpers/clients.js';
import { assertNothingDelivered, misuseAuthEnv, useWatcher } from './helpers/misuse.js';
import { mosquittoPub, mosquittoSub } from './helpers/mosquitto-clients.js';
import { suiteSkipReason } from './helpers/processes.js';
import { oursOnly, useTarget } from './helpers/suite.js';
import { type ClientCertificate, TestCa } from './helpers/test-ca.js';

const skip = suiteSkipReason() || oursOnly('certificate identity').skip;
const ca = skip === false ? new TestCa('Fleet CA') : undefined;
const otherCa = skip === false ? new TestCa('Other CA') : undefined;
const dir = ca?.certs.dir ?? '/tmp';
const authEnv = skip === false ? misuseAuthEnv(dir, ['user dev-1', 'topic readwrite dev/dev-1/#', '', 'pattern readwrite own/%u/#']) : {};

describe('misuse: X.509 client certificates (TLS_IDENTITY=cn, CRL)', { skip }, () => {
  let device: ClientCertificate;
  let device2: ClientCertificate;
  let expired: ClientCertificate;
  let revoked: ClientCertificate;
  let foreign: ClientCertificate;
  before(() => {
    device = ca!.issue('dev1', 'dev-1');
    device2 = ca!.issue('dev2', 'dev-2');
    expired = ca!.issue('old', 'dev-1', { expired: true });
    revoked = ca!.issue('revoked', 'dev-1');
    ca!.revoke(revoked);
    foreign = otherCa!.issue('foreign', 'dev-1');
  });
  const broker = useTarget({
    tls: { cert: ca?.certs.certFile ?? '', key: ca?.certs.keyFile ?? '' },
    env: {
      TLS_CA: ca?.caFile ?? '',
      TLS_REQUIRE_CLIENT_CERT: 'true',
      TLS_IDENTITY: 'cn',
      TLS_CRL_FILE: ca?.crlFile ?? '',
      ...authEnv,
    },
  });
  const watcher = useWatcher(broker);

  const tlsArgs = (cert: ClientCertificate | undefined): string[] => [
    '-h',
    'localhost',
    '-p',
    String(broker().ports.tls),
    '--cafile',
    ca!.caFile,
    ...(cert === undefined ? [] : ['--cert', cert.certFile, '--key', cert.keyFile]),
  ];

  it('a certificate from the fleet CA: CN dev-1 is the user name, its ACL section applies (positive control and a denied topic)', async () => {
    const ok = await mosquittoPub([...tlsArgs(device), '-i', uid('c'), '-q', '1', '-t', 'dev/dev-1/temp', '-m', '21']);
    assert.equal(ok.code, 0, ok.output);
    const denied = await mosquittoPub([...tlsArgs(device), '-i', uid('c'), '-q', '1', '-t', 'dev/dev-2/temp', '-m', 'spoof']);
    assert.equal(denied.code, 0, '3.1.1: a denied PUBLISH is acknowledged and dropped');
    const deadline = Date.now() + 2000;
    while (watcher().seen('dev/dev-1/temp').length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(watcher().seen('dev/dev-1/temp').length, 1);
    await assertNothingDelivered(watcher(), 'dev/dev-2');
  });

  it("the CONNECT's user name and password cannot override the certificate's identity", async () => {
    const out = await mosquittoPub([...tlsArgs(device), '-i', uid('c'), '-u', 'watcher', '-P', 'w4tch', '-q', '1', '-t', 'secret/spoof', '-m', 'x']);
    assert.equal(out.code, 0, out.output);
    await assertNothingDelivered(watcher(), 'secret/spoof');
  });

  for (const c of [
    { name: 'a certificate from another CA', cert: () => foreign },
    { name: 'an expired certificate', cert: () => expired },
    { name: 'a revoked certificate (in TLS_CRL_FILE)', cert: () => revoked },
    { name: 'no certificate', cert: () => undefined },
  ]) {
    it(`refused in the TLS handshake: ${c.name}; mosquitto_pub fails and nothing is delivered`, async () => {
      const topic = `dev/dev-1/${uid('h')}`;
      const out = await mosquittoPub([...tlsArgs(c.cert()), '-i', uid('c'), '-q', '1', '-t', topic, '-m', 'x']);
      assert.notEqual(out.code, 0, out.output);
      const sub = mosquittoSub([...tlsArgs(c.cert()), '-i', uid('s'), '-t', '#', '-C', '1', '-W', '2']);
      const done = await sub.done;
      assert.notEqual(done.code, 0);
      assert.deepEqual(done.messages, []);
      await assertNothingDelivered(watcher(), topic);
    });
  }

  it('WSS with MQTT.js (5.0): the certificate identity holds; a filter outside its ACL gets SUBACK 0x87', async () => {
    const { client } = await connect(`wss://localhost:${broker().ports.wss}/mqtt`, {
      protocolVersion: 5,
      clientId: uid('w'),
      ca: readFileSync(ca!.caFile),
      cert: readFileSync(device.certFile),
      key: readFileSync(device.keyFile),
    });
    const granted = (await client.subscribeAsync(['dev/dev-1/#', 'own/dev-1/#'], { qos: 1 })).map((g) => g.qos);
    assert.deepEqual(granted, [1, 1]);
    // MQTT.js rejects a subscribe whose SUBACK carries 0x87
    for (const filter of ['secret/#', '$SYS/#', 'own/dev-2/#']) await assert.rejects(client.subscribeAsync(filter, { qos: 1 }), /Not authorized/);
    await client.endAsync();
  });

  it('SIGHUP reloads the CRL: a certificate revoked after the start is refused from then on', async () => {
    const before = await mosquittoPub([...tlsArgs(device2), '-i', uid('c'), '-q', '1', '-t', 'own/dev-2/x', '-m', 'before']);
    assert.equal(before.code, 0, before.output);
    ca!.revoke(device2);
    process.kill(broker().pid, 'SIGHUP');
    const deadline = Date.now() + 5000;
    while (!broker().stdout().includes('"auth_reloaded"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(broker().stdout().includes('"auth_reloaded"'), 'reloaded');
    const afterRevoke = await mosquittoPub([...tlsArgs(device2), '-i', uid('c'), '-q', '1', '-t', 'own/dev-2/y', '-m', 'after']);
    assert.notEqual(afterRevoke.code, 0, afterRevoke.output);
    await assertNothingDelivered(watcher(), 'own/dev-2/y');
    assert.equal(watcher().seen('own/dev-2/x').length, 1, 'the publish before the revocation went through');
  });

  it('refused handshakes are counted (mqtt_transport_rejections_total tls_handshake_failed)', async () => {
    const text = await (await fetch(`http://127.0.0.1:${broker().ports.http}/metrics`)).text();
    const m = /^mqtt_transport_rejections_total\{transport="tls",reason="tls_handshake_failed"\} (\d+)/m.exec(text);
    assert.ok(m !== null && Number(m[1]) >= 8, `tls handshake refusals: ${m?.[1]}`);
  });
});
