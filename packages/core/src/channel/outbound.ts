/**
 * Encoding of outbound PUBLISH packets for one channel.
 *
 * The common case (no Subscription Identifiers, no outbound topic alias, Message Expiry
 * unchanged) reuses the frame cached on the Message for (version, QoS, retain): one encode per
 * fan-out, then `withPacketId` (one memcpy) for QoS > 0. Anything client-specific on 5.0 (sub
 * ids [MQTT-3.3.4-3], decremented Message Expiry [MQTT-3.3.2-6], topic alias) is encoded for
 * that client alone. Frames larger than the client's Maximum Packet Size return undefined.
 */
import { encodePublish, type Properties, type QoS, serialize, withPacketId } from '@mqtt-broker/mqtt-codec';
import { frameSlot, type Message, remainingExpiry } from '../session/message.js';
import type { Channel } from './channel.js';

export function encodeOutbound(
  ch: Channel,
  message: Message,
  qos: QoS,
  retain: boolean,
  subIds: number[] | undefined,
  packetId: number,
  dup: boolean,
): Buffer | undefined {
  const v = ch.protocolVersion;
  let expiry = 0;
  if (v === 5) {
    if (message.expiresAt !== 0) expiry = remainingExpiry(message, ch.ctx.clock.now());
    if (subIds !== undefined || ch.outAliasMax > 0 || expiry !== message.expiryInterval) {
      return encodeCustom(ch, message, qos, retain, subIds, packetId, dup, expiry);
    }
  }
  const slot = frameSlot(v, qos, retain);
  const frames = (message.frames ??= []);
  let encoded = frames[slot];
  if (encoded === undefined) {
    encoded = encodePublish(
      {
        type: 3,
        dup: false,
        qos,
        retain,
        topic: message.topic,
        packetId: qos > 0 ? 1 : undefined,
        payload: message.payload,
        properties: message.properties,
      },
      v,
    );
    frames[slot] = encoded;
  }
  if (encoded.frame.length > ch.clientMaxPacketSize) return undefined;
  return qos === 0 ? encoded.frame : withPacketId(encoded, packetId, dup);
}

function encodeCustom(
  ch: Channel,
  message: Message,
  qos: QoS,
  retain: boolean,
  subIds: number[] | undefined,
  packetId: number,
  dup: boolean,
  expiry: number,
): Buffer | undefined {
  const properties: Properties = { ...message.properties };
  if (expiry !== 0) properties.messageExpiryInterval = expiry;
  if (subIds !== undefined) properties.subscriptionIdentifiers = subIds;
  let topic = message.topic;
  let newAlias = 0;
  const aliases = ch.outAliases;
  if (aliases !== undefined) {
    const alias = aliases.get(topic);
    if (alias !== undefined) {
      properties.topicAlias = alias;
      topic = '';
    } else if (aliases.size < ch.outAliasMax) {
      // first-N policy: aliases are assigned to the first topics sent, never reassigned
      newAlias = aliases.size + 1;
      properties.topicAlias = newAlias;
    }
  }
  const frame = serialize(
    { type: 3, dup, qos, retain, topic, packetId: qos > 0 ? packetId : undefined, payload: message.payload, properties },
    5,
  );
  if (frame.length > ch.clientMaxPacketSize) return undefined;
  if (newAlias !== 0) aliases!.set(message.topic, newAlias);
  return frame;
}
