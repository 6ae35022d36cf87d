/**
 * Inbound PUBLISH and PUBREL (MQTT 5.0 3.3, 4.3; 3.1.1 3.3, 4.3).
 *
 * Order of checks for a PUBLISH: topic alias resolution (0x94 / 0x82 -> DISCONNECT), Receive
 * Maximum (0x93 -> DISCONNECT), QoS 2 duplicate (answer PUBREC again, do not route twice),
 * then the inbound quotas (over-quota.ts: 5.0 DISCONNECT, 3.1.1 dropped within its grace), then
 * the per-message refusals that are answered in the PUBACK/PUBREC on 5.0 and silently
 * dropped (but acknowledged) on 3.1.1: topic limits (0x90), $SYS (0x87: clients may not publish
 * to $SYS), payload format (0x99), authorization (0x87). Accepted messages are stored as
 * retained when flagged and routed synchronously; 5.0 acks say 0x10 when nobody matched.
 */
import { isUtf8 } from 'node:buffer';
import { type PublishPacket, ReasonCode } from '@mqtt-broker/mqtt-codec';
import { countLevels } from '@mqtt-broker/topics';
import type { DropReason } from '../api.js';
import { sendPublishAck } from '../cluster/durable-ack.js';
import { beginFeed, endFeed } from '../session/flow-control.js';
import { createMessage } from '../session/message.js';
import type { Session } from '../session/session.js';
import type { Channel } from './channel.js';
import { ackFrame } from './frames.js';
import { admitPublish } from './over-quota.js';

export function handlePublish(ch: Channel, session: Session, p: PublishPacket): void {
  const ctx = ch.ctx;
  const limits = ctx.limits;
  const v = ch.protocolVersion;
  let topic = p.topic;
  let properties = p.properties;
  if (v === 5 && properties !== undefined && properties.topicAlias !== undefined) {
    const alias = properties.topicAlias;
    // [MQTT-3.3.2-9] [MQTT-3.3.2-10] alias 0 or above our Topic Alias Maximum
    if (alias === 0 || alias > limits.topicAliasMaximum) {
      ch.protocolError(ReasonCode.TopicAliasInvalid, `topic alias ${alias} out of range`);
      return;
    }
    const aliases = (ch.inAliases ??= new Map());
    if (topic.length === 0) {
      const known = aliases.get(alias);
      if (known === undefined) {
        ch.protocolError(ReasonCode.ProtocolError, `unknown topic alias ${alias}`);
        return;
      }
      topic = known;
    } else {
      aliases.set(alias, topic);
    }
    const { topicAlias: _alias, ...rest } = properties;
    properties = Object.keys(rest).length > 0 ? rest : undefined;
  }
  if (topic.length === 0) {
    ch.protocolError(ReasonCode.ProtocolError, 'empty topic without topic alias [MQTT-4.7.3-1]');
    return;
  }
  const qos = p.qos;
  const packetId = p.packetId ?? 0;
  if (qos === 2) {
    if (session.inboundQos2.has(packetId)) {
      // [MQTT-4.3.3-9] a resent QoS 2 PUBLISH is acknowledged again but not delivered twice
      ch.write(ackFrame(5, packetId, 0, v));
      return;
    }
    if (session.inboundQos2.size >= limits.receiveMaximum) {
      ch.protocolError(ReasonCode.ReceiveMaximumExceeded, 'more QoS 2 PUBLISH in flight than Receive Maximum [MQTT-3.3.4-9]');
      return;
    }
  }
  // before anything is counted: the packet is handled again from the start once the answer is known
  const pending = ctx.authorizer?.prepare?.(session.identity, { action: 'publish', topic, qos, retain: p.retain });
  if (pending !== undefined) {
    ch.holdForAuthorization(p, pending);
    return;
  }
  ch.rate?.count();
  ctx.counters.publishReceived++;

  let reasonCode = 0;
  let dropReason: DropReason = 'not_authorized';
  const quota = ch.quota;
  if (quota !== undefined && !admitPublish(ch, quota, topic.length + p.payload.length)) {
    if (ch.isClosed()) return; // 5.0, or 3.1.1 past its grace
    reasonCode = ReasonCode.QuotaExceeded; // 3.1.1 within its grace: dropped, acknowledged below
    dropReason = 'rate_limited';
  } else if (topic.length > limits.maxTopicLength) {
    ctx.observer.limitHit('max_topic_length');
    reasonCode = ReasonCode.TopicNameInvalid;
  } else if (topic.length >= limits.maxTopicLevels && countLevels(topic) > limits.maxTopicLevels) {
    ctx.observer.limitHit('max_topic_levels');
    reasonCode = ReasonCode.TopicNameInvalid;
  } else if (topic.charCodeAt(0) === 0x24 /* $ */ && topic.startsWith('$SYS')) {
    reasonCode = ReasonCode.NotAuthorized;
  } else if (properties?.payloadFormatIndicator === 1 && !isUtf8(p.payload)) {
    reasonCode = ReasonCode.PayloadFormatInvalid; // [MQTT-3.3.2-4]
    dropReason = 'payload_format_invalid';
  } else {
    const authorizer = ctx.authorizer;
    if (authorizer?.canPublish !== undefined && !authorizer.canPublish(session.identity, topic, { qos, retain: p.retain })) reasonCode = ReasonCode.NotAuthorized;
  }

  if (reasonCode === 0) {
    const now = properties?.messageExpiryInterval !== undefined ? ctx.clock.now() : 0; // no clock read on the common path
    const message = createMessage(topic, p.payload, qos, p.retain, properties, session.clientId, now);
    ctx.observer.messagePublished(qos);
    beginFeed(ch);
    let matched: number;
    try {
      matched = ctx.publishInternal(message);
    } finally {
      endFeed();
    }
    if (matched === 0) {
      ctx.observer.messageDropped(qos, 'no_subscribers');
      if (v === 5) reasonCode = ReasonCode.NoMatchingSubscribers; // [MQTT-3.4.2-?] 0x10 is a success code
    }
  } else {
    ctx.observer.messageDropped(qos, dropReason);
    if (v < 5) reasonCode = 0; // 3.1.1 has no way to refuse: acknowledge and drop
  }
  if (qos === 0) return;
  if (qos === 1) {
    sendPublishAck(ch, session, 4, packetId, reasonCode); // [MQTT-4.3.2-4] (once stored on other nodes)
    return;
  }
  if (reasonCode < 0x80) session.addInboundQos2(packetId);
  sendPublishAck(ch, session, 5, packetId, reasonCode); // [MQTT-4.3.3-8] (once stored on other nodes)
}

/** PUBREL: release the packet id and answer PUBCOMP [MQTT-4.3.3-11]; 0x92 when unknown (5.0). */
export function handlePubrel(ch: Channel, session: Session, packetId: number): void {
  const known = session.deleteInboundQos2(packetId);
  ch.write(ackFrame(7, packetId, known ? 0 : ReasonCode.PacketIdentifierNotFound, ch.protocolVersion));
}

