/**
 * Helpers shared by the cluster-ops*.test.ts files: scrape a node's /metrics and /readyz, and
 * connect with the message listener attached before CONNACK (queued messages of a resumed
 * session follow the CONNACK in the same chunk).
 */
import { get } from 'node:http';
import mqtt, { type IClientOptions, type IConnackPacket } from 'mqtt';

export function httpGet(port: number, path: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
  });
}

export async function metricsText(port: number): Promise<string> {
  return (await httpGet(port, '/metrics')).body;
}

/** /readyz status, 0 when the node does not answer. */
export async function readyStatus(port: number): Promise<number> {
  try {
    return (await httpGet(port, '/readyz', 1000)).status;
  } catch {
    return 0;
  }
}

export function metricValue(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

/** Polls `probe` every 20 ms until it returns true; throws after timeoutMs naming `what`. */
export async function waitUntil(probe: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<number> {
  const t0 = Date.now();
  while (!(await probe())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - t0;
}

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
