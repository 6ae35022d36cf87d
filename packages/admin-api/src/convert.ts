/** Facade results (core's Admin* types) to admin.proto messages, and requests back. */
import type { AdminClientInfo, AdminNodeStatus, AdminPublishRequest, AdminRetainedMessage, AdminSubscriptionInfo } from '@mqtt-broker/core';
import { AdminError } from '@mqtt-broker/core';
import type { Client, NodeStatus, PublishRequest, RetainedMessage, Subscription } from './wire.js';

export function toNodeStatus(n: AdminNodeStatus): NodeStatus {
  return {
    id: n.nodeId,
    version: n.version,
    uptimeSeconds: n.uptimeSeconds,
    startedAtMs: n.startedAt,
    connections: n.connections,
    sessions: n.sessions,
    subscriptions: n.subscriptions,
    sharedSubscriptions: n.sharedSubscriptions,
    retained: n.retained,
    inflight: n.inflight,
    queued: n.queued,
    unreachable: n.unreachable === true,
    runtime: n.runtime ?? '',
    websocketEngine: n.websocketEngine ?? '',
  };
}

export function toClient(c: AdminClientInfo): Client {
  return {
    clientId: c.clientId,
    node: c.node,
    connected: c.connected,
    username: c.username ?? '',
    address: c.address ?? '',
    transport: c.transport ?? '',
    protocolVersion: c.protocolVersion,
    connectedSinceMs: c.connectedSince ?? 0,
    disconnectedAtMs: c.disconnectedAt ?? 0,
    cleanStart: c.cleanStart,
    sessionExpirySeconds: c.sessionExpirySeconds,
    keepAliveSeconds: c.keepAliveSeconds ?? 0,
    subscriptions: c.subscriptions,
    inflight: c.inflight,
    queued: c.queued,
  };
}

export function toSubscription(s: AdminSubscriptionInfo): Subscription {
  return {
    clientId: s.clientId,
    node: s.node,
    topicFilter: s.topicFilter,
    shareGroup: s.shareGroup ?? '',
    qos: s.qos,
    noLocal: s.noLocal,
    retainAsPublished: s.retainAsPublished,
    retainHandling: s.retainHandling,
    subscriptionId: s.subscriptionId ?? 0,
  };
}

export function toRetained(m: AdminRetainedMessage): RetainedMessage {
  return {
    topic: m.topic,
    payload: m.payload,
    qos: m.qos,
    userProperties: m.userProperties.map(([key, value]) => ({ key, value })),
    contentType: m.contentType ?? '',
    expiresAtMs: m.expiresAt ?? 0,
    node: m.node,
  };
}

export function fromPublishRequest(r: PublishRequest): AdminPublishRequest {
  const qos = r.qos ?? 0;
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new AdminError('invalid_argument', 'qos must be 0, 1 or 2');
  return {
    topic: r.topic,
    payload: r.payload,
    qos,
    retain: r.retain ?? false,
    userProperties: (r.userProperties ?? []).map((p) => [p.key, p.value] as const),
    ...(r.contentType !== undefined && r.contentType !== '' ? { contentType: r.contentType } : {}),
    ...(r.messageExpirySeconds !== undefined && r.messageExpirySeconds > 0 ? { messageExpirySeconds: r.messageExpirySeconds } : {}),
  };
}
