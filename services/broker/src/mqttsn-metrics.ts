/**
 * `mqtt_sn_*` metrics of the MQTT-SN gateway: packets by direction and type, dropped datagrams by
 * reason, retransmissions by type (counters), and clients awake/asleep and registered topic ids
 * (gauges read from the gateway on scrape). Label children are cached on first use.
 */
import type { GatewayObserver, GatewayStats } from '@mqtt-broker/mqttsn-gateway';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';

type Child = { inc(): void };

function cached(counter: Counter<string>): (...labels: string[]) => Child {
  const children = new Map<string, Child>();
  return (...labels) => {
    const key = labels.join('|');
    let child = children.get(key);
    if (child === undefined) {
      child = counter.labels(...labels);
      children.set(key, child);
    }
    return child;
  };
}

export function createMqttSnMetrics(registry: Registry, stats: () => GatewayStats | undefined, log: Logger): GatewayObserver {
  const registers = [registry];
  const packets = cached(new Counter({ name: 'mqtt_sn_packets_total', help: 'MQTT-SN messages, by direction and type', labelNames: ['direction', 'type'], registers }));
  const dropped = cached(new Counter({ name: 'mqtt_sn_dropped_datagrams_total', help: 'MQTT-SN datagrams dropped without an answer, by reason', labelNames: ['reason'], registers }));
  const retransmitted = cached(new Counter({ name: 'mqtt_sn_retransmissions_total', help: 'Gateway PUBLISH, PUBREL and REGISTER sent again after Tretry', labelNames: ['type'], registers }));
  new Gauge({
    name: 'mqtt_sn_clients',
    help: 'MQTT-SN clients connected to this node, by state',
    labelNames: ['state'],
    registers,
    collect() {
      const s = stats();
      if (s === undefined) return;
      this.labels('awake').set(s.clientsAwake);
      this.labels('asleep').set(s.clientsAsleep);
    },
  });
  new Gauge({
    name: 'mqtt_sn_registered_topic_ids',
    help: 'Normal topic ids registered, over all MQTT-SN clients of this node',
    registers,
    collect() {
      const s = stats();
      if (s !== undefined) this.set(s.registeredTopicIds);
    },
  });
  return {
    packetReceived: (type) => packets('in', type).inc(),
    packetSent: (type) => packets('out', type).inc(),
    datagramDropped: (reason) => dropped(reason).inc(),
    retransmitted: (type) => retransmitted(type).inc(),
    clientError: (clientId, err) => log.error({ event: 'mqttsn_client_error', clientId, err }, 'MQTT-SN client closed after an internal error'),
  };
}
