/** Byte builders for hand-written packets in tests. */
export function str(s: string): string {
  const b = Buffer.from(s, 'utf8');
  return u16(b.length) + b.toString('hex');
}

export function rawStr(hexBytes: string): string {
  return u16(hexBytes.length / 2) + hexBytes;
}

export function u16(n: number): string {
  return n.toString(16).padStart(4, '0');
}

export function varint(n: number): string {
  let out = '';
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out += b.toString(16).padStart(2, '0');
  } while (n > 0);
  return out;
}

/** A whole packet: first byte + Remaining Length + body (hex). */
export function pkt(first: number, body: string): Buffer {
  return Buffer.from(first.toString(16).padStart(2, '0') + varint(body.length / 2) + body, 'hex');
}

/** A property block: varint length + properties (hex). */
export function props(body: string): string {
  return varint(body.length / 2) + body;
}

/** CONNECT body: name, level, flags, keep alive 60, [props], then the payload hex. */
export function connectBody(name: string, level: number, flags: number, propsHex: string, payload: string): string {
  return str(name) + level.toString(16).padStart(2, '0') + flags.toString(16).padStart(2, '0') + '003c' + propsHex + payload;
}
