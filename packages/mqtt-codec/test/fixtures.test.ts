import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Packet, PacketParser, PacketType, packetSize, packetTypeName, serialize } from '../src/index.js';
import { packetFixtures } from '../src/testing/index.js';

function parseAll(bytes: Buffer, version: 3 | 4 | 5, first?: Buffer): Packet[] {
  const parser = new PacketParser(first === undefined ? { protocolVersion: version } : {});
  const out: Packet[] = [];
  if (first !== undefined) parser.push(first, () => {});
  parser.push(bytes, (p) => out.push(p));
  return out;
}

test('every fixture serializes to its bytes and parses back to its packet', () => {
  for (const f of packetFixtures) {
    assert.deepEqual(serialize(f.packet, f.protocolVersion), f.bytes, `serialize ${f.name}`);
    assert.equal(packetSize(f.packet, f.protocolVersion), f.bytes.length, `packetSize ${f.name}`);
    assert.deepEqual(parseAll(f.bytes, f.protocolVersion), [f.packet], `parse ${f.name}`);
  }
});

test('fixtures cover every packet type at every protocol level (AUTH only in 5.0)', () => {
  for (const level of [3, 4, 5] as const) {
    const types = new Set(packetFixtures.filter((f) => f.protocolVersion === level).map((f) => f.packet.type));
    for (const type of Object.values(PacketType)) {
      if (type === PacketType.AUTH && level !== 5) continue;
      assert.ok(types.has(type), `${packetTypeName(type)} at level ${level}`);
    }
  }
  assert.ok(packetFixtures.filter((f) => f.fromSpec).length >= 20);
});

test('a server-side parser adopts the CONNECT level and then parses that level', () => {
  for (const level of [3, 4, 5] as const) {
    const connect = packetFixtures.find((f) => f.protocolVersion === level && f.packet.type === 1)!;
    const rest = packetFixtures.filter((f) => f.protocolVersion === level && f.packet.type !== 1);
    const parser = new PacketParser();
    const got: Packet[] = [];
    parser.push(Buffer.concat([connect.bytes, ...rest.map((f) => f.bytes)]), (p) => got.push(p));
    assert.equal(parser.protocolVersion, level);
    assert.deepEqual(got, [connect.packet, ...rest.map((f) => f.packet)]);
  }
});

test('remaining length boundaries of spec 2.1.4 (127/128, 16383/16384, 2097151/2097152)', () => {
  const cases: [number, string][] = [
    [0, '00'],
    [127, '7f'],
    [128, '8001'],
    [16_383, 'ff7f'],
    [16_384, '808001'],
    [2_097_151, 'ffff7f'],
    [2_097_152, '80808001'],
  ];
  for (const [remaining, encoded] of cases) {
    // QoS 0 PUBLISH to topic 'a': 3 bytes of variable header
    if (remaining < 3) continue;
    const packet: Packet = { type: 3, dup: false, qos: 0, retain: false, topic: 'a', payload: Buffer.alloc(remaining - 3, 7) };
    const bytes = serialize(packet, 4);
    assert.equal(bytes.subarray(1, 1 + encoded.length / 2).toString('hex'), encoded);
    assert.deepEqual(parseAll(bytes, 4), [packet]);
  }
});

test('packetTypeName', () => {
  assert.equal(packetTypeName(3), 'PUBLISH');
  assert.equal(packetTypeName(15), 'AUTH');
  assert.equal(packetTypeName(99), 'UNKNOWN(99)');
});
