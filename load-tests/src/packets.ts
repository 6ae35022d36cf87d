// Hand-encoded MQTT packets: the few a load generator sends. Encoding them here (rather than
// through a general serializer) lets the hot path write pre-built bytes: a PUBLISH frame is
// built once per publisher and then written many times, or patched in place (packet id,
// timestamp) at fixed offsets that the builders return.

export type ProtocolVersion = 4 | 5;

export const PacketType = {
  Connect: 1,
  Connack: 2,
  Publish: 3,
  Puback: 4,
  Pubrec: 5,
  Pubrel: 6,
  Pubcomp: 7,
  Subscribe: 8,
  Suback: 9,
  Pingreq: 12,
  Pingresp: 13,
  Disconnect: 14,
} as const;

/** Bytes needed by the Remaining Length variable byte integer. */
export function varintSize(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/** Writes a variable byte integer at `offset`; returns the offset after it. */
export function writeVarint(buf: Buffer, offset: number, n: number): number {
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    buf[offset++] = byte;
  } while (n > 0);
  return offset;
}

function frame(header: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + varintSize(body.length) + body.length);
  out[0] = header;
  const at = writeVarint(out, 1, body.length);
  body.copy(out, at);
  return out;
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(2 + b.length);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

export interface ConnectOptions {
  clientId: string;
  version: ProtocolVersion;
  keepaliveSeconds: number;
  /** 5.0 only: the Receive Maximum this client advertises (its inbound QoS 1/2 window). */
  receiveMaximum?: number;
}

export function encodeConnect(o: ConnectOptions): Buffer {
  const parts: Buffer[] = [str('MQTT'), Buffer.from([o.version, 0x02])]; // clean session / start
  const ka = Buffer.allocUnsafe(2);
  ka.writeUInt16BE(o.keepaliveSeconds, 0);
  parts.push(ka);
  if (o.version === 5) {
    if (o.receiveMaximum !== undefined) {
      const p = Buffer.from([3, 0x21, 0, 0]);
      p.writeUInt16BE(o.receiveMaximum, 2);
      parts.push(p);
    } else {
      parts.push(Buffer.from([0]));
    }
  }
  parts.push(str(o.clientId));
  return frame(0x10, Buffer.concat(parts));
}

export function encodeSubscribe(packetId: number, filter: string, qos: 0 | 1 | 2, version: ProtocolVersion): Buffer {
  const id = Buffer.allocUnsafe(2);
  id.writeUInt16BE(packetId, 0);
  const parts: Buffer[] = [id];
  if (version === 5) parts.push(Buffer.from([0]));
  parts.push(str(filter), Buffer.from([qos]));
  return frame(0x82, Buffer.concat(parts)); // [MQTT-3.8.1-1] reserved flags 0010
}

export interface PublishTemplate {
  /** One complete PUBLISH frame. */
  frame: Buffer;
  /** Offset of the packet identifier (QoS > 0), or -1. */
  packetIdOffset: number;
  /** Offset of the first payload byte. */
  payloadOffset: number;
}

export function encodePublish(
  topic: string,
  payload: Buffer,
  qos: 0 | 1,
  version: ProtocolVersion,
  packetId = 1,
): PublishTemplate {
  const t = str(topic);
  const idLen = qos > 0 ? 2 : 0;
  const propsLen = version === 5 ? 1 : 0;
  const remaining = t.length + idLen + propsLen + payload.length;
  const out = Buffer.allocUnsafe(1 + varintSize(remaining) + remaining);
  out[0] = 0x30 | (qos << 1);
  let at = writeVarint(out, 1, remaining);
  at += t.copy(out, at);
  let packetIdOffset = -1;
  if (qos > 0) {
    packetIdOffset = at;
    out.writeUInt16BE(packetId, at);
    at += 2;
  }
  if (version === 5) out[at++] = 0;
  payload.copy(out, at);
  return { frame: out, packetIdOffset, payloadOffset: at };
}

/**
 * `count` copies of a PUBLISH frame back to back, for writing many messages in one call.
 * For QoS 1 the copies carry packet ids 1..count, so a sub-range of the ring is a ready batch.
 */
export function encodePublishRing(template: PublishTemplate, count: number): Buffer {
  const len = template.frame.length;
  const ring = Buffer.allocUnsafe(len * count);
  for (let i = 0; i < count; i++) {
    template.frame.copy(ring, i * len);
    if (template.packetIdOffset >= 0) ring.writeUInt16BE(i + 1, i * len + template.packetIdOffset);
  }
  return ring;
}

function ack(header: number, packetId: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out[0] = header;
  out[1] = 2; // 5.0: reason code 0 and no properties may be omitted [MQTT-3.4.2.1]
  out.writeUInt16BE(packetId, 2);
  return out;
}

/** Writes a PUBACK for `packetId` into `buf` at `offset` (4 bytes). */
export function writePuback(buf: Buffer, offset: number, packetId: number): void {
  buf[offset] = 0x40;
  buf[offset + 1] = 2;
  buf[offset + 2] = packetId >> 8;
  buf[offset + 3] = packetId & 0xff;
}

export const encodePuback = (packetId: number): Buffer => ack(0x40, packetId);
export const encodePubrec = (packetId: number): Buffer => ack(0x50, packetId);
export const encodePubrel = (packetId: number): Buffer => ack(0x62, packetId); // [MQTT-3.6.1-1]
export const encodePubcomp = (packetId: number): Buffer => ack(0x70, packetId);
export const PINGREQ: Buffer = Buffer.from([0xc0, 0x00]);
export const DISCONNECT: Buffer = Buffer.from([0xe0, 0x00]);
