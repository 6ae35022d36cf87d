
import {
  connectMeasured,
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
  const started = Date.now();
  const client = connectMeasured(`k6-fanin-consumer-${__VU}`, async (c) => {
    await c.subscribeAsync(`$share/${GROUP}/${TOPIC_PREFIX}/fanin/+`, { qos: QOS });
    const remaining = (WARMUP_SECONDS + SECONDS) * 1000 + SETTLE_MS - (Date.now() - started);
    setTimeout(() => c.end(), Math.max(remaining, SETTLE_MS));
  });
  client.on('message', (_topic, payload) => onDelivery(payload));
}

export function device() {
  const vu = __VU; // captured: callbacks run later
  connectMeasured(`k6-fanin-device-${vu}`, (c) => {
    publishAtRate(c, `${TOPIC_PREFIX}/fanin/${vu}`, `device-${vu}`, RATE, SECONDS, () => c.end());
  });
}

export function handleSummary(data) {
  const r = deliveryRatio(data, 1);
  const verdict = QOS > 0 && r.ratio < 1 ? ' LOSS at QoS > 0' : '';
  return { stdout: `delivered ${r.got} of ${r.expected} expected (${(r.ratio * 100).toFixed(3)}%)${verdict}\n` };
}
