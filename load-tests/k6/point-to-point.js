// Point-to-point: each VU owns a topic, with one subscriber connection and one publisher
// connection (two separate TCP connections, so behind a load balancer they usually land on
// different nodes and the message crosses the cluster). Measures end-to-end latency and counts
// lost messages per topic.
//
//   k6 run -e MQTT_BROKER_ADDRESS=mqtt://127.0.0.1:1883 -e PAIRS=100 -e RATE=10 -e SECONDS=60 point-to-point.js
import { Client } from 'k6/x/mqtt';
import {
  BROKER,
  CREDENTIALS,
  connectDuration,
  connectOk,
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

function connect(clientId, onConnect) {
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
  client.connect(BROKER, { keepalive: 60, clean_session: true });
  return client;
}

export default function () {
  const vu = __VU; // captured: callbacks run later
  const topic = `${TOPIC_PREFIX}/p2p/${vu}`;
  const tracker = new SequenceTracker();
  const sub = connect(`k6-p2p-sub-${vu}`, async (client) => {
    await client.subscribeAsync(topic, { qos: QOS });
    connect(`k6-p2p-pub-${vu}`, (pub) => {
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
