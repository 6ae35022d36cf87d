import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { after, describe, it } from 'node:test';
import { makeCertificates } from '@mqtt-broker/test-support';
import mqtt, { type IClientOptions } from 'mqtt';
import { WebSocket } from 'ws';
import { mqttctlJson } from './helpers/mqttctl.js';
import { AUTO_ENGINE } from './helpers/ws-engines.js';
import { httpGet, metricValue, type RunningBroker, spawnCli, startBroker, waitFor } from './service-support.js';

async function connects(url: string, options: IClientOptions): Promise<boolean> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 3000, ...options });
  const ok = await new Promise<boolean>((resolve) => {
    client.once('connect', () => resolve(true));
    client.once('error', () => resolve(false));
    client.once('close', () => resolve(false));
  });
  await client.endAsync(true);
  return ok;
}

describe('listeners of the broker node', () => {
  const brokers: RunningBroker[] = [];
  after(async () => {
    for (const b of brokers) await b.stop();
  });

  it('TLS and WSS with required client certificates accept real MQTT.js clients', async () => {
    const c = makeCertificates({ clientCommonName: 'sensor-7' });
    const b = await startBroker({
      MQTT_TLS_PORT: '0',
      MQTT_WSS_PORT: '0',
      TLS_CERT: c.certFile,
      TLS_KEY: c.keyFile,
      TLS_CA: c.caFile,
      TLS_REQUIRE_CLIENT_CERT: 'true',
    });
    brokers.push(b);
    const tlsOpts = { ca: c.ca, cert: c.clientCert, key: c.clientKey, servername: 'localhost' };
    assert.ok(await connects(`mqtts://127.0.0.1:${b.tls}`, tlsOpts), 'mqtts with client cert');
    assert.ok(await connects(`wss://localhost:${b.wss}/mqtt`, { ...tlsOpts, protocolVersion: 5 }), 'wss with client cert');
    assert.equal(await connects(`mqtts://127.0.0.1:${b.tls}`, { ca: c.ca, servername: 'localhost' }), false, 'no client cert');
    const text = (await httpGet(b.http, '/metrics')).body;
    assert.equal(metricValue(text, 'mqtt_connections_accepted_total{transport="tls"}'), 1);
    assert.equal(metricValue(text, 'mqtt_connections_accepted_total{transport="wss"}'), 1);
    // uWebSockets.js cannot verify client certificates: auto keeps this node on ws
    assert.equal(metricValue(text, 'mqtt_websocket_engine_info{engine="ws"}'), 1);
  });

  it('WS_ENGINE=auto: the engine that loads here is logged with why, in /metrics and in mqttctl status, beside the Node.js version', async () => {
    const b = await startBroker();
    brokers.push(b);
    const started = b.logs().find((l) => l.event === 'started');
    assert.equal(started?.wsEngine, AUTO_ENGINE);
    assert.match(String(started?.wsEngineReason), AUTO_ENGINE === 'uws' ? /^uWebSockets\.js @\S+ loaded$/ : /^uWebSockets\.js does not load: /);
    assert.equal(started?.nodejs, process.version);
    const text = (await httpGet(b.http, '/metrics')).body;
    assert.equal(metricValue(text, `mqtt_websocket_engine_info{engine="${AUTO_ENGINE}"}`), 1);
    const grpc = started?.grpcPort as number;
    const status = await mqttctlJson<{ nodes: Array<{ runtime: string; websocketEngine: string }> }>(`127.0.0.1:${grpc}`, 'status');
    assert.deepEqual(
      status.nodes.map((n) => [n.runtime, n.websocketEngine]),
      [[process.version, AUTO_ENGINE]],
    );
    assert.ok(await connects(`ws://127.0.0.1:${b.ws}/mqtt`, { protocolVersion: 5 }), 'MQTT.js over ws://');
  });

  it('WS_ENGINE=uws where uWebSockets.js cannot serve (WSS with required client certificates) fails the start naming WS_ENGINE', async () => {
    const c = makeCertificates({ clientCommonName: 'sensor-8' });
    const s = spawnCli([], {
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: '0',
      MQTT_WS_PORT: '0',
      MQTT_WSS_PORT: '0',
      HTTP_PORT: 'off',
      GRPC_PORT: 'off',
      TLS_CERT: c.certFile,
      TLS_KEY: c.keyFile,
      TLS_CA: c.caFile,
      TLS_REQUIRE_CLIENT_CERT: 'true',
      WS_ENGINE: 'uws',
    });
    const { code } = await s.exit;
    assert.equal(code, 1);
    assert.match(s.stderr(), /^WS_ENGINE=uws: uWebSockets\.js cannot verify client certificates/m);
  });

  it('PROXY_PROTOCOL=true: the logged client address is the proxied one; a missing header is counted', async () => {
    const b = await startBroker({ PROXY_PROTOCOL: 'true', MQTT_WS_PORT: 'off' });
    brokers.push(b);
    const socket = netConnect({ port: b.tcp, host: '127.0.0.1' });
    await new Promise<void>((r) => socket.once('connect', () => r()));
    const connect = Buffer.from('100f00044d5154540402003c0003616263', 'hex'); // CONNECT 3.1.1, id "abc"
    socket.write(Buffer.concat([Buffer.from('PROXY TCP4 198.51.100.23 10.0.0.5 40001 1883\r\n'), connect]));
    const connack = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no CONNACK within 3 s')), 3000);
      socket.once('data', (d: Buffer) => {
        clearTimeout(timer);
        resolve(d);
      });
    });
    assert.deepEqual(connack, Buffer.from([0x20, 0x02, 0x00, 0x00]));
    await waitFor(() => b.logs().some((l) => l.event === 'connect' && l.clientId === 'abc'), 3000, 'connect log');
    assert.equal(b.logs().find((l) => l.event === 'connect')?.address, '198.51.100.23');
    socket.destroy();
    assert.equal(await connects(`mqtt://127.0.0.1:${b.tcp}`, {}), false, 'a client without a PROXY header is refused');
    await waitFor(
      async () => metricValue((await httpGet(b.http, '/metrics')).body, 'mqtt_transport_rejections_total{transport="tcp",reason="proxy_header_invalid"}') === 1,
      3000,
      'rejection counted',
    );
  });

  it('PROXY_PROTOCOL=true on the WebSocket listeners: MQTT.js over ws and wss behind a PROXY header is seen at the proxied address; auto runs them on ws; PROXY_PROTOCOL_LISTENERS=tcp leaves them plain', async () => {
    const c = makeCertificates();
    const tlsFiles = { MQTT_WSS_PORT: '0', TLS_CERT: c.certFile, TLS_KEY: c.keyFile };
    const b = await startBroker({ PROXY_PROTOCOL: 'true', ...tlsFiles });
    brokers.push(b);
    const started = b.logs().find((l) => l.event === 'started');
    assert.equal(started?.wsEngine, 'ws');
    assert.deepEqual(started?.proxyProtocol, ['tcp', 'tls', 'ws', 'wss']);
    /** MQTT.js over a TCP connection that starts with a PROXY v1 header from `source`. */
    const behindProxy = (port: number, source: string, secure: boolean): IClientOptions => ({
      clientId: `via-${source}`,
      wsOptions: {
        createConnection: () => {
          const raw = netConnect({ port, host: '127.0.0.1' });
          raw.write(`PROXY TCP4 ${source} 10.0.0.5 40002 ${port}\r\n`);
          return secure ? tlsConnect({ socket: raw, ca: c.ca, servername: 'localhost' }) : raw;
        },
      },
    });
    assert.ok(await connects(`ws://localhost:${b.ws}/mqtt`, behindProxy(b.ws ?? -1, '198.51.100.31', false)), 'ws behind the proxy');
    assert.ok(await connects(`wss://localhost:${b.wss}/mqtt`, { ...behindProxy(b.wss ?? -1, '198.51.100.32', true), protocolVersion: 5 }), 'wss behind the proxy');
    await waitFor(() => b.logs().filter((l) => l.event === 'connect').length === 2, 3000, 'connect logs');
    const addresses = Object.fromEntries(b.logs().filter((l) => l.event === 'connect').map((l) => [l.clientId, l.address]));
    assert.deepEqual(addresses, { 'via-198.51.100.31': '198.51.100.31', 'via-198.51.100.32': '198.51.100.32' });
    assert.equal(await connects(`ws://127.0.0.1:${b.ws}/mqtt`, {}), false, 'a WebSocket client without a PROXY header is refused');
    await waitFor(
      async () => metricValue((await httpGet(b.http, '/metrics')).body, 'mqtt_transport_rejections_total{transport="ws",reason="proxy_header_invalid"}') === 1,
      3000,
      'rejection counted',
    );

    const tcpOnly = await startBroker({ PROXY_PROTOCOL: 'true', PROXY_PROTOCOL_LISTENERS: 'tcp' });
    brokers.push(tcpOnly);
    assert.equal(tcpOnly.logs().find((l) => l.event === 'started')?.wsEngine, AUTO_ENGINE);
    assert.ok(await connects(`ws://127.0.0.1:${tcpOnly.ws}/mqtt`, {}), 'WebSocket without a header where only tcp reads it');
    assert.equal(await connects(`mqtt://127.0.0.1:${tcpOnly.tcp}`, {}), false, 'tcp still expects the header');
  });

  it('WS_ENGINE=uws with PROXY_PROTOCOL on a WebSocket listener fails the start naming WS_ENGINE', async () => {
    const s = spawnCli([], { MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', MQTT_WS_PORT: '0', HTTP_PORT: 'off', GRPC_PORT: 'off', PROXY_PROTOCOL: 'true', WS_ENGINE: 'uws' });
    const { code } = await s.exit;
    assert.equal(code, 1);
    assert.match(s.stderr(), /^WS_ENGINE=uws: uWebSockets\.js cannot read the PROXY protocol/m);
  });

  it('random bytes on every port do not take the broker down', async () => {
    const b = await startBroker({ CONNECT_TIMEOUT_SECONDS: '1' });
    brokers.push(b);
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      jobs.push(
        new Promise<void>((resolve) => {
          const s = netConnect({ port: i % 2 === 0 ? b.tcp : (b.ws ?? b.tcp), host: '127.0.0.1' }, () => {
            // Half start like a CONNECT, so the parser goes deeper than the first byte.
            const head = i % 4 < 2 ? Buffer.from([0x10, 0xff, 0xff, 0x03]) : Buffer.alloc(0);
            s.write(Buffer.concat([head, randomBytes(1 + ((i * 131) % 4000))]));
            setTimeout(() => s.destroy(), 50);
          });
          s.on('error', () => {});
          s.on('close', () => resolve());
        }),
      );
    }
    for (let i = 0; i < 20; i++) {
      jobs.push(
        new Promise<void>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${b.ws}/mqtt`, ['mqtt']);
          ws.on('open', () => {
            ws.send(randomBytes(1 + i * 50));
            setTimeout(() => ws.terminate(), 50);
          });
          ws.on('error', () => {});
          ws.on('close', () => resolve());
        }),
      );
    }
    await Promise.all(jobs);
    assert.equal(b.child.exitCode, null, 'still running');
    assert.ok(await connects(`mqtt://127.0.0.1:${b.tcp}`, {}), 'still serving');
    assert.equal((await httpGet(b.http, '/healthz')).status, 200);
  });
});
