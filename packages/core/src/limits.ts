import type { BrokerLimits } from './api.js';

/** Defaults close to Mosquitto's where it has an equivalent setting. */
export const DEFAULT_LIMITS: BrokerLimits = Object.freeze({
  maxConnections: 100_000,
  maxPacketSize: 1024 * 1024,
  maxInflight: 100,
  receiveMaximum: 1024,
  maxQueuedMessages: 1000,
  queueOverflow: 'drop_oldest',
  maxTopicLength: 65_535,
  maxTopicLevels: 128,
  maxSubscriptionsPerClient: 10_000,
  publishRatePerClient: 0,
  quotaMessagesPerSecond: 0,
  quotaBytesPerSecond: 0,
  quotaUserMessagesPerSecond: 0,
  quotaUserBytesPerSecond: 0,
  quotaBurstSeconds: 1,
  quotaGraceSeconds: 10,
  connectRatePerAddress: 0,
  topicAliasMaximum: 100,
  connectTimeoutSeconds: 10,
  maxSessionExpirySeconds: 0xffffffff,
  maxKeepAliveSeconds: 0,
}) as BrokerLimits;
