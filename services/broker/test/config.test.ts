import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, resolveConfig, SETTINGS, flagOf } from '../src/index.js';
import { spawnCli } from './service-support.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('config', () => {
  it('has the documented defaults', () => {
    const c = resolveConfig({});
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.mqttPort, 1883);
    assert.equal(c.wsPort, 8083);
    assert.equal(c.tlsPort, undefined);
    assert.equal(c.wssPort, undefined);
    assert.equal(c.httpPort, 9090);
    assert.equal(c.grpcPort, 9100);
    assert.equal(c.allowAnonymous, true);
    assert.deepEqual(c.proxyProtocol, []);
    assert.equal(c.logLevel, 'info');
    assert.equal(c.drainSeconds, 10);
    assert.equal(c.drainWillGraceSeconds, 30);
    assert.equal(resolveConfig({ DRAIN_WILL_GRACE_SECONDS: '0' }).drainWillGraceSeconds, 0);
    assert.equal(c.sysIntervalSeconds, 10);
    assert.deepEqual(c.limits, {});
    assert.match(c.nodeId, /.+-[0-9a-f]{6}$/);
  });

  it('reads the environment, and flags win over it', () => {
    const env = { MQTT_PORT: '1884', MQTT_WS_PORT: 'off', HTTP_PORT: '', MQTT_HOST: '::1', ALLOW_ANONYMOUS: 'false', MAX_INFLIGHT: '7', QUEUE_OVERFLOW: 'drop_newest', NODE_ID: 'n1' };
    const c = resolveConfig(env, { MQTT_PORT: '1885', MAX_INFLIGHT: '9' });
    assert.equal(c.mqttPort, 1885);
    assert.equal(c.wsPort, undefined, "'off' disables");
    assert.equal(c.httpPort, undefined, 'empty disables');
    assert.equal(c.host, '::1');
    assert.equal(c.allowAnonymous, false);
    assert.equal(c.nodeId, 'n1');
    assert.deepEqual(c.limits, { maxInflight: 9, queueOverflow: 'drop_newest' });
  });

  it('maps one variable to every BrokerLimits field', () => {
    const env: Record<string, string> = {};
    for (const s of SETTINGS) if (s.limit !== undefined) env[s.env] = s.kind.type === 'enum' ? 'drop_oldest' : '5';
    env.MAX_PACKET_SIZE = '1000';
    const c = resolveConfig(env);
    assert.deepEqual(Object.keys(c.limits).sort(), [
      'connectRatePerAddress',
      'connectTimeoutSeconds',
      'maxConnections',
      'maxInflight',
      'maxKeepAliveSeconds',
      'maxPacketSize',
      'maxQueuedMessages',
      'maxSessionExpirySeconds',
      'maxSubscriptionsPerClient',
      'maxTopicLength',
      'maxTopicLevels',
      'publishRatePerClient',
      'queueOverflow',
      'quotaBurstSeconds',
      'quotaBytesPerSecond',
      'quotaGraceSeconds',
      'quotaMessagesPerSecond',
      'quotaUserBytesPerSecond',
      'quotaUserMessagesPerSecond',
      'receiveMaximum',
      'topicAliasMaximum',
    ]);
  });

  it('names the setting in one line for each bad value', () => {
    const cases: Array<[Record<string, string>, Record<string, string>, string]> = [
      [{ MQTT_PORT: 'abc' }, {}, 'invalid MQTT_PORT: "abc" is not a port number'],
      [{}, { MQTT_PORT: '70000' }, 'invalid --mqtt-port (MQTT_PORT): "70000" is not a port number'],
      [{ ALLOW_ANONYMOUS: 'maybe' }, {}, 'invalid ALLOW_ANONYMOUS: "maybe" is not true or false'],
      [{ LOG_LEVEL: 'loud' }, {}, 'invalid LOG_LEVEL: "loud" is not one of fatal, error'],
      [{ MAX_INFLIGHT: '0' }, {}, 'invalid MAX_INFLIGHT: "0" is not an integer from 1 to 65535'],
      [{ DRAIN_SECONDS: '-1' }, {}, 'invalid DRAIN_SECONDS: "-1" is not an integer'],
      [{ QUEUE_OVERFLOW: 'drop_all' }, {}, 'invalid QUEUE_OVERFLOW: "drop_all" is not one of drop_oldest, drop_newest'],
      [{ MQTT_HOST: 'bad host!' }, {}, 'invalid MQTT_HOST: "bad host!" is not an IP address or host name'],
      [{ REDIS_URL: 'http://x' }, {}, 'invalid REDIS_URL: "http://x" is not a redis:// or rediss:// URL'],
      [{ REDIS_CLUSTER_NODES: 'a:1,b' }, {}, 'invalid REDIS_CLUSTER_NODES: "b" is not host:port'],
      [{ MQTT_TLS_PORT: '8883' }, {}, 'invalid TLS_CERT: required when MQTT_TLS_PORT is set'],
      [{ MQTT_WSS_PORT: '8884', TLS_CERT: '/nonexistent.pem', TLS_KEY: '/x' }, {}, 'invalid TLS_CERT: cannot read "/nonexistent.pem": ENOENT'],
      [{ PROXY_PROTOCOL_LISTENERS: 'tcp,mqttsn' }, {}, 'invalid PROXY_PROTOCOL_LISTENERS: "mqttsn" is not one of tcp, tls, ws, wss'],
      [{ PROXY_PROTOCOL: 'true', PROXY_PROTOCOL_LISTENERS: '' }, {}, 'invalid PROXY_PROTOCOL_LISTENERS: PROXY_PROTOCOL is on and no listener is named'],
    ];
    for (const [env, flags, expected] of cases) {
      const err = configError(() => resolveConfig(env, flags));
      assert.ok(err.message.startsWith(expected), `${err.message} should start with ${expected}`);
      assert.ok(!err.message.includes('\n'));
    }
  });

  it('PROXY_PROTOCOL reads the header on every stream listener, or those PROXY_PROTOCOL_LISTENERS names', () => {
    assert.deepEqual(resolveConfig({ PROXY_PROTOCOL: 'true' }).proxyProtocol, ['tcp', 'tls', 'ws', 'wss']);
    assert.deepEqual(resolveConfig({ PROXY_PROTOCOL: 'true', PROXY_PROTOCOL_LISTENERS: 'tls, tcp' }).proxyProtocol, ['tls', 'tcp']);
    assert.deepEqual(resolveConfig({ PROXY_PROTOCOL_LISTENERS: 'tcp' }).proxyProtocol, []);
  });

  it('parses cluster settings and refuses both at once', () => {
    assert.equal(resolveConfig({ REDIS_URL: 'redis://localhost:6379' }).redisUrl, 'redis://localhost:6379');
    assert.deepEqual(resolveConfig({ REDIS_CLUSTER_NODES: 'r1:7000,r2:7001' }).redisClusterNodes, [
      { host: 'r1', port: 7000 },
      { host: 'r2', port: 7001 },
    ]);
    const err = configError(() => resolveConfig({ REDIS_URL: 'redis://localhost:6379', REDIS_CLUSTER_NODES: 'r1:7000' }));
    assert.equal(err.setting, 'REDIS_CLUSTER_NODES');
  });

  it('requires TLS_CA with TLS_REQUIRE_CLIENT_CERT and loads PEM files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const pem = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    writeFileSync(join(dir, 'c.pem'), pem);
    writeFileSync(join(dir, 'k.pem'), pem);
    const base = { MQTT_TLS_PORT: '8883', TLS_CERT: join(dir, 'c.pem'), TLS_KEY: join(dir, 'k.pem') };
    assert.match(configError(() => resolveConfig({ ...base, TLS_REQUIRE_CLIENT_CERT: 'true' })).message, /^invalid TLS_CA: required/);
    const c = resolveConfig({ ...base, TLS_CA: join(dir, 'c.pem'), TLS_REQUIRE_CLIENT_CERT: 'yes' });
    assert.equal(c.tls?.requireClientCert, true);
    assert.equal(c.tls?.cert.toString(), pem);
  });
});

