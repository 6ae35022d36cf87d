// End to end with clients nobody here wrote: Debian's mosquitto_pub / mosquitto_sub over TCP
// (QoS 0/1/2, retained, will, v3.1.1 and v5), MQTT.js over WebSocket, and MQTT.js plus
// mosquitto_pub over TLS and WSS with a self-signed certificate made by openssl in the test.
// The WebSocket tests run once per WebSocket engine (WS_ENGINE=ws and uws).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { collect, connect, uid } from './helpers/clients.js';
import { mosquittoPub, mosquittoSub } from './helpers/mosquitto-clients.js';
import { suiteSkipReason } from './helpers/processes.js';
import { useTarget } from './helpers/suite.js';
import { WS_ENGINE_VARIANTS } from './helpers/ws-engines.js';

const host = '127.0.0.1';

describe('e2e interop: mosquitto_pub / mosquitto_sub', { skip: suiteSkipReason() }, () => {
  const broker = useTarget();

  for (const version of ['mqttv311', '5'] as const) {
    for (const qos of [0, 1, 2] as const) {
      it(`mosquitto_pub -> mosquitto_sub, -V ${version}, QoS ${qos}`, async () => {
        const topic = uid('mi/');
        const port = String(broker().ports.mqtt);
        const sub = mosquittoSub(['-h', host, '-p', port, '-V', version, '-q', String(qos), '-t', topic, '-C', '3', '-W', '8']);
        await sub.subscribed;
        for (let i = 0; i < 3; i++) {
          const pub = await mosquittoPub(['-h', host, '-p', port, '-V', version, '-q', String(qos), '-t', topic, '-m', `m${i}`]);
          assert.equal(pub.code, 0, pub.output);
        }
        const { messages, code } = await sub.done;
        assert.equal(code, 0);
        assert.deepEqual(messages, [0, 1, 2].map((i) => ({ topic, qos, retain: false, payload: `m${i}` })));
      });
    }
  }

  it('mosquitto_pub -r stores a retained message that a later mosquitto_sub receives with the retain flag', async () => {
    const topic = uid('mr/');
    const port = String(broker().ports.mqtt);
    assert.equal((await mosquittoPub(['-h', host, '-p', port, '-q', '1', '-r', '-t', topic, '-m', 'kept'])).code, 0);
    const sub = mosquittoSub(['-h', host, '-p', port, '-V', '5', '-q', '1', '-t', topic, '-C', '1', '-W', '5']);
    const { messages } = await sub.done;
    assert.deepEqual(messages, [{ topic, qos: 1, retain: true, payload: 'kept' }]);
    assert.equal((await mosquittoPub(['-h', host, '-p', port, '-q', '1', '-r', '-n', '-t', topic])).code, 0);
  });

  for (const version of ['mqttv311', '5'] as const) {
    it(`mosquitto_sub --will-* (-V ${version}): killed client's will reaches an MQTT.js subscriber`, async () => {
      const willTopic = uid('mw/');
      const watcher = await connect(broker().url, { protocolVersion: 5, clientId: uid('w') });
      await watcher.client.subscribeAsync(willTopic, { qos: 1 });
      const got = collect(watcher.client, 1, 5000);
      const sub = mosquittoSub(['-h', host, '-p', String(broker().ports.mqtt), '-V', version, '-t', uid('x/'), '--will-topic', willTopic, '--will-payload', 'mosquitto_sub died', '--will-qos', '1', '-W', '20']);
      await sub.subscribed;
      sub.kill('SIGKILL');
      const [will] = await got;
      assert.equal(will.payload.toString(), 'mosquitto_sub died');
      await sub.done;
      await watcher.client.endAsync();
    });
  }

});

const certDir = mkdtempSync(join(tmpdir(), 'e2e-tls-'));
chmodSync(certDir, 0o755);
const certFile = join(certDir, 'cert.pem');
const keyFile = join(certDir, 'key.pem');
if (suiteSkipReason() === false) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  chmodSync(keyFile, 0o644);
}

