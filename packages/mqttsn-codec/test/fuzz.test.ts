/**
 * Random and mutated datagrams: the decoder must return a message or throw MqttSnDecodeError,
 * nothing else; whatever it accepts must encode and decode back to the same message. Bounded by
 * count and by a wall-clock budget.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeSn, encodeSn, MqttSnDecodeError, type SnPacket } from '../src/index.js';
import { snFixtures } from '../src/testing/index.js';

const BUDGET_MS = 4000;

function check(bytes: Buffer): 'ok' | 'refused' {
  let p: SnPacket;
  try {
    p = decodeSn(bytes);
  } catch (e) {
    if (!(e instanceof MqttSnDecodeError)) throw new Error(`non-decode error ${String(e)} for ${bytes.toString('hex')}`);
    return 'refused';
  }
  assert.deepEqual(decodeSn(encodeSn(p)), p, `re-encode of ${bytes.toString('hex')}`);
  return 'ok';
}

test('random datagrams: a message or MqttSnDecodeError', () => {
  const deadline = Date.now() + BUDGET_MS / 2;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      if (Date.now() > deadline) return;
      check(Buffer.from(bytes));
    }),
    { numRuns: 30_000 },
  );
});

test('random bodies behind a correct Length and every MsgType', () => {
  const deadline = Date.now() + BUDGET_MS / 2;
  let accepted = 0;
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 60 }), (type, body) => {
      if (Date.now() > deadline) return;
      const datagram = Buffer.concat([Buffer.from([body.length + 2, type]), Buffer.from(body)]);
      if (check(datagram) === 'ok') accepted++;
    }),
    { numRuns: 30_000 },
  );
  assert.ok(accepted > 100, `only ${accepted} random bodies decoded: the generator is not reaching the decoder`);
});

test('every fixture with one octet flipped, dropped or added', () => {
  for (const f of snFixtures) {
    for (let i = 0; i < f.bytes.length; i++) {
      for (const bit of [0x01, 0x04, 0x20, 0x80]) {
        const flipped = Buffer.from(f.bytes);
        flipped[i]! ^= bit;
        check(flipped);
      }
      check(Buffer.concat([f.bytes.subarray(0, i), f.bytes.subarray(i + 1)]));
    }
    check(Buffer.concat([f.bytes, Buffer.from([0])]));
  }
});
