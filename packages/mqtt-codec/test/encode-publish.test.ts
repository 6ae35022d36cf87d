import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  encodePublish,
  MqttProtocolError,
  type Packet,
  PacketParser,
  type PublishPacket,
  serialize,
  withPacketId,
} from '../src/index.js';

const base: PublishPacket = {
  type: 3,
  dup: false,
  qos: 1,
  retain: true,
  topic: 'fleet/42/pos',
  payload: Buffer.from('{"lat":1}'),
  properties: { messageExpiryInterval: 60, userProperties: [['a', 'b']] },
};

test('withPacketId equals a fresh serialize with that id, for every level', () => {
  for (const level of [3, 4, 5] as const) {
    const encoded = encodePublish(base, level);
    for (const id of [1, 2, 255, 256, 65_535]) {
      for (const dup of [undefined, true, false]) {
        const bytes = withPacketId(encoded, id, dup);
        const expected = serialize({ ...base, packetId: id, dup: dup ?? false }, level);
        assert.deepEqual(bytes, expected);
        const parser = new PacketParser({ protocolVersion: level });
        let got: Packet | undefined;
        parser.push(bytes, (p) => (got = p));
        assert.equal(got?.type === 3 && got.packetId, id);
      }
    }
  }
});

test('withPacketId never patches the shared frame', () => {
  const encoded = encodePublish({ ...base, packetId: 9 }, 4);
  const before = Buffer.from(encoded.frame);
  const a = withPacketId(encoded, 1, true);
  const b = withPacketId(encoded, 2);
  assert.deepEqual(encoded.frame, before);
  assert.notEqual(a, encoded.frame);
  assert.equal(a.readUInt16BE(encoded.packetIdOffset), 1);
  assert.equal(b.readUInt16BE(encoded.packetIdOffset), 2);
});

test('QoS 0: offset -1, the frame itself, no DUP, no id', () => {
  const encoded = encodePublish({ ...base, qos: 0 }, 5);
  assert.equal(encoded.packetIdOffset, -1);
  assert.equal(withPacketId(encoded, 1), encoded.frame);
  assert.throws(() => withPacketId(encoded, 1, true), MqttProtocolError);
});

test('invalid packet identifiers are refused', () => {
  const encoded = encodePublish(base, 4);
  for (const id of [0, -1, 65_536, 1.5, Number.NaN]) assert.throws(() => withPacketId(encoded, id), MqttProtocolError);
});
