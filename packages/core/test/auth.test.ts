import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketType, ReasonCode } from '@mqtt-broker/mqtt-codec';
import type { Authenticator, EnhancedAuthStep } from '../src/index.js';
import { settle, TestClient } from '../src/testing/index.js';
import { payloads, setup, sub, subscriber } from './harness.js';

const passwords: Authenticator = {
  authenticate: (r) => (r.username === 'u' && r.password?.toString() === 'p' ? { ok: true } : { ok: false, reasonCode: ReasonCode.BadUserNameOrPassword }),
};

describe('authentication', () => {
  it('bad credentials -> CONNACK 0x86 (5.0) / 4 (3.1.1); not authorized 0x87 -> 5', async () => {
    const { broker, observer } = setup({ authenticator: passwords });
    assert.equal((await new TestClient(broker, 5).connect({ username: 'u', password: Buffer.from('x') })).reasonCode, ReasonCode.BadUserNameOrPassword);
    assert.equal((await new TestClient(broker, 4).connect({ username: 'u', password: Buffer.from('x') })).reasonCode, 4);
    assert.equal((await new TestClient(broker, 4).connect({ username: 'u', password: Buffer.from('p') })).reasonCode, 0);
    broker.setAuth({ authenticator: { authenticate: () => ({ ok: false, reasonCode: ReasonCode.NotAuthorized }) } });
    assert.equal((await new TestClient(broker, 4).connect({ clientId: 'z' })).reasonCode, 5);
    assert.equal(observer.kinds('rejected').length, 3);
  });

  it('async authenticator: packets sent before the CONNACK are held and processed in order after it', async () => {
    let release: (() => void) | undefined;
    const { broker } = setup({
      authenticator: {
        authenticate: () =>
          new Promise((resolve) => {
            release = () => resolve({ ok: true });
          }),
      },
    });
    const s = await (async () => {
      const c = new TestClient(broker, 4);
      c.send({ type: PacketType.CONNECT, protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 0, clientId: 's' });
      await settle();
      release?.();
      await settle();
      c.expect(PacketType.CONNACK);
      c.send({ type: PacketType.SUBSCRIBE, packetId: 1, subscriptions: [sub('h')] });
      c.expect(PacketType.SUBACK);
      return c;
    })();
    const c = new TestClient(broker, 4);
    c.send({ type: PacketType.CONNECT, protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 0, clientId: 'c' });
    c.send({ type: PacketType.PUBLISH, dup: false, qos: 1, retain: false, topic: 'h', packetId: 1, payload: Buffer.from('1') });
    c.send({ type: PacketType.PUBLISH, dup: false, qos: 0, retain: false, topic: 'h', payload: Buffer.from('2') });
    await settle();
    assert.ok(c.idle, 'nothing before the authenticator answers');
    assert.ok(c.conn.paused, 'reading paused while authenticating');
    release?.();
    await settle();
    c.expect(PacketType.CONNACK);
    c.expect(PacketType.PUBACK);
    assert.deepEqual(payloads(s), ['1', '2']);
    assert.ok(!c.conn.paused);
  });

  it('enhanced authentication: AUTH exchange, then CONNACK with the method; unknown method -> 0x8C', async () => {
    const challenge: Authenticator = {
      authenticate: () => ({ ok: true }),
      enhancedMethods: ['TEST'],
      startEnhanced: (): EnhancedAuthStep => ({ done: false, data: Buffer.from('challenge') }),
      continueEnhanced: async (_m, data): Promise<EnhancedAuthStep> =>
        data?.toString() === 'response' ? { done: true, ok: true, data: Buffer.from('final') } : { done: true, ok: false, reasonCode: ReasonCode.NotAuthorized },
    };
    const { broker } = setup({ authenticator: challenge });
    const c = new TestClient(broker, 5);
    c.send({ type: PacketType.CONNECT, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepAlive: 0, clientId: 'e', properties: { authenticationMethod: 'TEST' } });
    await settle();
    const auth = c.expect(PacketType.AUTH);
    assert.equal(auth.reasonCode, ReasonCode.ContinueAuthentication);
    assert.equal(auth.properties?.authenticationData?.toString(), 'challenge');
    c.send({ type: PacketType.AUTH, reasonCode: ReasonCode.ContinueAuthentication, properties: { authenticationMethod: 'TEST', authenticationData: Buffer.from('response') } });
    await settle();
    const ack = c.expect(PacketType.CONNACK);
    assert.equal(ack.reasonCode, 0);
    assert.equal(ack.properties?.authenticationMethod, 'TEST');
    assert.equal(ack.properties?.authenticationData?.toString(), 'final');

    // re-authentication [MQTT-4.12.1-?]
    c.send({ type: PacketType.AUTH, reasonCode: ReasonCode.ReAuthenticate, properties: { authenticationMethod: 'TEST' } });
    await settle();
    assert.equal(c.expect(PacketType.AUTH).reasonCode, ReasonCode.ContinueAuthentication);
    c.send({ type: PacketType.AUTH, reasonCode: ReasonCode.ContinueAuthentication, properties: { authenticationMethod: 'TEST', authenticationData: Buffer.from('response') } });
    await settle();
    assert.equal(c.expect(PacketType.AUTH).reasonCode, ReasonCode.Success);
    // failed re-authentication disconnects
    c.send({ type: PacketType.AUTH, reasonCode: ReasonCode.ReAuthenticate, properties: { authenticationMethod: 'TEST' } });
    await settle();
    c.expect(PacketType.AUTH);
    c.send({ type: PacketType.AUTH, reasonCode: ReasonCode.ContinueAuthentication, properties: { authenticationMethod: 'TEST', authenticationData: Buffer.from('wrong') } });
    await settle();
    assert.equal(c.expect(PacketType.DISCONNECT).reasonCode, ReasonCode.NotAuthorized);

    const bad = new TestClient(broker, 5);
    const nack = await bad.connect({ clientId: 'x', properties: { authenticationMethod: 'OTHER' } });
    assert.equal(nack.reasonCode, ReasonCode.BadAuthenticationMethod);
  });

  it('client certificate CN reaches the authenticator', async () => {
    let seen: string | undefined;
    const { broker } = setup({
      authenticator: {
        authenticate: (r) => {
          seen = r.certificateCommonName;
          return { ok: true };
        },
      },
    });
    const c = new TestClient(broker, 4);
    c.conn.certificateCommonName = 'device-1';
    await c.connect();
    assert.equal(seen, 'device-1');
  });
});

describe('subscriber delivery with authorizer', () => {
  it('canRead filters wildcard deliveries per message', async () => {
    const { broker } = setup({ authorizer: { canRead: (_c, t) => !t.endsWith('/hidden') } });
    const s = await subscriber(broker, 's', [sub('#')]);
    const p = new TestClient(broker, 4);
    await p.connect({ clientId: 'p' });
    for (const t of ['a/hidden', 'a/shown']) p.send({ type: PacketType.PUBLISH, dup: false, qos: 0, retain: false, topic: t, payload: Buffer.from(t) });
    assert.deepEqual(payloads(s), ['a/shown']);
  });
});
