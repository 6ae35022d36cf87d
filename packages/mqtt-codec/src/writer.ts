/**
 * The output cursor of the serializer. Sizes are computed exactly first, so every write lands in
 * a buffer known to be large enough; strings are written before their length prefix is filled
 * in (utf8Write reports the byte count), which saves a second Buffer.byteLength per string.
 * One module-level instance is reused: serialization is synchronous and never reentrant, and
 * the buffer it points at is released at the end of each call.
 */
import type { FastBuffer } from './fast-buffer.js';

const EMPTY = Buffer.alloc(0) as FastBuffer;

export class Writer {
  buf: FastBuffer = EMPTY;
  pos = 0;

  begin(buf: Buffer, pos: number): void {
    this.buf = buf as FastBuffer;
    this.pos = pos;
  }

  finish(): Buffer {
    const b = this.buf;
    this.buf = EMPTY;
    return b;
  }

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 8;
    b[p + 1] = v & 0xff;
    this.pos = p + 2;
  }

  u32(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = (v >>> 16) & 0xff;
    b[p + 2] = (v >>> 8) & 0xff;
    b[p + 3] = v & 0xff;
    this.pos = p + 4;
  }

  varint(v: number): void {
    const b = this.buf;
    let p = this.pos;
    do {
      let byte = v % 128;
      v = Math.floor(v / 128);
      if (v > 0) byte |= 0x80;
      b[p++] = byte;
    } while (v > 0);
    this.pos = p;
  }

  utf8(s: string): void {
    const p = this.pos;
    const n = s.length === 0 ? 0 : this.buf.utf8Write(s, p + 2, this.buf.length - p - 2);
    this.buf[p] = n >>> 8;
    this.buf[p + 1] = n & 0xff;
    this.pos = p + 2 + n;
  }

  /** A string known to be pure ASCII (byte length = length): the cheaper one-byte write. */
  ascii(s: string): void {
    const p = this.pos;
    const n = s.length;
    this.buf[p] = n >>> 8;
    this.buf[p + 1] = n & 0xff;
    if (n > 0) this.buf.latin1Write(s, p + 2, n);
    this.pos = p + 2 + n;
  }

  binary(data: Buffer): void {
    const n = data.length;
    this.u16(n);
    data.copy(this.buf, this.pos);
    this.pos += n;
  }

  bytes(data: Buffer): void {
    data.copy(this.buf, this.pos);
    this.pos += data.length;
  }
}

export const writer = new Writer();

export function varintSize(v: number): number {
  return v < 128 ? 1 : v < 16_384 ? 2 : v < 2_097_152 ? 3 : 4;
}
