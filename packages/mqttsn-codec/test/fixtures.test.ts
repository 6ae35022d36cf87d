import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeSn, encodeSn, MqttSnDecodeError, SnType } from '../src/index.js';
import { snFixtures, snMalformed } from '../src/testing/index.js';

test('every MsgType of MQTT-SN 1.2 has a golden fixture', () => {
  const covered = new Set(snFixtures.map((f) => f.packet.type));
  for (const [name, code] of Object.entries(SnType)) assert.ok(covered.has(code), `no fixture for ${name}`);
});

for (const f of snFixtures) {
  test(`decode: ${f.name} (${f.section})`, () => {
    assert.deepEqual(decodeSn(f.bytes), f.packet);
  });
  test(`encode: ${f.name} (${f.section})`, () => {
    assert.equal(encodeSn(f.packet).toString('hex'), f.bytes.toString('hex'));
  });
}

test('decoded data is a view into the datagram, not a copy', () => {
  const bytes = Buffer.from('0b0c00000100003231 2e35'.replaceAll(' ', ''), 'hex');
  const p = decodeSn(bytes);
  assert.equal(p.type, SnType.PUBLISH);
  if (p.type !== SnType.PUBLISH) return;
  bytes[7] = 0x39;
  assert.equal(p.data.toString(), '91.5');
});

for (const m of snMalformed) {
  test(`refused: ${m.name}`, () => {
    assert.throws(
      () => decodeSn(m.bytes),
      (e: unknown) => e instanceof MqttSnDecodeError && e.reason === m.reason,
    );
  });
}
