/**
 * Starts the MQTT-SN gateway of this node (MQTTSN_PORT): one UDP socket (transport) feeding one
 * MqttSnGateway, whose clients are sessions of this node's engine. `clients` is read per
 * CONNECT, so a SIGHUP reload of MQTTSN_CLIENTS applies to the next connections.
 */
import type { Broker } from '@mqtt-broker/core';
import { type ClientList, MqttSnGateway } from '@mqtt-broker/mqttsn-gateway';
import { type Listener, listenUdp, type TransportEvents } from '@mqtt-broker/transport';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { MqttSnConfig } from './config.js';
import { createMqttSnMetrics } from './mqttsn-metrics.js';

export interface MqttSnStart {
  config: MqttSnConfig;
  host: string;
  nodeId: string;
  broker: Broker;
  registry: Registry;
  log: Logger;
  events: TransportEvents;
  clients: () => ClientList | undefined;
}

export interface RunningMqttSn {
  /** Closing it stops the gateway, then the socket. */
  readonly listener: Listener;
  readonly gateway: MqttSnGateway;
}

export async function startMqttSn(o: MqttSnStart): Promise<RunningMqttSn> {
  const c = o.config;
  let gateway: MqttSnGateway | undefined;
  const observer = createMqttSnMetrics(o.registry, () => gateway?.stats(), o.log);
  const listener = await listenUdp({
    host: o.host,
    port: c.port,
    broadcast: c.advertise !== undefined,
    events: o.events,
    connections: () => {
      const s = gateway?.stats();
      return s === undefined ? 0 : s.clientsAwake + s.clientsAsleep;
    },
    onDatagram: (datagram, address, port) => gateway?.onDatagram(datagram, address, port),
  });
  gateway = new MqttSnGateway({
    acceptor: o.broker,
    send: (datagram, address, port) => listener.send(datagram, address, port),
    gatewayId: c.gatewayId,
    nodeId: o.nodeId,
    predefined: c.predefined,
    userFor: (clientId) => o.clients()?.lookup(clientId)?.username,
    retryMs: c.retryMs,
    maxRetries: c.maxRetries,
    maxDatagramBytes: c.maxDatagramBytes,
    ratePerAddress: c.ratePerAddress,
    maxClientsPerAddress: c.maxClientsPerAddress,
    ...(c.advertise !== undefined ? { advertise: c.advertise } : {}),
    observer,
  });
  const g = gateway;
  const wrapped: Listener = {
    transport: listener.transport,
    host: listener.host,
    port: listener.port,
    get connections() {
      return listener.connections;
    },
    stopAccepting: () => listener.stopAccepting(),
    close: async () => {
      g.close();
      await listener.close();
    },
  };
  return { listener: wrapped, gateway: g };
}
