// A minimal MQTT frame scanner for the receive side of the load generator. It only finds frame
// boundaries (fixed header + Remaining Length) and hands each complete frame to a callback as a
// view into the received chunk, so counting PUBLISH frames costs a few byte reads per frame and
// no allocation. Frames split across chunks are carried over: the unfinished tail is kept and
// joined to the next chunk (one copy per chunk at most). Nothing is decoded beyond what the
// generator needs (see `publishPayloadOffset` and `publishPacketId`).

import type { ProtocolVersion } from './packets.js';

/** A broken frame: the Remaining Length runs past four bytes. reasonCode 0x81 = Malformed Packet. */
export class FrameError extends Error {
  readonly reasonCode = 0x81;
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/** `header` is the first byte; the body (variable header + payload) is buf[start, end). */
export type FrameHandler = (header: number, buf: Buffer, start: number, end: number) => void;

export class FrameScanner {
  private pending: Buffer | null = null;
  private readonly onFrame: FrameHandler;

  constructor(onFrame: FrameHandler) {
    this.onFrame = onFrame;
  }

  /** Bytes held back waiting for the rest of a frame. */
  get pendingBytes(): number {
    return this.pending === null ? 0 : this.pending.length;
  }

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const len = buf.length;
    let pos = 0;
    while (pos < len) {
      if (len - pos < 2) break;
      // Remaining Length: 1..4 bytes, 7 bits each, continuation in bit 7 [MQTT-1.5.5]
      let remaining = 0;
      let mul = 1;
      let at = pos + 1;
      let complete = false;
      for (let i = 0; i < 4; i++) {
        if (at >= len) break;
        const b = buf[at++];
        remaining += (b & 0x7f) * mul;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
        mul *= 128;
        if (i === 3) throw new FrameError('Remaining Length longer than 4 bytes');
      }
      if (!complete || at + remaining > len) break;
      this.onFrame(buf[pos], buf, at, at + remaining);
      pos = at + remaining;
    }
    if (pos < len) this.pending = buf === chunk ? Buffer.from(buf.subarray(pos)) : buf.subarray(pos);
  }
}

/** Offset of the payload of a PUBLISH frame whose body is buf[start, end). */
export function publishPayloadOffset(header: number, buf: Buffer, start: number, version: ProtocolVersion): number {
  let at = start + 2 + ((buf[start] << 8) | buf[start + 1]); // topic name
  if ((header & 0x06) !== 0) at += 2; // packet id for QoS 1/2
  if (version === 5) {
    let propsLen = 0;
    let mul = 1;
    let b: number;
    do {
      b = buf[at++];
      propsLen += (b & 0x7f) * mul;
      mul *= 128;
    } while ((b & 0x80) !== 0 && mul <= 128 ** 3);
    at += propsLen;
  }
  return at;
}

/** Packet id of a QoS 1/2 PUBLISH (0 for QoS 0). */
export function publishPacketId(header: number, buf: Buffer, start: number): number {
  if ((header & 0x06) === 0) return 0;
  const at = start + 2 + ((buf[start] << 8) | buf[start + 1]);
  return (buf[at] << 8) | buf[at + 1];
}