describe('mqtt-broker CLI', () => {
  it('--help lists every setting with its flag and variable', async () => {
    const p = spawnCli(['--help']);
    const { code } = await p.exit;
    assert.equal(code, 0);
    for (const s of SETTINGS) {
      assert.ok(p.stdout().includes(flagOf(s.env)), `${flagOf(s.env)} in --help`);
      assert.ok(p.stdout().includes(`env ${s.env}`), `${s.env} in --help`);
    }
    assert.match(p.stdout(), /passwd/);
  });

  it('exits non-zero with one line naming the setting for a bad value', async () => {
    for (const [args, env, expected] of [
      [[], { MQTT_PORT: 'abc' }, 'invalid MQTT_PORT: "abc" is not a port number'],
      [['--max-packet-size', 'big'], {}, 'invalid --max-packet-size (MAX_PACKET_SIZE): "big" is not an integer'],
      [[], { REDIS_URL: 'ftp://127.0.0.1:6379' }, 'invalid REDIS_URL: "ftp://127.0.0.1:6379" is not a redis:// or rediss:// URL'],
    ] as Array<[string[], Record<string, string>, string]>) {
      const p = spawnCli(args, env);
      const { code } = await p.exit;
      assert.notEqual(code, 0);
      const lines = p.stderr().trim().split('\n');
      assert.equal(lines.length, 1, p.stderr());
      assert.ok(lines[0].startsWith(expected), lines[0]);
    }
  });

  it('exits non-zero with "MQTT_PORT <port>: address already in use" when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const p = spawnCli([], { MQTT_HOST: '127.0.0.1', MQTT_PORT: String(port), MQTT_WS_PORT: '0', HTTP_PORT: '0' });
      const { code } = await p.exit;
      assert.equal(code, 1);
      assert.equal(p.stderr().trim(), `MQTT_PORT ${port}: address already in use`);
      const p2 = spawnCli(['--http-port', String(port)], { MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', MQTT_WS_PORT: '0' });
      assert.equal((await p2.exit).code, 1);
      assert.equal(p2.stderr().trim(), `HTTP_PORT ${port}: address already in use`);
    } finally {
      blocker.close();
    }
  });
  it('auth methods: AUTH_CHAIN names only configured methods; one JWT key source; TLS_IDENTITY needs TLS_CA', () => {
    assert.deepEqual(resolveConfig({ PASSWORD_FILE: '/p', JWT_JWKS_URL: 'https://issuer.test/jwks.json' }).authChain, ['jwt', 'password-file']);
    assert.deepEqual(resolveConfig({ AUTH_CHAIN: 'password-file, jwt', PASSWORD_FILE: '/p', JWT_KEY_FILE: '/k' }).authChain, ['password-file', 'jwt']);
    assert.equal(configError(() => resolveConfig({ AUTH_CHAIN: 'jwt' })).message, 'invalid AUTH_CHAIN: "jwt" needs JWT_KEY_FILE or JWT_JWKS_URL');
    assert.match(configError(() => resolveConfig({ AUTH_CHAIN: 'jwt,ldap' })).message, /^invalid AUTH_CHAIN: "ldap" is not one of/);
    assert.match(configError(() => resolveConfig({ JWT_KEY_FILE: '/k', JWT_JWKS_URL: 'https://x.test/j' })).message, /either JWT_KEY_FILE or JWT_JWKS_URL/);
    assert.match(configError(() => resolveConfig({ JWT_JWKS_URL: 'ftp://x' })).message, /is not an http:\/\/ or https:\/\/ URL/);
    assert.match(configError(() => resolveConfig({ JWT_JWKS_URL: 'https://x.test/j', JWT_ALGORITHMS: 'RS256,none' })).message, /"none" is not one of/);
    assert.match(configError(() => resolveConfig({ TLS_IDENTITY: 'cn' })).message, /^invalid TLS_IDENTITY: needs TLS_CA/);
  });
});
