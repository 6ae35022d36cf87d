/**
 * Random and mutated bytes: the parser must only hand out packets or throw MqttProtocolError,
 * never another exception, never hang. Whatever it accepts must serialize and parse back to
 * the same packet. Bounded by count and by a wall-clock budget.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MqttProtocolError, type Packet, PacketParser, type ProtocolVersion, serialize } from '../src/index.js';
import { packetArb } from './arbitraries.js';

const BUDGET_MS = 8000;

function check(bytes: Buffer, level: ProtocolVersion | undefined, chunk: number): number {
  const parser = new PacketParser(level === undefined ? { maxPacketSize: 1 << 20 } : { protocolVersion: level, maxPacketSize: 1 << 20 });
  const got: Packet[] = [];
  try {
    for (let i = 0; i < bytes.length; i += chunk) parser.push(bytes.subarray(i, i + chunk), (p) => got.push(p));
  } catch (e) {
    if (!(e instanceof MqttProtocolError)) throw new Error(`non-protocol error ${String(e)} for ${bytes.toString('hex')}`);
  }
  const v = parser.protocolVersion;
  for (const p of got) {
    const version = p.type === 1 ? p.protocolVersion : v!;
    const again = new PacketParser({ protocolVersion: version });
    const back: Packet[] = [];
    again.push(serialize(p, version), (x) => back.push(x));
    assert.deepEqual(back, [p], `re-encode of ${bytes.toString('hex')}`);
  }
  return got.length;
}

test('random bytes: packets or MqttProtocolError only', () => {
  const deadline = Date.now() + BUDGET_MS / 4;
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 200 }),
      fc.constantFrom<ProtocolVersion | undefined>(undefined, 3, 4, 5),
      fc.integer({ min: 1, max: 64 }),
      (bytes, level, chunk) => {
        if (Date.now() > deadline) return;
        check(Buffer.from(bytes), level, chunk);
      },
    ),
    { numRuns: 20_000 },
  );
});

test('random bytes behind a plausible first byte', () => {
  const deadline = Date.now() + BUDGET_MS / 4;
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 120 }), fc.constantFrom<ProtocolVersion>(3, 4, 5), (first, body, level) => {
      if (Date.now() > deadline) return;
      const head = Buffer.from([first, body.length]);
      check(Buffer.concat([head, Buffer.from(body)]), level, 7);
    }),
    { numRuns: 20_000 },
  );
});

test('mutated valid packets (bit flips, byte changes, truncation, insertion)', () => {
  const deadline = Date.now() + BUDGET_MS / 2;
  let accepted = 0;
  let runs = 0;
  for (const level of [3, 4, 5] as const) {
    fc.assert(
      fc.property(
        packetArb(level),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'set', 'cut', 'insert')), { minLength: 1, maxLength: 3 }),
        (packet, mutations) => {
          if (Date.now() > deadline) return;
          runs++;
          let bytes = Buffer.from(serialize(packet, level));
          for (const [pos, value, kind] of mutations) {
            const i = pos % Math.max(1, bytes.length);
            if (kind === 'flip') bytes[i] ^= 1 << (value & 7);
            else if (kind === 'set') bytes[i] = value;
            else if (kind === 'cut') bytes = bytes.subarray(0, i);
            else bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from([value]), bytes.subarray(i)]);
          }
          accepted += check(bytes, level, 1 + (mutations.length % 5));
        },
      ),
      { numRuns: 6000 },
    );
  }
  assert.ok(runs > 1000, `only ${runs} runs in the time budget`);
  assert.ok(accepted > 0);
});
