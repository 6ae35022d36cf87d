import { type Broker, createAdminFacade, createBroker } from '@mqtt-broker/core';
import { TestClient } from '@mqtt-broker/core/testing';
import { PacketType, type ProtocolVersion, type PublishPacket, type QoS } from '@mqtt-broker/mqtt-codec';
import { AdminClient, type AdminServer, startAdminServer } from '../src/index.js';

export interface Fixture {
  broker: Broker;
  server: AdminServer;
  client: AdminClient;
  address: string;
  close(): Promise<void>;
}

/** A real core broker, its admin facade behind a real gRPC server on a free port, and a client. */
export async function startFixture(nodeId = 'node-1'): Promise<Fixture> {
  const broker = createBroker({ nodeId, version: '9.9.9' });
  const server = await startAdminServer({ port: 0, host: '127.0.0.1', facade: createAdminFacade(broker, { runtime: 'v24.0.0', websocketEngine: 'uws' }) });
  const address = `127.0.0.1:${server.port}`;
  const client = new AdminClient(address, { timeoutMs: 5000 });
  return {
    broker,
    server,
    client,
    address,
    async close() {
      client.close();
      await server.close(500);
      await broker.close();
    },
  };
}

export async function mqttClient(broker: Broker, clientId: string, version: ProtocolVersion, filters: Array<[string, QoS]> = [], persistent = false): Promise<TestClient> {
  const c = new TestClient(broker, version, '10.0.0.7');
  const properties = version === 5 && persistent ? { sessionExpiryInterval: 600 } : undefined;
  await c.connect({ clientId, clean: !persistent, ...(properties !== undefined ? { properties } : {}) });
  if (filters.length > 0) {
    c.send({
      type: PacketType.SUBSCRIBE,
      packetId: 1,
      subscriptions: filters.map(([topicFilter, qos]) => ({ topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 as const })),
    });
    c.expect(PacketType.SUBACK);
  }
  return c;
}

export function publishes(c: TestClient): PublishPacket[] {
  return c.take().filter((p): p is PublishPacket => p.type === PacketType.PUBLISH);
}
