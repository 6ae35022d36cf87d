// Shared-subscription fan-in: many device-like publishers, each on its own topic, consumed by a
// small group of backend consumers through one shared subscription ($share/GROUP/filter): each
// message goes to exactly one consumer of the group. Measures latency and the delivered/sent
// ratio (printed; per-publisher gaps cannot be seen by one consumer of a shared group).
//
//   k6 run -e MQTT_BROKER_ADDRESS=mqtt://127.0.0.1:1883 -e PUBLISHERS=1000 -e CONSUMERS=4 -e RATE=1 shared-fan-in.js
import { Client } from 'k6/x/mqtt';
import {
  BROKER,
  CREDENTIALS,
  connectOk,
  deliveryRatio,
  numberSetting,
  onDelivery,
  publishAtRate,
  QOS,
  setting,
  TOPIC_PREFIX,
} from './lib/common.js';

const PUBLISHERS = numberSetting('PUBLISHERS', 500);
const CONSUMERS = numberSetting('CONSUMERS', 4);
const RATE = numberSetting('RATE', 1); // messages per second per publisher
const SECONDS = numberSetting('SECONDS', 60);
const WARMUP_SECONDS = numberSetting('WARMUP_SECONDS', 5);
const SETTLE_MS = numberSetting('SETTLE_MS', 5000);
const GROUP = setting('SHARE_GROUP', 'k6');

export const options = {
  scenarios: {
    consumers: {
      executor: 'per-vu-iterations',
      vus: CONSUMERS,
      iterations: 1,
      exec: 'consumer',
      maxDuration: `${WARMUP_SECONDS + SECONDS + 90}s`,
    },
    publishers: {
      executor: 'per-vu-iterations',
      vus: PUBLISHERS,
      iterations: 1,
      exec: 'device',
      startTime: `${WARMUP_SECONDS}s`,
      maxDuration: `${SECONDS + 60}s`,
    },
  },
  thresholds: {
    mqtt_delivery_latency: ['p(95)<200', 'p(99)<500'],
    mqtt_k6_received: ['count>0'],
    mqtt_connect_ok: ['rate>0.99'],
  },
};

export function consumer() {
  const client = new Client({ client_id: `k6-fanin-consumer-${__VU}`, ...CREDENTIALS });
  const started = Date.now();
  client.on('connect', async () => {
    connectOk.add(true);
    await client.subscribeAsync(`$share/${GROUP}/${TOPIC_PREFIX}/fanin/+`, { qos: QOS });
    const remaining = (WARMUP_SECONDS + SECONDS) * 1000 + SETTLE_MS - (Date.now() - started);
    setTimeout(() => client.end(), Math.max(remaining, SETTLE_MS));
  });
  client.on('error', () => connectOk.add(false));
  client.on('message', (_topic, payload) => onDelivery(payload));
  client.connect(BROKER, { keepalive: 60, clean_session: true });
}

export function device() {
  const vu = __VU; // captured: callbacks run later
  const client = new Client({ client_id: `k6-fanin-device-${vu}`, ...CREDENTIALS });
  client.on('connect', () => {
    connectOk.add(true);
    publishAtRate(client, `${TOPIC_PREFIX}/fanin/${vu}`, `device-${vu}`, RATE, SECONDS, () => client.end());
  });
  client.on('error', () => connectOk.add(false));
  client.connect(BROKER, { keepalive: 60, clean_session: true });
}

export function handleSummary(data) {
  const r = deliveryRatio(data, 1);
  const verdict = QOS > 0 && r.ratio < 1 ? ' LOSS at QoS > 0' : '';
  return { stdout: `delivered ${r.got} of ${r.expected} expected (${(r.ratio * 100).toFixed(3)}%)${verdict}\n` };
}