describe('e2e interop: TLS with a self-signed certificate', { skip: suiteSkipReason() }, () => {
  const broker = useTarget({ tls: { cert: certFile, key: keyFile } });

  it('a TLS client that does not trust the certificate cannot connect', async () => {
    await assert.rejects(connect(`mqtts://127.0.0.1:${broker().ports.tls}`, { clientId: uid('untrusted'), rejectUnauthorized: true }, 3000));
  });

  it('mosquitto_pub --cafile over TLS reaches a subscriber on plain TCP', async () => {
    const topic = uid('tlsp/');
    const sub = await connect(broker().url, { clientId: uid('s') });
    await sub.client.subscribeAsync(topic, { qos: 1 });
    const got = collect(sub.client, 1, 5000);
    const pub = await mosquittoPub(['-h', '127.0.0.1', '-p', String(broker().ports.tls), '--cafile', certFile, '-q', '1', '-t', topic, '-m', 'via tls']);
    assert.equal(pub.code, 0, pub.output);
    assert.equal((await got)[0].payload.toString(), 'via tls');
    await sub.client.endAsync();
  });
});

for (const { engine, skip } of WS_ENGINE_VARIANTS) {
  describe(`e2e interop: MQTT.js over WebSocket, WS_ENGINE=${engine}`, { skip: suiteSkipReason() || skip }, () => {
    const broker = useTarget({ tls: { cert: certFile, key: keyFile }, env: { WS_ENGINE: engine } });
    const ca = () => readFileSync(certFile);

    for (const protocolVersion of [4, 5] as const) {
      it(`MQTT.js v${protocolVersion} over ws:// (path /mqtt) talks to a TCP client`, async () => {
        const topic = uid('ws/');
        const ws = await connect(broker().wsUrl, { protocolVersion, clientId: uid('ws') });
        const tcp = await connect(broker().url, { protocolVersion, clientId: uid('tcp') });
        await ws.client.subscribeAsync(topic, { qos: 1 });
        await tcp.client.subscribeAsync(`${topic}/back`, { qos: 1 });
        const wsGot = collect(ws.client, 1, 3000);
        const tcpGot = collect(tcp.client, 1, 3000);
        await tcp.client.publishAsync(topic, Buffer.alloc(70_000, 7), { qos: 1 });
        await ws.client.publishAsync(`${topic}/back`, 'from ws', { qos: 2 });
        const [fromTcp] = await wsGot;
        assert.equal(fromTcp.payload.length, 70_000, 'a packet spanning several WebSocket frames');
        assert.equal((await tcpGot)[0].payload.toString(), 'from ws');
        await Promise.all([ws.client.endAsync(), tcp.client.endAsync()]);
      });
    }

    it('MQTT.js over wss:// exchanges messages with mqtts://, the certificate verified against its CA', async () => {
      const topic = uid('wss/');
      const tls = await connect(`mqtts://127.0.0.1:${broker().ports.tls}`, { protocolVersion: 5, clientId: uid('tls'), ca: ca(), servername: 'localhost' });
      const wss = await connect(`wss://127.0.0.1:${broker().ports.wss}/mqtt`, { protocolVersion: 4, clientId: uid('wss'), ca: ca(), servername: 'localhost' } as Parameters<typeof connect>[1]);
      await wss.client.subscribeAsync(topic, { qos: 2 });
      const got = collect(wss.client, 1, 3000);
      await tls.client.publishAsync(topic, 'secure', { qos: 2 });
      assert.equal((await got)[0].payload.toString(), 'secure');
      await Promise.all([tls.client.endAsync(), wss.client.endAsync()]);
    });

    it('a burst of 5,000 QoS 0 messages from TCP reaches a WebSocket subscriber complete and in order (backpressure)', async () => {
      const topic = uid('wsb/');
      const ws = await connect(broker().wsUrl, { protocolVersion: 5, clientId: uid('wsb') });
      const tcp = await connect(broker().url, { protocolVersion: 5, clientId: uid('tcpb') });
      await ws.client.subscribeAsync(topic, { qos: 0 });
      const got = collect(ws.client, 5000, 20_000);
      const body = Buffer.alloc(1000, 1);
      for (let i = 0; i < 5000; i++) tcp.client.publish(topic, Buffer.concat([Buffer.from(`${i}:`), body]), { qos: 0 });
      const messages = await got;
      assert.deepEqual(
        messages.map((m) => Number(m.payload.toString().split(':')[0])),
        Array.from({ length: 5000 }, (_, i) => i),
      );
      await Promise.all([ws.client.endAsync(), tcp.client.endAsync()]);
    });
  });
}
