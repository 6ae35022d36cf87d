/** Messages and session snapshots as the Redis stores keep them, for the cluster-redis tests. */
import type { SessionSnapshot, StoredMessage } from '@mqtt-broker/core';

export function storedMessage(topic: string, payload: string, qos: 1 | 2 = 1): StoredMessage {
  return { topic, payload: Buffer.from(payload), qos, retain: false, expiresAt: 0, publisherId: 'p' };
}

/** A persistent 5.0 session subscribed to `t/#` at QoS 1, offline, with `queued` waiting. */
export function sessionSnapshot(clientId: string, queued: StoredMessage[]): SessionSnapshot {
  return {
    clientId,
    protocolVersion: 5,
    expiryIntervalSeconds: 300,
    disconnectedAt: undefined,
    subscriptions: [{ topicFilter: 't/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
    inflight: [],
    queued: queued.map((message) => ({ message, qos: 1, retain: false })),
    inboundQos2: [],
    nextPacketId: 1,
  };
}
