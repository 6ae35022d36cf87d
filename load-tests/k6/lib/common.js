// Shared by the k6 scenarios: settings from the environment, the payload format (publisher id,
// sequence number and send time in a small text header, padded to PAYLOAD_BYTES), the custom
// metrics the thresholds use, a client connected with the connect metrics (connectMeasured), and a
// per-publisher sequence tracker that counts lost messages.
//
// Latency is measured end to end (publish -> delivery) with k6's own clock: publishers and
// subscribers run in the same k6 process, so no clock synchronisation is involved. Run k6 on a
// machine other than the brokers', or its CPU use shows up as latency.
import { Counter, Rate, Trend } from 'k6/metrics';
import { Client } from 'k6/x/mqtt';

export function setting(name, fallback) {
  const v = __ENV[name];
  return v === undefined || v === '' ? fallback : v;
}
export function numberSetting(name, fallback) {
  const v = Number(setting(name, fallback));
  if (!Number.isFinite(v)) throw new Error(`${name} must be a number`);
  return v;
}

/** Broker address: mqtt://, mqtts://, ws://host:8083/mqtt or wss://. */
export const BROKER = setting('MQTT_BROKER_ADDRESS', 'mqtt://127.0.0.1:1883');
export const QOS = numberSetting('QOS', 1);
export const PAYLOAD_BYTES = numberSetting('PAYLOAD_BYTES', 64);
export const TOPIC_PREFIX = setting('TOPIC_PREFIX', 'k6');
export const CREDENTIALS = setting('MQTT_USERNAME', '')
  ? { username: setting('MQTT_USERNAME', ''), password: setting('MQTT_PASSWORD', '') }
  : {};

export const deliveryLatency = new Trend('mqtt_delivery_latency', true);
export const messagesLost = new Counter('mqtt_messages_lost');
export const messagesDuplicated = new Counter('mqtt_messages_duplicated');
export const published = new Counter('mqtt_k6_published');
export const received = new Counter('mqtt_k6_received');
export const connectDuration = new Trend('mqtt_connect_duration', true);
export const connectOk = new Rate('mqtt_connect_ok');

const PADDING = 'x'.repeat(64 * 1024);

export function encode(publisherId, seq) {
  const head = `${publisherId}|${seq}|${Date.now()}|`;
  return head + PADDING.slice(0, Math.max(0, PAYLOAD_BYTES - head.length));
}

/** Reads the header of a payload (ArrayBuffer); undefined when it is not one of ours. */
export function decode(payload) {
  const bytes = new Uint8Array(payload, 0, Math.min(64, payload.byteLength));
  const parts = String.fromCharCode.apply(null, bytes).split('|');
  if (parts.length < 4) return undefined;
  return { publisherId: parts[0], seq: Number(parts[1]), sentAt: Number(parts[2]) };
}

/**
 * Counts gaps in each publisher's sequence (lost messages) and repeats (QoS 1 redeliveries).
 * Only for subscribers that see every message of a publisher (not shared subscriptions).
 */
export class SequenceTracker {
  constructor() {
    this.last = new Map();
  }
  observe(msg) {
    const last = this.last.get(msg.publisherId);
    if (last !== undefined && msg.seq <= last) {
      messagesDuplicated.add(1);
      return;
    }
    if (last !== undefined && msg.seq > last + 1) messagesLost.add(msg.seq - last - 1);
    this.last.set(msg.publisherId, msg.seq);
  }
}

/** Records one delivery: latency, count, sequence. */
export function onDelivery(payload, tracker) {
  const msg = decode(payload);
  if (!msg) return;
  received.add(1);
  deliveryLatency.add(Date.now() - msg.sentAt);
  if (tracker) tracker.observe(msg);
}

/**
 * Publishes `count` messages per second for `seconds`, then calls done(). Timers fire at most
 * every 10 ms, so higher rates publish a batch per tick.
 */
export function publishAtRate(client, topic, publisherId, ratePerSecond, seconds, done) {
  const tickMs = Math.max(10, Math.floor(1000 / ratePerSecond));
  const perTick = Math.max(1, Math.round((ratePerSecond * tickMs) / 1000));
  const total = Math.round(ratePerSecond * seconds);
  let seq = 0;
  const id = setInterval(() => {
    for (let i = 0; i < perTick && seq < total; i++) {
      seq += 1;
      client.publish(topic, encode(publisherId, seq), { qos: QOS });
      published.add(1);
    }
    if (seq >= total) {
      clearInterval(id);
      done();
    }
  }, tickMs);
}

/** Summary line added to k6's end-of-test summary: delivered / expected. */
export function deliveryRatio(data, expectedPerPublished) {
  const sent = data.metrics.mqtt_k6_published?.values.count ?? 0;
  const got = data.metrics.mqtt_k6_received?.values.count ?? 0;
  const expected = sent * expectedPerPublished;
  return { sent, got, expected, ratio: expected > 0 ? got / expected : 0 };
}

/**
 * A client connecting to BROKER with the connect metrics: mqtt_connect_ok (true on CONNACK, false
 * on an error before it) and mqtt_connect_duration. `onConnect(client)` runs once connected.
 */
export function connectMeasured(clientId, onConnect, connectOptions = { keepalive: 60, clean_session: true }) {
  const client = new Client({ client_id: clientId, ...CREDENTIALS });
  const started = Date.now();
  let connected = false;
  client.on('connect', async () => {
    connected = true;
    connectOk.add(true);
    connectDuration.add(Date.now() - started);
    await onConnect(client);
  });
  client.on('error', () => {
    if (!connected) connectOk.add(false);
  });
  client.connect(BROKER, connectOptions);
  return client;
}
