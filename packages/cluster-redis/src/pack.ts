/**
 * A small tagged binary encoding for port data (session snapshots, 5.0 properties): plain objects,
 * arrays, strings, numbers, booleans, null, undefined and Buffers round-trip exactly (an object key
 * whose value is undefined is kept, so a decoded snapshot deep-equals the saved one). Payloads and
 * other Buffers are copied as raw bytes: no base64, no JSON.
 */
const T_UNDEFINED = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_NUMBER = 4;
const T_STRING = 5;
const T_BUFFER = 6;
const T_ARRAY = 7;
const T_OBJECT = 8;

/** A value `pack` can encode. */
export type Packable = undefined | null | boolean | number | string | Buffer | readonly Packable[] | { readonly [key: string]: Packable };

export class PackError extends Error {
  override readonly name = 'PackError';
}

/** A growable output buffer. */
export class Writer {
  buf: Buffer;
  pos = 0;

  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  /** u32 length + UTF-8. */
  str(s: string): void {
    const n = Buffer.byteLength(s);
    this.ensure(4 + n);
    this.buf.writeUInt32BE(n, this.pos);
    this.buf.write(s, this.pos + 4, n, 'utf8');
    this.pos += 4 + n;
  }

  bytes(b: Buffer): void {
    this.ensure(4 + b.length);
    this.buf.writeUInt32BE(b.length, this.pos);
    b.copy(this.buf, this.pos + 4);
    this.pos += 4 + b.length;
  }

  /** The bytes written so far (a copy-free view: do not reuse the writer afterwards). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export class Reader {
  pos = 0;

  constructor(readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new PackError('truncated input');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  str(): string {
    const n = this.u32();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** An owned copy (the input may be a pooled socket buffer). */
  bytes(): Buffer {
    const n = this.u32();
    this.need(n);
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }
}

export function writeValue(w: Writer, v: unknown): void {
  if (v === undefined) w.u8(T_UNDEFINED);
  else if (v === null) w.u8(T_NULL);
  else if (v === false) w.u8(T_FALSE);
  else if (v === true) w.u8(T_TRUE);
  else if (typeof v === 'number') {
    w.u8(T_NUMBER);
    w.f64(v);
  } else if (typeof v === 'string') {
    w.u8(T_STRING);
    w.str(v);
  } else if (Buffer.isBuffer(v)) {
    w.u8(T_BUFFER);
    w.bytes(v);
  } else if (Array.isArray(v)) {
    w.u8(T_ARRAY);
    w.u32(v.length);
    for (const item of v) writeValue(w, item);
  } else if (typeof v === 'object') {
    const keys = Object.keys(v);
    w.u8(T_OBJECT);
    w.u32(keys.length);
    for (const k of keys) {
      w.str(k);
      writeValue(w, (v as Record<string, unknown>)[k]);
    }
  } else throw new PackError(`cannot pack a ${typeof v}`);
}

export function readValue(r: Reader): unknown {
  const tag = r.u8();
  switch (tag) {
    case T_UNDEFINED:
      return undefined;
    case T_NULL:
      return null;
    case T_FALSE:
      return false;
    case T_TRUE:
      return true;
    case T_NUMBER:
      return r.f64();
    case T_STRING:
      return r.str();
    case T_BUFFER:
      return r.bytes();
    case T_ARRAY: {
      const n = r.u32();
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(readValue(r));
      return out;
    }
    case T_OBJECT: {
      const n = r.u32();
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const k = r.str();
        out[k] = readValue(r);
      }
      return out;
    }
    default:
      throw new PackError(`unknown tag ${tag}`);
  }
}

/** Encodes any plain value (objects, arrays, Buffers...) to bytes. */
export function pack(value: unknown): Buffer {
  const w = new Writer();
  writeValue(w, value);
  return w.finish();
}

/** The reverse of pack; the caller asserts the shape. */
export function unpack(bytes: Buffer): unknown {
  const r = new Reader(bytes);
  const v = readValue(r);
  if (!r.done) throw new PackError('trailing bytes');
  return v;
}
