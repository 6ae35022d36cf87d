import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketType, ReasonCode, type Will } from '@mqtt-broker/mqtt-codec';
import { TestClient } from '../src/testing/index.js';
import { payloads, setup, sub, subscriber } from './harness.js';

const will = (extra: Partial<Will> = {}): Will => ({ topic: 'will/x', payload: Buffer.from('bye'), qos: 1, retain: false, ...extra });

describe('will messages', () => {
  it('published on network loss, not after a normal DISCONNECT', async () => {
    const { broker } = setup();
    const w = await subscriber(broker, 'w', [sub('will/#', 1)]);
    const a = new TestClient(broker, 4);
    await a.connect({ clientId: 'a', will: will() });
    a.close(true);
    assert.deepEqual(payloads(w), ['bye']);
    const b = new TestClient(broker, 4);
    await b.connect({ clientId: 'b', will: will() });
    b.send({ type: PacketType.DISCONNECT, reasonCode: 0 });
    b.close();
    assert.deepEqual(payloads(w), []);
  });

  it('published after a protocol error', async () => {
    const { broker } = setup();
    const w = await subscriber(broker, 'w', [sub('will/#')]);
    const a = new TestClient(broker, 4);
    await a.connect({ clientId: 'a', will: will() });
    a.sendRaw(Buffer.from([0x10, 0x00])); // second CONNECT (malformed, too)
    assert.ok(a.closed);
    assert.deepEqual(payloads(w), ['bye']);
  });

  it('5.0 DISCONNECT 0x04 publishes the will, with its properties passed through', async () => {
    const { broker } = setup();
    const w = await subscriber(broker, 'w', [sub('will/#')], 5);
    const a = new TestClient(broker, 5);
    await a.connect({
      clientId: 'a',
      will: will({ properties: { contentType: 'text/plain', userProperties: [['k', 'v']], correlationData: Buffer.from('cd') } }),
    });
    a.send({ type: PacketType.DISCONNECT, reasonCode: ReasonCode.DisconnectWithWillMessage });
    const m = w.expect(PacketType.PUBLISH);
    assert.equal(m.payload.toString(), 'bye');
    assert.equal(m.properties?.contentType, 'text/plain');
    assert.deepEqual(m.properties?.userProperties, [['k', 'v']]);
    assert.equal(m.properties?.correlationData?.toString(), 'cd');
  });

  it('[MQTT-3.1.3-9] will delay: cancelled by a reconnect in time, published after the delay otherwise', async () => {
    const { broker, clock } = setup();
    const w = await subscriber(broker, 'w', [sub('will/#')]);
    const connect = async (): Promise<TestClient> => {
      const c = new TestClient(broker, 5);
      await c.connect({ clientId: 'd', clean: false, properties: { sessionExpiryInterval: 100 }, will: will({ properties: { willDelayInterval: 5 } }) });
      return c;
    };
    (await connect()).close(true);
    clock.advance(4_000);
    const again = await connect();
    clock.advance(10_000);
    assert.deepEqual(payloads(w), [], 'reconnected in time');
    again.close(true);
    clock.advance(4_999);
    assert.deepEqual(payloads(w), []);
    clock.advance(1);
    assert.deepEqual(payloads(w), ['bye']);
  });

  it('will delay longer than the session expiry: published when the session ends', async () => {
    const { broker, clock } = setup();
    const w = await subscriber(broker, 'w', [sub('will/#')]);
    const c = new TestClient(broker, 5);
    await c.connect({ clientId: 'd', properties: { sessionExpiryInterval: 3 }, will: will({ properties: { willDelayInterval: 60 } }) });
    c.close(true);
    clock.advance(2_999);
    assert.deepEqual(payloads(w), []);
    clock.advance(1);
    assert.deepEqual(payloads(w), ['bye']);
  });

  it('retained will is stored; a will to $SYS or refused by the authorizer is not published', async () => {
    const { broker } = setup({ authorizer: { canPublish: (_c, t) => t !== 'will/forbidden' } });
    const a = new TestClient(broker, 4);
    await a.connect({ clientId: 'a', will: will({ retain: true }) });
    a.close(true);
    assert.equal(broker.stats().retainedMessages, 1);
    const w = await subscriber(broker, 'w', [sub('will/#'), sub('$SYS/#')]);
    payloads(w);
    for (const topic of ['will/forbidden', '$SYS/x']) {
      const b = new TestClient(broker, 4);
      await b.connect({ clientId: `b${topic}`, will: will({ topic }) });
      b.close(true);
    }
    assert.deepEqual(payloads(w), []);
  });
});
