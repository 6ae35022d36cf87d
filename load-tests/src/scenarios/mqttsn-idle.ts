// mqttsn-idle: open `connections` MQTT-SN sessions (each its own UDP socket: CONNECT, CONNACK,
// then silence; keep alive 0, so the gateway never supervises them away) and report the broker's
// memory per session, (VmRSS after - VmRSS before) / sessions, and the CONNACK rate, measured as
// the TCP idle scenario does (measureIdle). The gateway has one socket for all of them, so the
// figure is the session state alone (gateway client, bridge connection, engine session).

import { openSnClients } from '../mqttsn-client.js';
import { measureIdle, tallyOf } from './idle.js';
import { emptyResult, type ScenarioOptions, type ScenarioResult } from './types.js';

/** Sessions not started within this count as failed (the harness kills an idle run after 90 s). */
const OPEN_DEADLINE_MS = 60_000;

export async function runMqttSnIdle(o: ScenarioOptions): Promise<ScenarioResult> {
  const snPort = o.mqttsnPort;
  if (snPort === undefined) {
    const result = emptyResult('mqttsn-idle', null);
    result.errors.push('setup: no MQTT-SN port (--sn-port): the broker has no MQTT-SN gateway');
    return result;
  }
  return measureIdle('mqttsn-idle', o, async () =>
    tallyOf(await openSnClients(o.host, snPort, o.connections, o.clientPrefix, o.connectConcurrency, OPEN_DEADLINE_MS), (c) => c.close()),
  );
}
