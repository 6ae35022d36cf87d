import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeSn, encapsulate, encodeSn, SnType } from '../src/index.js';
import { snPacketArb } from './arbitraries.js';

test('decode(encode(p)) is p for every message', () => {
  fc.assert(
    fc.property(snPacketArb, (p) => {
      assert.deepEqual(decodeSn(encodeSn(p)), p);
    }),
    { numRuns: 5000 },
  );
});

test('the Length form follows the size: one octet up to 255, three above', () => {
  fc.assert(
    fc.property(snPacketArb, (p) => {
      const bytes = encodeSn(p);
      if (bytes.length <= 255) assert.equal(bytes[0], bytes.length);
      else assert.deepEqual([bytes[0], bytes.readUInt16BE(1)], [0x01, bytes.length]);
    }),
    { numRuns: 2000 },
  );
});

test('an encapsulated message carries its inner message and node id unchanged', () => {
  fc.assert(
    fc.property(snPacketArb, fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.integer({ min: 0, max: 3 }), (inner, nodeId, radius) => {
      const outer = decodeSn(encapsulate(encodeSn(inner), Buffer.from(nodeId), radius));
      assert.equal(outer.type, SnType.ENCAPSULATED);
      if (outer.type !== SnType.ENCAPSULATED) return;
      assert.deepEqual([outer.radius, [...outer.wirelessNodeId]], [radius, [...nodeId]]);
      assert.deepEqual(decodeSn(outer.message), inner);
    }),
    { numRuns: 2000 },
  );
});
