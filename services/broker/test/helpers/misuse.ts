/**
 * Helpers of the misuse suites (e2e-misuse-*.test.ts): a watcher that sees everything, and a
 * refused CONNECT that also tries to slip a PUBLISH in behind it, so that each case can assert
 * both the refusal the client sees and that nothing it sent was delivered.
 */
import assert from 'node:assert/strict';
import mqttPacket, { type IConnackPacket, type IConnectPacket, type Packet } from 'mqtt-packet';
import { connect, type Received } from './clients.js';
import { RawClient, type Version } from './raw.js';

export interface Watcher {
  /** Messages received so far whose topic starts with `prefix`. */
  seen(prefix: string): Received[];
  stop(): Promise<void>;
}

/** A client allowed to read everything (`#` and `$SYS/#`), collecting every message it gets. */
export async function watchEverything(url: string, options: { username: string; password: string }): Promise<Watcher> {
  const { client } = await connect(url, { protocolVersion: 5, clientId: `watcher-${process.pid}-${Date.now()}`, ...options });
  await client.subscribeAsync(['#'], { qos: 1 });
  const got: Received[] = [];
  client.on('message', (topic, payload, packet) => got.push({ topic, payload, packet }));
  return {
    seen: (prefix) => got.filter((m) => m.topic.startsWith(prefix)),
    stop: () => client.endAsync(),
  };
}

/**
 * Sends CONNECT and, in the same write, a QoS 0 PUBLISH on `leakTopic`; resolves with the CONNACK
 * code (3.1.1 return code or 5.0 reason code) and whether the broker then closed the socket.
 */
export async function refusedConnect(port: number, version: Version, connect: Partial<IConnectPacket>, leakTopic: string): Promise<{ code: number; closed: boolean }> {
  const raw = await RawClient.open(port, version);
  const connectPacket = { cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId: '', ...connect } as Packet;
  const publish = { cmd: 'publish', topic: leakTopic, payload: Buffer.from('leak'), qos: 0, retain: false, dup: false } as Packet;
  raw.write(Buffer.concat([mqttPacket.generate(connectPacket, { protocolVersion: version }), mqttPacket.generate(publish, { protocolVersion: version })]));
  const connack = (await raw.next('connack')) as IConnackPacket;
  const code = connack.reasonCode ?? connack.returnCode ?? 0;
  const closed = await raw.closedWithin(2000);
  raw.destroy();
  return { code, closed };
}

/** Waits `ms` and asserts the watcher got nothing under `prefix` (the window something must not happen in). */
export async function assertNothingDelivered(watcher: Watcher, prefix: string, ms = 300): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  assert.deepEqual(
    watcher.seen(prefix).map((m) => m.topic),
    [],
    `nothing may be delivered under ${prefix}`,
  );
}
