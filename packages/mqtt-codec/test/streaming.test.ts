import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Packet, PacketParser, type ProtocolVersion } from '../src/index.js';
import { packetFixtures } from '../src/testing/index.js';

function stream(level: ProtocolVersion): { bytes: Buffer; packets: Packet[] } {
  const connect = packetFixtures.find((f) => f.protocolVersion === level && f.packet.type === 1)!;
  const rest = packetFixtures.filter((f) => f.protocolVersion === level && f.packet.type !== 1);
  return {
    bytes: Buffer.concat([connect.bytes, ...rest.map((f) => f.bytes)]),
    packets: [connect.packet, ...rest.map((f) => f.packet)],
  };
}

function feed(chunks: Buffer[]): Packet[] {
  const parser = new PacketParser();
  const out: Packet[] = [];
  for (const c of chunks) parser.push(c, (p) => out.push(p));
  assert.equal(parser.pendingBytes, 0);
  return out;
}

test('one byte at a time', () => {
  for (const level of [3, 4, 5] as const) {
    const { bytes, packets } = stream(level);
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i++) chunks.push(bytes.subarray(i, i + 1));
    assert.deepEqual(feed(chunks), packets);
  }
});

test('every split point of the whole stream, in two chunks', () => {
  for (const level of [3, 4, 5] as const) {
    const { bytes, packets } = stream(level);
    for (let i = 0; i <= bytes.length; i++) {
      assert.deepEqual(feed([bytes.subarray(0, i), bytes.subarray(i)]), packets, `level ${level} split at ${i}`);
    }
  }
});

test('every split point inside each fixture, in three chunks', () => {
  for (const f of packetFixtures) {
    const b = f.bytes;
    for (let i = 0; i <= b.length; i++) {
      for (let j = i; j <= b.length; j += Math.max(1, Math.floor(b.length / 7))) {
        const parser = new PacketParser({ protocolVersion: f.protocolVersion });
        const out: Packet[] = [];
        for (const c of [b.subarray(0, i), b.subarray(i, j), b.subarray(j)]) parser.push(c, (p) => out.push(p));
        assert.deepEqual(out, [f.packet], `${f.name} split at ${i},${j}`);
      }
    }
  }
});

test('random chunk sizes, many packets per chunk, pendingBytes tracks the partial packet', () => {
  const { bytes, packets } = stream(5);
  let seed = 7;
  const rand = () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed;
  };
  for (let round = 0; round < 200; round++) {
    const parser = new PacketParser();
    const out: Packet[] = [];
    let off = 0;
    while (off < bytes.length) {
      const n = 1 + (rand() % 80);
      const chunk = bytes.subarray(off, off + n);
      off += chunk.length;
      parser.push(chunk, (p) => out.push(p));
      assert.ok(parser.pendingBytes <= off);
    }
    assert.equal(parser.pendingBytes, 0);
    assert.deepEqual(out, packets);
  }
});

test('payloads of a packet inside one chunk are views into that chunk (no copy)', () => {
  const f = packetFixtures.find((x) => x.packet.type === 3 && x.protocolVersion === 4 && x.packet.payload.length > 0)!;
  const chunk = Buffer.concat([f.bytes, f.bytes]);
  const parser = new PacketParser({ protocolVersion: 4 });
  const got: Packet[] = [];
  parser.push(chunk, (p) => got.push(p));
  for (const p of got) {
    assert.equal(p.type, 3);
    if (p.type === 3) assert.equal(p.payload.buffer, chunk.buffer);
  }
});

test('a packet split over chunks is buffered in one allocation of its exact size', () => {
  const payload = Buffer.alloc(100_000, 1);
  const parser = new PacketParser({ protocolVersion: 4 });
  const bytes = Buffer.concat([Buffer.from('30a38d06', 'hex'), Buffer.from('0001', 'hex'), Buffer.from('a'), payload]);
  let got: Packet | undefined;
  parser.push(bytes.subarray(0, 3), (p) => (got = p));
  assert.equal(parser.pendingBytes, 3);
  parser.push(bytes.subarray(3, 50_000), (p) => (got = p));
  assert.equal(parser.pendingBytes, 50_000);
  parser.push(bytes.subarray(50_000), (p) => (got = p));
  assert.ok(got !== undefined && got.type === 3);
  if (got.type === 3) {
    assert.deepEqual(got.payload, payload);
    assert.equal(got.payload.buffer.byteLength >= bytes.length, true);
  }
  assert.equal(parser.pendingBytes, 0);
});
