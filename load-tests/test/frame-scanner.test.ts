import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { FrameError, FrameScanner, publishPacketId, publishPayloadOffset } from '../src/frame-scanner.js';
import {
  encodeConnect,
  encodePublish,
  encodePublishRing,
  encodePuback,
  encodeSubscribe,
  type ProtocolVersion,
} from '../src/packets.js';

interface Seen {
  type: number;
  qos: number;
  id: number;
  payload: string;
}

function scanAll(chunks: Buffer[], version: ProtocolVersion): Seen[] {
  const seen: Seen[] = [];
  const scanner = new FrameScanner((header, buf, start, end) => {
    const type = header >> 4;
    if (type === 3) {
      const at = publishPayloadOffset(header, buf, start, version);
      seen.push({ type, qos: (header >> 1) & 3, id: publishPacketId(header, buf, start), payload: buf.toString('utf8', at, end) });
    } else {
      seen.push({ type, qos: 0, id: 0, payload: '' });
    }
  });
  for (const c of chunks) scanner.push(c);
  assert.equal(scanner.pendingBytes, 0, 'no bytes left over once every frame arrived');
  return seen;
}

/** Splits `buf` at the given offsets. */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...cuts, buf.length]) {
    out.push(buf.subarray(from, c));
    from = c;
  }
  return out;
}

describe('FrameScanner', () => {
  for (const version of [4, 5] as const) {
    const frames = [
      encodePublish('bench/a', Buffer.from('first'), 0, version).frame,
      encodePublish('bench/b', Buffer.from('second'), 1, version, 7).frame,
      encodePuback(9),
      encodePublish('bench/big', Buffer.alloc(300, 'x'), 0, version).frame, // two-byte Remaining Length
      encodePublish('bench/c', Buffer.from(''), 1, version, 65_535).frame,
    ];
    const stream = Buffer.concat(frames);
    const expected: Seen[] = [
      { type: 3, qos: 0, id: 0, payload: 'first' },
      { type: 3, qos: 1, id: 7, payload: 'second' },
      { type: 4, qos: 0, id: 0, payload: '' },
      { type: 3, qos: 0, id: 0, payload: 'x'.repeat(300) },
      { type: 3, qos: 1, id: 65_535, payload: '' },
    ];

    it(`v${version}: finds every frame in one coalesced chunk`, () => {
      assert.deepEqual(scanAll([stream], version), expected);
    });

    it(`v${version}: finds every frame whatever the split points`, () => {
      for (let cut = 1; cut < stream.length; cut++) {
        assert.deepEqual(scanAll(split(stream, [cut]), version), expected, `split at ${cut}`);
      }
      // one byte at a time, including inside the Remaining Length of the 300-byte frame
      assert.deepEqual(scanAll(split(stream, Array.from({ length: stream.length - 1 }, (_, i) => i + 1)), version), expected);
    });

    it(`v${version}: survives the caller reusing its read buffer`, () => {
      const shared = Buffer.alloc(64);
      const seen: string[] = [];
      const scanner = new FrameScanner((header, buf, start, end) => {
        if (header >> 4 === 3) seen.push(buf.toString('utf8', publishPayloadOffset(header, buf, start, version), end));
      });
      for (let at = 0; at < stream.length; at += 37) {
        const n = stream.copy(shared, 0, at, Math.min(stream.length, at + 37));
        scanner.push(shared.subarray(0, n));
        shared.fill(0xff); // the next read overwrites it
      }
      assert.deepEqual(seen, ['first', 'second', 'x'.repeat(300), '']);
    });
  }

  it('rejects a Remaining Length longer than four bytes with reason code 0x81', () => {
    const scanner = new FrameScanner(() => assert.fail('no frame expected'));
    assert.throws(
      () => scanner.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])),
      (err: unknown) => err instanceof FrameError && err.reasonCode === 0x81,
    );
  });
});

describe('packets', () => {
  function parse(buf: Buffer, protocolVersion: ProtocolVersion): mqttPacket.Packet[] {
    const parser = mqttPacket.parser({ protocolVersion });
    const out: mqttPacket.Packet[] = [];
    parser.on('packet', (p) => out.push(p));
    parser.on('error', (err) => assert.fail(err));
    parser.parse(buf);
    return out;
  }

  for (const version of [4, 5] as const) {
    it(`v${version}: CONNECT, SUBSCRIBE and PUBLISH parse with mqtt-packet`, () => {
      const [connect] = parse(encodeConnect({ clientId: 'c1', version, keepaliveSeconds: 30, receiveMaximum: 64 }), version);
      assert.equal(connect.cmd, 'connect');
      if (connect.cmd === 'connect') {
        assert.equal(connect.clientId, 'c1');
        assert.equal(connect.protocolVersion, version);
        assert.equal(connect.keepalive, 30);
        assert.equal(connect.clean, true);
        if (version === 5) assert.equal(connect.properties?.receiveMaximum, 64);
      }
      const [sub] = parse(encodeSubscribe(3, 'bench/#', 1, version), version);
      assert.equal(sub.cmd, 'subscribe');
      if (sub.cmd === 'subscribe') {
        assert.equal(sub.messageId, 3);
        assert.deepEqual(sub.subscriptions.map((s) => [s.topic, s.qos]), [['bench/#', 1]]);
      }
      const ring = encodePublishRing(encodePublish('bench/p1', Buffer.from('hello'), 1, version), 3);
      const pubs = parse(ring, version);
      assert.deepEqual(
        pubs.map((p) => (p.cmd === 'publish' ? [p.topic, p.qos, p.messageId, String(p.payload)] : p.cmd)),
        [1, 2, 3].map((id) => ['bench/p1', 1, id, 'hello']),
      );
    });
  }
});
