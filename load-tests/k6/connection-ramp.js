// Connection ramp: opens TARGET connections over RAMP seconds, each subscribing to its own topic
// (one route per client, as devices do), holds them for HOLD seconds with MQTT keep-alive, then
// closes. Measures CONNECT -> CONNACK time and the connect success rate while the broker's
// connection count (Grafana: "Connected clients per node") climbs.
//
// k6 runs one VU per connection: beyond ~20k connections per k6 process, split the ramp over
// several load machines (CLIENT_PREFIX keeps client ids apart) and raise `ulimit -n`.
//
//   k6 run -e MQTT_BROKER_ADDRESS=mqtt://127.0.0.1:1883 -e TARGET=10000 -e RAMP=120 -e HOLD=300 connection-ramp.js
import exec from 'k6/execution';
import { connectMeasured, numberSetting, QOS, setting, TOPIC_PREFIX } from './lib/common.js';

const TARGET = numberSetting('TARGET', 5000);
const RAMP = numberSetting('RAMP', 60);
const HOLD = numberSetting('HOLD', 120);
const KEEPALIVE = numberSetting('KEEPALIVE', 60);
const CLIENT_PREFIX = setting('CLIENT_PREFIX', 'k6-ramp');

export const options = {
  scenarios: {
    ramp: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: `${RAMP}s`, target: TARGET },
        { duration: `${HOLD}s`, target: TARGET },
        { duration: '10s', target: 0 },
      ],
      gracefulRampDown: '15s',
    },
  },
  thresholds: {
    mqtt_connect_ok: ['rate>0.999'],
    mqtt_connect_duration: ['p(95)<500', 'p(99)<2000'],
  },
};

export default function () {
  const vu = __VU; // captured: callbacks run later
  connectMeasured(
    `${CLIENT_PREFIX}-${vu}-${__ITER}`,
    async (client) => {
      await client.subscribeAsync(`${TOPIC_PREFIX}/ramp/${vu}`, { qos: QOS });
      // Hold until the end of the hold stage, measured from the scenario's start.
      const holdUntil = exec.scenario.startTime + (RAMP + HOLD) * 1000;
      setTimeout(() => client.end(), Math.max(1000, holdUntil - Date.now()));
    },
    { keepalive: KEEPALIVE, clean_session: true, connect_timeout: 10000 },
  );
}
