/**
 * SUBSCRIBE and UNSUBSCRIBE (MQTT 5.0 3.8-3.11; 3.1.1 3.8-3.11).
 *
 * Each filter is judged on its own: invalid or over the topic limits -> 0x8F (3.1.1: 0x80),
 * refused by the authorizer -> 0x87 (0x80), over the per-client subscription limit -> 0x97
 * (0x80). A shared filter with No Local is a protocol error [MQTT-3.8.3-4]. The SUBACK goes out
 * first (for a persistent session in cluster mode: once the session is saved), then the retained
 * messages per Retain Handling [MQTT-3.3.1-9..11]; shared subscriptions get no retained messages
 * (MQTT 5.0 4.8.2).
 */
import { type Packet, PacketType, type QoS, ReasonCode, type SubscribePacket, type UnsubscribePacket } from '@mqtt-broker/mqtt-codec';
import { countLevels, isValidTopicFilter, parseSharedFilter } from '@mqtt-broker/topics';
import { afterSessionSaved } from '../cluster/durable.js';
import { makeSubEntry, type SubEntry } from '../router/sub-entry.js';
import type { Session } from '../session/session.js';
import type { Channel } from './channel.js';

const SUBACK_FAILURE = 0x80;

export function handleSubscribe(ch: Channel, session: Session, p: SubscribePacket): void {
  const ctx = ch.ctx;
  const limits = ctx.limits;
  const v = ch.protocolVersion;
  if (awaitsAuthorization(ch, session, p)) return;
  const subscriptionId = v === 5 ? p.properties?.subscriptionIdentifiers?.[0] : undefined;
  const codes: number[] = [];
  const retainedFor: SubEntry[] = [];
  for (const sub of p.subscriptions) {
    let rc: number;
    let shared: { group: string; filter: string } | undefined;
    try {
      shared = parseSharedFilter(sub.topicFilter);
      rc = 0;
    } catch {
      shared = undefined;
      rc = ReasonCode.TopicFilterInvalid; // [MQTT-4.8.2-1] [MQTT-4.8.2-2]
    }
    const filter = shared?.filter ?? sub.topicFilter;
    if (rc === 0 && shared !== undefined && sub.noLocal) {
      ch.protocolError(ReasonCode.ProtocolError, 'No Local on a shared subscription [MQTT-3.8.3-4]');
      return;
    }
    if (rc === 0 && !isValidTopicFilter(filter)) rc = ReasonCode.TopicFilterInvalid;
    if (rc === 0 && sub.topicFilter.length > limits.maxTopicLength) {
      ctx.observer.limitHit('max_topic_length');
      rc = ReasonCode.TopicFilterInvalid;
    }
    if (rc === 0 && countLevels(filter) > limits.maxTopicLevels) {
      ctx.observer.limitHit('max_topic_levels');
      rc = ReasonCode.TopicFilterInvalid;
    }
    if (rc === 0) {
      const authorizer = ctx.authorizer;
      if (authorizer?.canSubscribe !== undefined && !authorizer.canSubscribe(session.identity, sub.topicFilter, sub.qos)) rc = ReasonCode.NotAuthorized;
    }
    if (rc === 0 && !session.subscriptions.has(sub.topicFilter) && session.subscriptions.size >= limits.maxSubscriptionsPerClient) {
      ctx.observer.limitHit('max_subscriptions');
      rc = ReasonCode.QuotaExceeded;
    }
    if (rc !== 0) {
      codes.push(v === 5 ? rc : SUBACK_FAILURE);
      continue;
    }
    const group = shared !== undefined ? ctx.router.groupFor(shared.group, shared.filter) : undefined;
    const entry = makeSubEntry(
      session,
      sub.topicFilter,
      filter,
      sub.qos,
      v === 5 && sub.noLocal,
      v === 5 && sub.retainAsPublished,
      v === 5 ? sub.retainHandling : 0,
      subscriptionId,
      group,
    );
    const isNew = ctx.router.subscribe(entry); // [MQTT-3.8.4-3] replaces an existing one
    codes.push(sub.qos); // granted QoS: we support 2 [MQTT-3.9.3-?]
    if (group === undefined && (entry.retainHandling === 0 || (entry.retainHandling === 1 && isNew))) retainedFor.push(entry);
  }
  afterSessionSaved(ch, session, () => acknowledgeSubscribe(ch, session, p.packetId, codes, retainedFor));
}

/** The acknowledgement goes to the connection that asked, while it is still the session's. */
function sendToAsker(ch: Channel, session: Session, packet: Packet): void {
  if (!ch.isClosed() && session.outlet === ch) ch.send(packet);
}

/** SUBACK [MQTT-3.8.4-1], then the retained messages for the filters that get them. */
function acknowledgeSubscribe(ch: Channel, session: Session, packetId: number, codes: number[], retainedFor: SubEntry[]): void {
  sendToAsker(ch, session, { type: PacketType.SUBACK, packetId, reasonCodes: codes });
  if (retainedFor.length === 0 || session.ended) return;
  const ctx = ch.ctx;
  const now = ctx.clock.now();
  const authorizer = ctx.authorizer;
  for (const entry of retainedFor) {
    ctx.retained.match(entry.matchFilter, now, (message) => {
      if (authorizer?.canRead !== undefined && !authorizer.canRead(session.identity, message.topic)) return;
      const qos = Math.min(entry.qos, message.qos) as QoS;
      session.deliver(message, qos, true, entry.subscriptionIds, undefined); // [MQTT-3.3.1-8] retain flag 1
    });
  }
}

/** True when the authorizer is still fetching the answer for some filter: the SUBSCRIBE is held until then. */
function awaitsAuthorization(ch: Channel, session: Session, p: SubscribePacket): boolean {
  const prepare = ch.ctx.authorizer?.prepare;
  if (prepare === undefined) return false;
  const pending: Promise<void>[] = [];
  for (const sub of p.subscriptions) {
    const answer = prepare.call(ch.ctx.authorizer, session.identity, { action: 'subscribe', topic: sub.topicFilter, qos: sub.qos });
    if (answer !== undefined) pending.push(answer);
  }
  if (pending.length === 0) return false;
  ch.holdForAuthorization(p, Promise.allSettled(pending).then(() => undefined));
  return true;
}

export function handleUnsubscribe(ch: Channel, session: Session, p: UnsubscribePacket): void {
  const codes: number[] = [];
  for (const filter of p.topicFilters) {
    const removed = ch.ctx.router.unsubscribe(session, filter);
    codes.push(removed ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted);
  }
  // [MQTT-3.10.4-4] UNSUBACK even when nothing was removed; codes only exist in 5.0
  afterSessionSaved(ch, session, () => sendToAsker(ch, session, { type: PacketType.UNSUBACK, packetId: p.packetId, reasonCodes: ch.protocolVersion === 5 ? codes : [] }));
}
