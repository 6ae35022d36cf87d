/**
 * Helpers shared by the cluster*.test.ts files: scrape a node's /metrics and /readyz and poll
 * (re-exported from @mqtt-broker/test-support), and connect with the message listener attached
 * before CONNACK (queued messages of a resumed session follow the CONNACK in the same chunk).
 */
import mqtt, { type IClientOptions, type IConnackPacket } from 'mqtt';

export { httpGet, metricsText, metricValue, readyStatus, waitUntil } from '@mqtt-broker/test-support';

export interface CollectedMessage {
  topic: string;
  payload: string;
  qos: number;
}

export function connectAndCollect(
  url: string,
  options: IClientOptions,
  n: number,
  timeoutMs = 5000,
): Promise<{ connack: IConnackPacket; client: mqtt.MqttClient; messages: Promise<CollectedMessage[]> }> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, ...options });
    const got: CollectedMessage[] = [];
    let done: () => void = () => {};
    const messages = new Promise<CollectedMessage[]>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`expected ${n} messages, got ${got.length}: ${got.map((m) => m.payload).join(',')}`)), timeoutMs);
      done = () => {
        clearTimeout(timer);
        res(got);
      };
    });
    client.on('message', (topic, payload, packet) => {
      got.push({ topic, payload: payload.toString(), qos: packet.qos });
      if (got.length === n) done();
    });
    client.once('connect', (connack) => resolve({ connack, client, messages }));
    client.once('error', reject);
  });
}
