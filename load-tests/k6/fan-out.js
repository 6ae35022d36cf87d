// Fan-out: one publisher, many subscribers of the same topic (e.g. a broadcast to a fleet). Every
// subscriber must receive every message: gaps in the sequence are counted as lost. The
// publisher starts once the subscribers had time to connect and subscribe.
//
//   k6 run -e MQTT_BROKER_ADDRESS=mqtt://127.0.0.1:1883 -e SUBSCRIBERS=1000 -e RATE=5 -e SECONDS=60 fan-out.js
import { Client } from 'k6/x/mqtt';
import {
  BROKER,
  connectMeasured,
  CREDENTIALS,
  deliveryRatio,
  numberSetting,
  onDelivery,
  publishAtRate,
  QOS,
  SequenceTracker,
  TOPIC_PREFIX,
} from './lib/common.js';

const SUBSCRIBERS = numberSetting('SUBSCRIBERS', 500);
const RATE = numberSetting('RATE', 5); // messages per second from the one publisher
const SECONDS = numberSetting('SECONDS', 60);
const WARMUP_SECONDS = numberSetting('WARMUP_SECONDS', 15); // subscribers connect meanwhile
const SETTLE_MS = numberSetting('SETTLE_MS', 5000);
const TOPIC = `${TOPIC_PREFIX}/fanout/broadcast`;

export const options = {
  scenarios: {
    subscribers: {
      executor: 'per-vu-iterations',
      vus: SUBSCRIBERS,
      iterations: 1,
      exec: 'subscriber',
      maxDuration: `${WARMUP_SECONDS + SECONDS + 60}s`,
    },
    publisher: {
      executor: 'per-vu-iterations',
      vus: 1,
      iterations: 1,
      exec: 'publisher',
      startTime: `${WARMUP_SECONDS}s`,
      maxDuration: `${SECONDS + 30}s`,
    },
  },
  thresholds: {
    mqtt_delivery_latency: ['p(95)<200', 'p(99)<500'],
    mqtt_messages_lost: QOS > 0 ? ['count==0'] : [`count<=${Math.ceil(SUBSCRIBERS * RATE * SECONDS * 0.001)}`],
    mqtt_connect_ok: ['rate>0.99'],
  },
};

export function subscriber() {
  const tracker = new SequenceTracker();
  const started = Date.now();
  const client = connectMeasured(`k6-fanout-sub-${__VU}`, async (c) => {
    await c.subscribeAsync(TOPIC, { qos: QOS });
    // Stay until the publisher is done (it starts after the warm-up), plus the settle time.
    const remaining = WARMUP_SECONDS * 1000 + SECONDS * 1000 + SETTLE_MS - (Date.now() - started);
    setTimeout(() => c.end(), Math.max(remaining, SETTLE_MS));
  });
  client.on('message', (_topic, payload) => onDelivery(payload, tracker));
}

export function publisher() {
  const client = new Client({ client_id: 'k6-fanout-pub', ...CREDENTIALS });
  client.on('connect', () => {
    publishAtRate(client, TOPIC, 'fanout', RATE, SECONDS, () => client.end());
  });
  client.connect(BROKER, { keepalive: 60, clean_session: true });
}

export function handleSummary(data) {
  const r = deliveryRatio(data, SUBSCRIBERS);
  return { stdout: `delivered ${r.got} of ${r.expected} expected (${(r.ratio * 100).toFixed(3)}%)\n` };
}
