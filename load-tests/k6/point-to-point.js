
import {
  connectMeasured,
  deliveryRatio,
  numberSetting,
  onDelivery,
  publishAtRate,
  QOS,
  SequenceTracker,
  TOPIC_PREFIX,
} from './lib/common.js';

const PAIRS = numberSetting('PAIRS', 50);
const RATE = numberSetting('RATE', 10); // messages per second per pair
const SECONDS = numberSetting('SECONDS', 60);
const SETTLE_MS = numberSetting('SETTLE_MS', 3000); // time for the last messages to arrive

export const options = {
  scenarios: {
    pairs: { executor: 'per-vu-iterations', vus: PAIRS, iterations: 1, maxDuration: `${SECONDS + 60}s` },
  },
  thresholds: {
    mqtt_delivery_latency: ['p(95)<100', 'p(99)<250'],
    mqtt_messages_lost: QOS > 0 ? ['count==0'] : [`count<=${Math.ceil(PAIRS * RATE * SECONDS * 0.001)}`],
    mqtt_connect_ok: ['rate>0.99'],
    mqtt_connect_duration: ['p(95)<1000'],
  },
};

export default function () {
  const vu = __VU; // captured: callbacks run later
  const topic = `${TOPIC_PREFIX}/p2p/${vu}`;
  const tracker = new SequenceTracker();
  const sub = connectMeasured(`k6-p2p-sub-${vu}`, async (client) => {
    await client.subscribeAsync(topic, { qos: QOS });
    connectMeasured(`k6-p2p-pub-${vu}`, (pub) => {
      publishAtRate(pub, topic, `p2p-${vu}`, RATE, SECONDS, () => {
        pub.end();
        setTimeout(() => sub.end(), SETTLE_MS);
      });
    });
  });
  sub.on('message', (_topic, payload) => onDelivery(payload, tracker));
}

export function handleSummary(data) {
  const r = deliveryRatio(data, 1);
  const line = `delivered ${r.got} of ${r.expected} expected (${(r.ratio * 100).toFixed(3)}%)\n`;
  return { stdout: line };
}
