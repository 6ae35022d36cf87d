import type { BrokerObserver } from './api.js';

const noop = (): void => {};

/** An observer that ignores everything (the default). */
export const noopObserver: BrokerObserver = Object.freeze({
  connectionOpened: noop,
  clientConnected: noop,
  connectRejected: noop,
  clientDisconnected: noop,
  connectionClosedBeforeConnect: noop,
  protocolViolation: noop,
  packetReceived: noop,
  packetSent: noop,
  messagePublished: noop,
  messageDelivered: noop,
  messageDropped: noop,
  limitHit: noop,
  quotaRefused: noop,
  quotaExceeded: noop,
});
