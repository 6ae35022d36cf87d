/**
 * PUBLISH serialization, and the encode-once / patch-per-subscriber path.
 *
 * A broker delivering one message to many subscribers encodes it once (`encodePublish`) and
 * makes each subscriber's copy with `withPacketId`: one allocation and one memcpy, then the
 * two packet identifier bytes (and the DUP bit) are patched. The shared frame is never patched
 * in place because a socket may still be writing an earlier copy.
 */
import { malformed, protocolError } from './errors.js';
import { allocFrame } from './frame-alloc.js';
import type { ProtocolVersion, PublishPacket } from './packets.js';
import { propertiesSize, writeProperties } from './properties-encode.js';
import { checkPacketId, checkQoS, checkRemaining, topicSize } from './measure.js';
import { type Writer, varintSize, writer } from './writer.js';

let publishProps = 0;
/** Encoded size of the topic measured last: 2 + length means pure ASCII (latin1 write is exact). */
let topicSizeMeasured = 0;

export function measurePublish(p: PublishPacket, v: ProtocolVersion): number {
  const qos = p.qos;
  checkQoS(qos, 'PUBLISH');
  // [MQTT-3.3.1-2] DUP is 0 on QoS 0
  if (qos === 0 && p.dup) throw malformed('DUP on QoS 0 PUBLISH', 'MQTT-3.3.1-2');
  const props = p.properties;
  // spec 3.3.2.3.4: in 5.0 an empty topic is allowed with a Topic Alias
  let size = topicSize(p.topic, v === 5 && props !== undefined && props.topicAlias !== undefined, 'PUBLISH topic');
  topicSizeMeasured = size;
  if (qos > 0) {
    checkPacketId(p.packetId);
    size += 2;
  }
  if (v === 5) {
    publishProps = propertiesSize(props, 3);
    size += varintSize(publishProps) + publishProps;
  }
  const payload = p.payload;
  if (!(payload instanceof Uint8Array)) throw malformed('PUBLISH payload is not a Buffer');
  return size + payload.length;
}

/** Writes the body; returns the offset of the packet identifier, or -1 for QoS 0. */
export function writePublish(w: Writer, p: PublishPacket, v: ProtocolVersion): number {
  if (topicSizeMeasured === p.topic.length + 2) w.ascii(p.topic);
  else w.utf8(p.topic);
  let idOffset = -1;
  if (p.qos > 0) {
    idOffset = w.pos;
    w.u16(p.packetId!);
  }
  if (v === 5) writeProperties(w, p.properties, publishProps);
  w.bytes(p.payload);
  return idOffset;
}

export function publishFirstByte(p: PublishPacket): number {
  return 0x30 | (p.dup ? 8 : 0) | (p.qos << 1) | (p.retain ? 1 : 0);
}

/** A PUBLISH serialized once for many subscribers; packetIdOffset is -1 for QoS 0. */
export interface EncodedPublish {
  frame: Buffer;
  packetIdOffset: number;
}

/**
 * Serializes a PUBLISH for reuse. For QoS > 0 a packetId is optional here (a placeholder 0 is
 * written): every copy gets its real one from `withPacketId`.
 */
export function encodePublish(packet: PublishPacket, protocolVersion: ProtocolVersion): EncodedPublish {
  const p = packet.qos > 0 && packet.packetId === undefined ? { ...packet, packetId: 0xffff } : packet;
  const remaining = measurePublish(p, protocolVersion);
  checkRemaining(remaining);
  // its own allocation, not the slab: an encoded PUBLISH is typically cached on a message
  const frame = Buffer.allocUnsafe(1 + varintSize(remaining) + remaining);
  const w = writer;
  w.begin(frame, 0);
  w.u8(publishFirstByte(p));
  w.varint(remaining);
  const packetIdOffset = writePublish(w, p, protocolVersion);
  w.finish();
  if (p !== packet) frame[packetIdOffset] = frame[packetIdOffset + 1] = 0;
  return { frame, packetIdOffset };
}

/**
 * A copy of the frame with the packet identifier (and optionally DUP) patched in: one memcpy,
 * no re-encode. For QoS 0 there is nothing to patch and the shared frame itself is returned.
 */
export function withPacketId(encoded: EncodedPublish, packetId: number, dup?: boolean): Buffer {
  const frame = encoded.frame;
  const off = encoded.packetIdOffset;
  if (off < 0) {
    if (dup) throw malformed('DUP on QoS 0 PUBLISH', 'MQTT-3.3.1-2');
    return frame;
  }
  // [MQTT-2.2.1-3] a non-zero Packet Identifier
  if (!(packetId >= 1 && packetId <= 0xffff) || !Number.isInteger(packetId)) {
    throw protocolError(`invalid packet identifier ${packetId}`, 'MQTT-2.2.1-3');
  }
  const out = allocFrame(frame.length);
  frame.copy(out, 0);
  out[off] = packetId >>> 8;
  out[off + 1] = packetId & 0xff;
  if (dup !== undefined) out[0] = dup ? out[0] | 0x08 : out[0] & 0xf7;
  return out;
}
