// Misuse suite, HTTP auth hook: a real HTTP server in this process is the hook (authentication and
// authorization URLs), switched between answering, down (connections cut), slow (past
// HTTP_AUTH_TIMEOUT_MS) and garbage. The broker runs AUTH_CHAIN=password-file,http with
// HTTP_AUTH_FAIL=closed. Each case asserts what the client sees and that a watcher subscribed to
// everything got nothing it must not. docs/security.md has the table beside Mosquitto and EMQX.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { metricsText, metricValue } from '@mqtt-broker/test-support';
import type { IPubackPacket, ISubackPacket } from 'mqtt-packet';
import { uid } from './helpers/clients.js';
import { assertNothingDelivered, misuseAuthEnv, refusedConnect, type Watcher, WATCHER, watchEverything } from './helpers/misuse.js';
import { type RunningBroker, startBroker, suiteSkipReason } from './helpers/processes.js';
import { RawClient } from './helpers/raw.js';

const TIMEOUT_MS = 300;
type Mode = 'answer' | 'down' | 'slow' | 'garbage';

/** The hook: devices with password "good" get in; a client may publish and subscribe under dev/<its id>/ only. */
class Hook {
  mode: Mode = 'answer';
  readonly asked: Array<Record<string, unknown>> = [];
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => this.serve(req, res));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      this.asked.push({ path: req.url, ...body });
      if (this.mode === 'down') return req.socket.destroy();
      if (this.mode === 'slow') return void setTimeout(() => res.end('{"result":"allow"}'), TIMEOUT_MS * 4).unref();
      if (this.mode === 'garbage') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>allow</html>');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result: this.verdict(req.url ?? '', body) }));
    });
  }

  private verdict(path: string, body: Record<string, unknown>): string {
    if (path === '/auth') return body.password === 'good' ? 'allow' : 'deny';
    if (body.username === WATCHER.username) return 'allow';
    return String(body.topic).startsWith(`dev/${body.clientid}/`) ? 'allow' : 'deny';
  }
}

