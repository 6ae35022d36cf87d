import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type IClientOptions, type MqttClient, connectAsync } from 'mqtt';
import { type Broker, createBroker } from '../src/index.js';
import { listen } from './net-adapter.js';

function nextMessage(client: MqttClient, ms = 3000): Promise<{ topic: string; payload: string; retain: boolean; qos: number; properties: unknown }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message in time')), ms);
    client.once('message', (topic, payload, packet) => {
      clearTimeout(timer);
      resolve({ topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos, properties: packet.properties });
    });
  });
}

describe('interop with MQTT.js over TCP', () => {
  let broker: Broker;
  let server: Awaited<ReturnType<typeof listen>>;
  const clients: MqttClient[] = [];
  const connect = async (options: IClientOptions): Promise<MqttClient> => {
    const c = await connectAsync(`mqtt://127.0.0.1:${server.port}`, { reconnectPeriod: 0, connectTimeout: 3000, ...options });
    clients.push(c);
    return c;
  };

  before(async () => {
    broker = createBroker({ nodeId: 'interop', version: 't' });
    server = await listen(broker);
  });
  after(async () => {
    for (const c of clients) c.end(true);
    await broker.close();
    await server.close();
  });

  for (const protocolVersion of [3, 4, 5] as const) {
    it(`protocol ${protocolVersion}: QoS 0, 1 and 2 round trip, retained`, async () => {
      const base = protocolVersion === 3 ? { protocolId: 'MQIsdp' as const } : {};
      const sub = await connect({ ...base, protocolVersion, clientId: `sub${protocolVersion}` });
      const pub = await connect({ ...base, protocolVersion, clientId: `pub${protocolVersion}` });
      await sub.subscribeAsync(`i${protocolVersion}/#`, { qos: 2 });
      for (const qos of [0, 1, 2] as const) {
        const got = nextMessage(sub);
        await pub.publishAsync(`i${protocolVersion}/q${qos}`, `m${qos}`, { qos });
        const m = await got;
        assert.equal(m.payload, `m${qos}`);
        assert.equal(m.qos, qos);
      }
      await pub.publishAsync(`i${protocolVersion}/ret`, 'kept', { qos: 1, retain: true });
      const late = await connect({ ...base, protocolVersion, clientId: `late${protocolVersion}` });
      const got = nextMessage(late);
      await late.subscribeAsync(`i${protocolVersion}/ret`, { qos: 1 });
      const m = await got;
      assert.equal(m.payload, 'kept');
      assert.equal(m.retain, true);
    });
  }

  it('MQTT 5: user properties and correlation data pass through; will on abrupt close', async () => {
    const sub = await connect({ protocolVersion: 5, clientId: 'sub5x' });
    await sub.subscribeAsync('x5/#', { qos: 1 });
    const pub = await connect({ protocolVersion: 5, clientId: 'pub5x', will: { topic: 'x5/will', payload: Buffer.from('dead'), qos: 1, retain: false } });
    const got = nextMessage(sub);
    await pub.publishAsync('x5/props', 'p', { qos: 1, properties: { userProperties: { a: 'b' }, correlationData: Buffer.from('cid'), responseTopic: 'x5/reply' } });
    const m = await got;
    const props = m.properties as { userProperties: Record<string, string>; correlationData: Buffer; responseTopic: string };
    assert.deepEqual({ ...props.userProperties }, { a: 'b' });
    assert.equal(props.correlationData.toString(), 'cid');
    assert.equal(props.responseTopic, 'x5/reply');
    const will = nextMessage(sub);
    pub.stream.destroy();
    assert.equal((await will).payload, 'dead');
  });
});
