import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketType, ReasonCode, serialize } from '@mqtt-broker/mqtt-codec';
import { TestClient } from '../src/testing/index.js';
import { setup } from './harness.js';

describe('CONNECT edge cases', () => {
  it('malformed 5.0 CONNECT -> CONNACK 0x81 (level known), then close', async () => {
    const { broker, observer } = setup();
    const c = new TestClient(broker, 5);
    const good = serialize({ type: PacketType.CONNECT, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepAlive: 0, clientId: 'x' }, 5);
    // properties length claims 5 bytes that are not there
    const bad = Buffer.from(good);
    bad[12] = 5;
    c.sendRaw(bad);
    assert.ok(c.closed);
    assert.deepEqual(c.conn.frames[0], Buffer.from([0x20, 0x03, 0x00, ReasonCode.MalformedPacket, 0x00]));
    assert.equal(observer.kinds('closedBeforeConnect').length, 1);
  });

  it('will with Payload Format Indicator 1 and invalid UTF-8 -> CONNACK 0x99', async () => {
    const { broker } = setup();
    const c = new TestClient(broker, 5);
    const ack = await c.connect({ will: { topic: 'w', payload: Buffer.from([0xc3, 0x28]), qos: 0, retain: false, properties: { payloadFormatIndicator: 1 } } });
    assert.equal(ack.reasonCode, ReasonCode.PayloadFormatInvalid);
    assert.ok(c.closed);
  });

  it('keep alive 0: never timed out', async () => {
    const { broker, clock } = setup();
    const c = new TestClient(broker, 4);
    await c.connect({ keepAlive: 0 });
    clock.advance(24 * 3600 * 1000);
    assert.ok(!c.closed);
  });

  it('[MQTT-3.1.4-5] data after a refused CONNECT is not processed', async () => {
    const { broker, observer } = setup({ authenticator: { authenticate: () => ({ ok: false, reasonCode: ReasonCode.NotAuthorized }) } });
    const c = new TestClient(broker, 4);
    await c.connect();
    c.send({ type: PacketType.PUBLISH, dup: false, qos: 0, retain: false, topic: 'x', payload: Buffer.from('x') });
    assert.equal(observer.published, 0);
    assert.ok(c.idle);
  });

  it('observer: packetReceived bytes add up to what was received; packetSent per frame', async () => {
    let received = 0;
    let sent = 0;
    const { broker: counted } = setup({
      observer: {
        ...(await import('../src/index.js')).noopObserver,
        packetReceived: (_t, b) => {
          received += b;
        },
        packetSent: (_t, b) => {
          sent += b;
        },
      },
    });
    const c = new TestClient(counted, 4);
    const connect = serialize({ type: PacketType.CONNECT, protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 0, clientId: 'b' }, 4);
    const ping = Buffer.from([0xc0, 0x00]);
    c.sendRaw(connect);
    await new Promise((r) => setImmediate(r));
    c.sendRaw(Buffer.concat([ping, ping, ping]));
    assert.equal(received, connect.length + 6);
    assert.equal(sent, 4 + 3 * 2);
  });
});
