/**
 * The engine's in-memory form of an application message. One Message object is created per
 * inbound PUBLISH and shared by every subscriber it reaches: it caches the encoded PUBLISH per
 * (protocol version, QoS, retain flag) so that a fan-out to N subscribers encodes once and only
 * patches the packet identifier for QoS > 0 (`withPacketId`).
 */
import type { EncodedPublish, Properties, QoS } from '@mqtt-broker/mqtt-codec';
import type { StoredMessage } from '../ports.js';

export interface Message {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** Pass-through 5.0 properties (no Topic Alias, no Subscription Identifiers). */
  properties: Properties | undefined;
  /** Message Expiry Interval as published, seconds; 0 = none. */
  expiryInterval: number;
  /** Epoch ms at which the message expires; 0 = never. */
  expiresAt: number;
  publisherId: string | undefined;
  /** Encoded frames by `frameSlot(version, qos, retain)`, filled lazily. */
  frames: Array<EncodedPublish | undefined> | undefined;
  /** The payload is owned (not a view into a larger socket chunk). */
  owned: boolean;
  /** Cluster mode: the id every copy of this publish carries (cluster/durable.ts `idOf`), once it has one. */
  clusterId: string | undefined;
}

export function createMessage(
  topic: string,
  payload: Buffer,
  qos: QoS,
  retain: boolean,
  properties: Properties | undefined,
  publisherId: string | undefined,
  now: number,
): Message {
  const expiryInterval = properties?.messageExpiryInterval ?? 0;
  return {
    topic,
    payload,
    qos,
    retain,
    properties,
    expiryInterval,
    expiresAt: expiryInterval > 0 ? now + expiryInterval * 1000 : 0,
    publisherId,
    frames: undefined,
    owned: false,
    clusterId: undefined,
  };
}

/** Copies the payload when it is a small view into a big buffer (so a queued message does not pin a socket chunk). */
export function ensureOwned(message: Message): void {
  if (message.owned) return;
  const p = message.payload;
  if (p.byteLength * 2 < p.buffer.byteLength) message.payload = Buffer.from(p);
  message.owned = true;
}

export function isExpired(message: Message, now: number): boolean {
  return message.expiresAt !== 0 && message.expiresAt <= now;
}

/** Seconds left, rounded up, for the Message Expiry Interval sent onward [MQTT-3.3.2-6]. */
export function remainingExpiry(message: Message, now: number): number {
  return Math.max(1, Math.ceil((message.expiresAt - now) / 1000));
}

export function frameSlot(version: number, qos: QoS, retain: boolean): number {
  return (version - 3) * 6 + qos * 2 + (retain ? 1 : 0);
}

export function toStored(message: Message): StoredMessage {
  ensureOwned(message);
  const stored: StoredMessage = {
    topic: message.topic,
    payload: message.payload,
    qos: message.qos,
    retain: message.retain,
    expiresAt: message.expiresAt,
  };
  if (message.properties !== undefined) stored.properties = message.properties;
  if (message.publisherId !== undefined) stored.publisherId = message.publisherId;
  return stored;
}

export function fromStored(stored: StoredMessage, now: number): Message {
  const m = createMessage(stored.topic, stored.payload, stored.qos, stored.retain, stored.properties, stored.publisherId, now);
  m.expiresAt = stored.expiresAt;
  m.owned = true;
  return m;
}
