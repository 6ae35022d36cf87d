/**
 * Binary form of a StoredMessage (the node bus, the retained hash, change streams):
 *   flags u8 (bits 0-1 QoS, 2 retain, 3 has properties, 4 has publisher id)
 *   topic (u32 length + UTF-8), expiresAt f64, [publisher id], [properties, `pack` encoded],
 *   payload (u32 length + bytes).
 * A bus frame (node-bus.ts) is a batch: u8 kind, u32 count, sender node id, then `count` messages.
 */
import type { StoredMessage } from '@mqtt-broker/core';
import type { QoS } from '@mqtt-broker/mqtt-codec';
import { Reader, readValue, Writer, writeValue } from './pack.js';

export function writeMessage(w: Writer, m: StoredMessage): void {
  const hasProps = m.properties !== undefined;
  const hasPublisher = m.publisherId !== undefined;
  w.u8(m.qos | (m.retain ? 4 : 0) | (hasProps ? 8 : 0) | (hasPublisher ? 16 : 0));
  w.str(m.topic);
  w.f64(m.expiresAt);
  if (hasPublisher) w.str(m.publisherId as string);
  if (hasProps) writeValue(w, m.properties);
  w.bytes(m.payload);
}

export function readMessage(r: Reader): StoredMessage {
  const flags = r.u8();
  const topic = r.str();
  const expiresAt = r.f64();
  const publisherId = (flags & 16) !== 0 ? r.str() : undefined;
  const properties = (flags & 8) !== 0 ? (readValue(r) as StoredMessage['properties']) : undefined;
  const payload = r.bytes();
  const m: StoredMessage = { topic, payload, qos: (flags & 3) as QoS, retain: (flags & 4) !== 0, expiresAt };
  if (properties !== undefined) m.properties = properties;
  if (publisherId !== undefined) m.publisherId = publisherId;
  return m;
}

export function encodeMessage(m: StoredMessage): Buffer {
  const w = new Writer(64 + m.topic.length + m.payload.length);
  writeMessage(w, m);
  return w.finish();
}

export function decodeMessage(bytes: Buffer): StoredMessage {
  return readMessage(new Reader(bytes));
}
