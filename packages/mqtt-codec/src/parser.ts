/**
 * The streaming parser: framing over a byte stream that may be split anywhere or carry many
 * packets per chunk.
 *
 * Fast path: while a chunk holds whole packets, each is decoded straight from the chunk, and
 * payloads/binary fields are `subarray` views into it (no copy). Only a packet that spans
 * chunks is copied, into one buffer of exactly its size allocated once its fixed header is
 * complete (at most 5 header bytes are held before that). The first byte is checked as soon
 * as it arrives and the size against `maxPacketSize` as soon as the Remaining Length is
 * complete, so an oversized or invalid packet is refused before its body is buffered.
 *
 * Failure is final: after any error (a MqttProtocolError, or whatever `onPacket` threw) the
 * parser drops its buffer and every later `push` rethrows the same error. `push` is not
 * reentrant: do not call it from inside `onPacket`.
 */
import { checkFirstByte, decodeBody, firstByteOk } from './decode.js';
import { MqttProtocolError, malformed, protocolError } from './errors.js';
import type { Packet, ProtocolVersion } from './packets.js';
import { Reader } from './reader.js';
import { ReasonCode } from './reason-codes.js';

/** 268,435,455 (largest Remaining Length) + 5 (largest fixed header). */
export const MAX_PACKET_SIZE = 268_435_455 + 5;

export interface ParserOptions {
  /** Known on a client (the level it connected with); leave unset on a server. */
  protocolVersion?: ProtocolVersion;
  /** Largest acceptable packet, fixed header included; default MAX_PACKET_SIZE. */
  maxPacketSize?: number;
}

export class PacketParser {
  /** Unset on a server until CONNECT is parsed; the parser then adopts the CONNECT's level. */
  protocolVersion: ProtocolVersion | undefined;
  /** Packets whose total size (fixed header + remaining length) exceeds this throw 0x95 before buffering the body. */
  maxPacketSize: number;

  private readonly reader = new Reader();
  private stash: Buffer | null = null;
  private stashLen = 0;
  /** Total size of the stashed packet; 0 while its fixed header is still incomplete. */
  private stashTotal = 0;
  private stashHeader = 0;
  /** Fixed header length of the packet `frame` last measured. */
  private headerLen = 0;
  private connectSeen = false;
  private failed = false;
  private failure: unknown = undefined;

  constructor(options: ParserOptions = {}) {
    this.protocolVersion = options.protocolVersion;
    this.maxPacketSize = options.maxPacketSize ?? MAX_PACKET_SIZE;
  }

  /** Bytes buffered waiting for the rest of a packet. */
  get pendingBytes(): number {
    return this.stash === null ? 0 : this.stashLen;
  }

  /** Feeds bytes; calls onPacket per complete packet, in order. Throws MqttProtocolError. */
  push(chunk: Buffer, onPacket: (packet: Packet) => void): void {
    if (this.failed) throw this.failure;
    try {
      this.feed(chunk, onPacket);
    } catch (err) {
      this.failed = true;
      this.failure = err;
      this.stash = null;
      throw err;
    } finally {
      this.reader.release();
    }
  }

  private feed(chunk: Buffer, onPacket: (packet: Packet) => void): void {
    const len = chunk.length;
    let off = 0;
    if (this.stash !== null) {
      off = this.fillStash(chunk);
      if (off < 0) return;
      const buf = this.stash;
      this.stash = null;
      onPacket(this.decode(buf, 0, this.stashHeader, buf.length));
    }
    while (off < len) {
      const total = this.frame(chunk, off, len);
      if (total < 0) {
        const s = Buffer.allocUnsafe(5);
        chunk.copy(s, 0, off, len);
        this.startStash(s, len - off, 0);
        return;
      }
      if (total > len - off) {
        const s = Buffer.allocUnsafe(total);
        chunk.copy(s, 0, off, len);
        this.startStash(s, len - off, total);
        return;
      }
      const packet = this.decode(chunk, off, this.headerLen, off + total);
      off += total;
      onPacket(packet);
    }
  }

  private startStash(s: Buffer, filled: number, total: number): void {
    this.stash = s;
    this.stashLen = filled;
    this.stashTotal = total;
    this.stashHeader = this.headerLen;
  }

  /** Moves bytes from `chunk` into the stash; returns the offset after the completed packet, or -1. */
  private fillStash(chunk: Buffer): number {
    let off = 0;
    let s = this.stash!;
    if (this.stashTotal === 0) {
      while (off < chunk.length && this.stashTotal === 0) {
        s[this.stashLen++] = chunk[off++];
        const total = this.frame(s, 0, this.stashLen);
        if (total >= 0) {
          const full = Buffer.allocUnsafe(total);
          s.copy(full, 0, 0, this.stashLen);
          this.startStash(full, this.stashLen, total);
          s = full;
        }
      }
      if (this.stashTotal === 0) return -1;
    }
    const n = Math.min(this.stashTotal - this.stashLen, chunk.length - off);
    chunk.copy(s, this.stashLen, off, off + n);
    this.stashLen += n;
    return this.stashLen === this.stashTotal ? off + n : -1;
  }

  /**
   * Checks the fixed header at `start`; returns the packet's total size, or -1 when the header
   * is not complete within `end`. Sets `headerLen`.
   */
  private frame(buf: Buffer, start: number, end: number): number {
    const first = buf[start];
    const version = this.protocolVersion;
    if (firstByteOk[version ?? 0][first] === 0) checkFirstByte(first, version);
    // [MQTT-3.1.0-2] a second CONNECT is a Protocol Error
    if (first >> 4 === 1 && this.connectSeen) throw protocolError('second CONNECT', 'MQTT-3.1.0-2');
    let i = start + 1;
    let remaining = 0;
    let mult = 1;
    for (;;) {
      if (i >= end) return -1;
      const b = buf[i++];
      remaining += (b & 0x7f) * mult;
      if ((b & 0x80) === 0) {
        // [MQTT-1.5.5-1] minimal encoding
        if (b === 0 && i - start > 2) throw malformed('remaining length not minimally encoded', 'MQTT-1.5.5-1');
        break;
      }
      // spec 2.1.4: the Remaining Length is at most 4 bytes
      if (i - start - 1 === 4) throw malformed('remaining length longer than 4 bytes');
      mult *= 128;
    }
    const headerLen = i - start;
    const total = headerLen + remaining;
    if (total > this.maxPacketSize) {
      // spec 3.1.2.11.4 / 3.2.2.3.6: a packet over the Maximum Packet Size -> 0x95
      throw new MqttProtocolError(
        ReasonCode.PacketTooLarge,
        `packet of ${total} bytes exceeds the maximum packet size ${this.maxPacketSize}`,
      );
    }
    this.headerLen = headerLen;
    return total;
  }

  private decode(buf: Buffer, start: number, headerLen: number, end: number): Packet {
    const r = this.reader;
    r.reset(buf, start + headerLen, end);
    const first = buf[start];
    const packet = decodeBody(r, first, this);
    // the body must end exactly at the Remaining Length
    if (r.pos !== end) throw malformed('packet longer than its fields (remaining length too large)');
    if (first >> 4 === 1) this.connectSeen = true;
    return packet;
  }
}