describe('misuse: HTTP auth hook', { skip: suiteSkipReason() }, () => {
  const hook = new Hook();
  let broker: RunningBroker;
  let watcher: Watcher;

  before(async () => {
    const url = await hook.listen();
    const env = {
      ...misuseAuthEnv(mkdtempSync(join(tmpdir(), 'e2e-misuse-http-')), ['pattern readwrite dev/%c/#']),
      AUTH_CHAIN: 'password-file,http',
      HTTP_AUTH_URL: `${url}/auth`,
      HTTP_AUTHZ_URL: `${url}/authz`,
      HTTP_AUTH_TIMEOUT_MS: String(TIMEOUT_MS),
      HTTP_AUTH_FAIL: 'closed',
    };
    broker = await startBroker({ env });
    watcher = await watchEverything(broker.url, WATCHER);
  });
  after(async () => {
    await watcher?.stop();
    await broker?.stop();
    await hook.close();
  });

  const device = async (version: 4 | 5, id = uid('dev')): Promise<{ raw: RawClient; id: string }> => ({
    raw: await RawClient.connected(broker.ports.mqtt, version, { clientId: id, username: 'device', password: Buffer.from('good') }),
    id,
  });

  it('the hook allows: connected, publishes under dev/<id>/ delivered; the body says who asks', async () => {
    for (const version of [4, 5] as const) {
      const { raw, id } = await device(version);
      raw.send({ cmd: 'publish', topic: `dev/${id}/up`, payload: Buffer.from('ok'), qos: 1, messageId: 1, retain: false, dup: false });
      assert.equal(((await raw.next('puback')) as IPubackPacket).reasonCode ?? 0, 0);
      raw.destroy();
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(watcher.seen(`dev/${id}/up`).length, 1);
      const asked = hook.asked.find((a) => a.path === '/auth' && a.clientid === id);
      assert.deepEqual(asked, { path: '/auth', clientid: id, username: 'device', password: 'good', peerhost: '127.0.0.1', protocol: version === 5 ? 'MQTT 5.0' : 'MQTT 3.1.1', transport: 'tcp' });
      assert.ok(hook.asked.some((a) => a.path === '/authz' && a.clientid === id && a.action === 'publish' && a.topic === `dev/${id}/up` && a.qos === 1 && a.retain === false));
    }
  });

  it('the hook denies: CONNACK 0x86 / 4, the PUBLISH behind it not delivered', async () => {
    for (const version of [4, 5] as const) {
      const prefix = `dev/${uid('denied')}`;
      const r = await refusedConnect(broker.ports.mqtt, version, { clientId: uid('d'), username: 'device', password: Buffer.from('bad') }, `${prefix}/x`);
      assert.deepEqual(r, { code: version === 5 ? 0x86 : 4, closed: true });
      await assertNothingDelivered(watcher, prefix);
    }
  });

  for (const mode of ['down', 'slow', 'garbage'] as const) {
    it(`authentication hook ${mode}: CONNACK 0x88 / 3 (fail closed), nothing delivered`, async () => {
      hook.mode = mode;
      try {
        for (const version of [4, 5] as const) {
          const prefix = `dev/${uid(mode)}`;
          const started = Date.now();
          const r = await refusedConnect(broker.ports.mqtt, version, { clientId: uid('d'), username: 'device', password: Buffer.from('good') }, `${prefix}/x`);
          assert.deepEqual(r, { code: version === 5 ? 0x88 : 3, closed: true });
          assert.ok(Date.now() - started < TIMEOUT_MS + 2500, 'refused within the timeout (plus the close check)');
          await assertNothingDelivered(watcher, prefix);
        }
      } finally {
        hook.mode = 'answer';
      }
    });
  }

  it('authorization: a denied topic gets PUBACK 0x87 (3.1.1: acknowledged, dropped), a denied filter SUBACK 0x87 / 0x80', async () => {
    for (const version of [4, 5] as const) {
      const { raw, id } = await device(version);
      const secret = `dev/${uid('other')}/secret`;
      raw.send({ cmd: 'publish', topic: secret, payload: Buffer.from('leak'), qos: 1, messageId: 2, retain: false, dup: false });
      assert.equal(((await raw.next('puback')) as IPubackPacket).reasonCode ?? 0, version === 5 ? 0x87 : 0);
      raw.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: `dev/${id}/down`, qos: 1 }, { topic: 'dev/#', qos: 1 }] });
      assert.deepEqual(((await raw.next('suback')) as ISubackPacket).granted, [1, version === 5 ? 0x87 : 0x80]);
      raw.destroy();
      await assertNothingDelivered(watcher, secret);
    }
  });

  for (const mode of ['down', 'slow', 'garbage'] as const) {
    it(`authorization hook ${mode}: PUBACK / SUBACK 0x87 (fail closed), nothing delivered; later packets wait in order`, async () => {
      const { raw, id } = await device(5);
      hook.mode = mode;
      try {
        const topic = `dev/${id}/${mode}`;
        raw.send({ cmd: 'publish', topic, payload: Buffer.from('leak'), qos: 1, messageId: 4, retain: false, dup: false });
        raw.send({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: `dev/${id}/${mode}-filter`, qos: 1 }] });
        assert.equal(((await raw.next('puback', 3000)) as IPubackPacket).reasonCode, 0x87);
        assert.deepEqual(((await raw.next('suback', 3000)) as ISubackPacket).granted, [0x87]);
        await assertNothingDelivered(watcher, topic);
      } finally {
        hook.mode = 'answer';
        raw.destroy();
      }
    });
  }

  it('verdicts are cached: a device that was allowed reconnects and publishes while the hook is down; hits and failures counted', async () => {
    const id = uid('cached');
    const first = await device(5, id);
    first.raw.send({ cmd: 'publish', topic: `dev/${id}/up`, payload: Buffer.from('1'), qos: 1, messageId: 1, retain: false, dup: false });
    await first.raw.next('puback');
    first.raw.destroy();
    hook.mode = 'down';
    try {
      const again = await device(5, id);
      again.raw.send({ cmd: 'publish', topic: `dev/${id}/up`, payload: Buffer.from('2'), qos: 1, messageId: 1, retain: false, dup: false });
      assert.equal(((await again.raw.next('puback')) as IPubackPacket).reasonCode ?? 0, 0);
      again.raw.destroy();
    } finally {
      hook.mode = 'answer';
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(watcher.seen(`dev/${id}/up`).length, 2);
    const text = await metricsText(broker.ports.http);
    assert.ok(metricValue(text, 'mqtt_auth_http_cache_hits_total', '{kind="authentication"}') >= 1);
    assert.ok(metricValue(text, 'mqtt_auth_http_cache_hits_total', '{kind="authorization"}') >= 1);
    for (const outcome of ['unavailable', 'timeout', 'bad_answer']) {
      assert.ok(metricValue(text, 'mqtt_auth_http_requests_total', `{kind="authentication",outcome="${outcome}"}`) >= 1, outcome);
    }
    assert.ok(metricValue(text, 'mqtt_auth_refusals_total', '{method="http",reason="http_timeout"}') >= 2);
  });
});
