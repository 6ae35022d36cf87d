/**
 * The BrokerObserver and TransportEvents the service hands to the core and the transport: each
 * callback bumps its metric and, for connection life-cycle events, writes one log line.
 * Hot-path callbacks (packets, messages) only touch counters.
 */
import type { BrokerObserver, TransportKind } from '@mqtt-broker/core';
import type { TransportEvents } from '@mqtt-broker/transport';
import type { Logger } from 'pino';
import { type BrokerMetrics, reasonName } from './metrics.js';

export function createObserver(metrics: BrokerMetrics, log: Logger): BrokerObserver {
  return {
    connectionOpened(transport) {
      metrics.connectionOpened(transport);
    },
    clientConnected(info) {
      metrics.clientConnected(info.transport);
      log.info(
        {
          event: 'connect',
          clientId: info.clientId,
          username: info.username,
          address: info.address,
          transport: info.transport,
          protocolVersion: info.protocolVersion,
          cleanStart: info.cleanStart,
          sessionPresent: info.sessionPresent,
          keepAlive: info.keepAlive,
          reasonCode: 0,
        },
        'client connected',
      );
    },
    connectRejected(info) {
      metrics.connectRejected(info.reasonCode);
      log.info(
        {
          event: 'connect_rejected',
          clientId: info.clientId,
          address: info.address,
          transport: info.transport,
          reasonCode: info.reasonCode,
          reason: reasonName(info.reasonCode),
        },
        'connect rejected',
      );
    },
    clientDisconnected(info) {
      metrics.clientDisconnected(info.cause);
      log.info(
        {
          event: 'disconnect',
          clientId: info.clientId,
          username: info.username,
          address: info.address,
          transport: info.transport,
          protocolVersion: info.protocolVersion,
          cause: info.cause,
          reasonCode: info.reasonCode,
        },
        'client disconnected',
      );
    },
    connectionClosedBeforeConnect(info) {
      metrics.connectionClosedBeforeConnect(info.cause);
      log.debug({ event: 'closed_before_connect', address: info.address, transport: info.transport, cause: info.cause, detail: info.detail }, 'connection closed before CONNECT');
    },
    protocolViolation(info) {
      metrics.protocolViolation(info.reasonCode);
      log.debug({ event: 'protocol_violation', clientId: info.clientId, address: info.address, reasonCode: info.reasonCode, detail: info.message }, 'protocol violation');
    },
    packetReceived(packetType, bytes) {
      metrics.packetReceived(packetType, bytes);
    },
    packetSent(packetType, bytes) {
      metrics.packetSent(packetType, bytes);
    },
    messagePublished(qos) {
      metrics.messagePublished(qos);
    },
    messageDelivered(qos) {
      metrics.messageDelivered(qos);
    },
    messageDropped(qos, reason) {
      metrics.messageDropped(qos, reason);
    },
    limitHit(limit) {
      metrics.limitHit(limit);
    },
    quotaRefused(quota) {
      metrics.quotaRefused(quota);
    },
    quotaExceeded(info) {
      log.info(
        { event: 'quota_exceeded', clientId: info.clientId, username: info.username, address: info.address, protocolVersion: info.protocolVersion, quota: info.quota, outcome: info.outcome },
        'quota exceeded',
      );
    },
  };
}

export function createTransportEvents(metrics: BrokerMetrics, log: Logger): TransportEvents {
  return {
    socketError(transport: TransportKind, error: Error) {
      metrics.transportError(transport);
      log.debug({ event: 'socket_error', transport, err: error }, 'socket error');
    },
    connectionRejected(transport, reason, address) {
      metrics.transportRejected(transport, reason);
      log.debug({ event: 'transport_rejected', transport, reason, address }, 'connection refused by the transport');
    },
  };
}
