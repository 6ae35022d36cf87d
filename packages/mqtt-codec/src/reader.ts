/**
 * A cursor over one packet's bytes. Every read is bounds checked against `end` (the end of the
 * packet or of an enclosing property block), so a packet shorter than its fields throws
 * 0x81 instead of reading into the next packet. One Reader lives in each parser and is reused:
 * nothing it holds escapes except the strings and Buffer views it returns.
 */
import { malformed } from './errors.js';
import { decodeUtf8 } from './utf8.js';

const EMPTY = Buffer.alloc(0);

export class Reader {
  buf: Buffer = EMPTY;
  pos = 0;
  end = 0;

  reset(buf: Buffer, pos: number, end: number): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  release(): void {
    this.buf = EMPTY;
  }

  get left(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) throw tooShort();
    return this.buf[this.pos++];
  }

  u16(): number {
    const p = this.pos;
    if (p + 2 > this.end) throw tooShort();
    this.pos = p + 2;
    return (this.buf[p] << 8) | this.buf[p + 1];
  }

  u32(): number {
    const p = this.pos;
    if (p + 4 > this.end) throw tooShort();
    this.pos = p + 4;
    const b = this.buf;
    return b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
  }

  /** Variable Byte Integer: at most 4 bytes [MQTT-1.5.5], minimal encoding [MQTT-1.5.5-1]. */
  varint(): number {
    let value = 0;
    let mult = 1;
    for (let i = 0; i < 4; i++) {
      const b = this.u8();
      value += (b & 0x7f) * mult;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) throw malformed('variable byte integer not minimally encoded', 'MQTT-1.5.5-1');
        return value;
      }
      mult *= 128;
    }
    throw malformed('variable byte integer longer than 4 bytes');
  }

  utf8(): string {
    const len = this.u16();
    const p = this.pos;
    if (p + len > this.end) throw tooShort();
    this.pos = p + len;
    return len === 0 ? '' : decodeUtf8(this.buf, p, p + len);
  }

  /** Binary Data: a view into the input, no copy. */
  binary(): Buffer {
    const len = this.u16();
    const p = this.pos;
    if (p + len > this.end) throw tooShort();
    this.pos = p + len;
    return this.buf.subarray(p, p + len);
  }

  /** The rest of the packet as a view (PUBLISH payload). */
  rest(): Buffer {
    const p = this.pos;
    this.pos = this.end;
    return this.buf.subarray(p, this.end);
  }
}

function tooShort() {
  return malformed('packet shorter than its fields (remaining length too small)');
}
