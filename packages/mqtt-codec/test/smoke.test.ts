import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Packet, PacketParser, serialize } from '../src/index.js';

test('a CONNECT then a PUBLISH round trip through one chunk', () => {
  const connect: Packet = { type: 1, protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 30, clientId: 'c' };
  const publish: Packet = { type: 3, dup: false, qos: 1, retain: false, topic: 'a/b', packetId: 1, payload: Buffer.from('x') };
  const parser = new PacketParser();
  const got: Packet[] = [];
  parser.push(Buffer.concat([serialize(connect, 4), serialize(publish, 4)]), (p) => got.push(p));
  assert.deepEqual(got, [connect, publish]);
  assert.equal(parser.protocolVersion, 4);
});
