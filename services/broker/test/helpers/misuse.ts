/**
 * Helpers of the misuse suites (e2e-misuse-*.test.ts): a watcher that sees everything, and a
 * refused CONNECT that also tries to slip a PUBLISH in behind it, so that each case can assert
 * both the refusal the client sees and that nothing it sent was delivered.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import mqttPacket, { type IConnackPacket, type IConnectPacket, type Packet } from 'mqtt-packet';
import { connect, type Received } from './clients.js';
import type { RunningBroker } from './processes.js';
import { RawClient, type Version } from './raw.js';

export const WATCHER = { username: 'watcher', password: 'w4tch' } as const;

/**
 * PASSWORD_FILE (user `watcher`, by mosquitto_passwd) and ACL_FILE (watcher reads and writes
 * everything, then `aclLines`) in `dir`, as broker environment with anonymous clients refused.
 */
export function misuseAuthEnv(dir: string, aclLines: readonly string[]): Record<string, string> {
  const passwordFile = join(dir, 'passwd');
  const aclFile = join(dir, 'acl');
  execFileSync('mosquitto_passwd', ['-c', '-b', passwordFile, WATCHER.username, WATCHER.password]);
  writeFileSync(aclFile, [`user ${WATCHER.username}`, 'topic readwrite #', 'topic read $SYS/#', '', ...aclLines, ''].join('\n'));
  return { PASSWORD_FILE: passwordFile, ACL_FILE: aclFile, ALLOW_ANONYMOUS: 'false', LOG_LEVEL: 'info' };
}

/** A watcher connected for the describe block (before/after). */
export function useWatcher(broker: () => RunningBroker): () => Watcher {
  let watcher: Watcher | undefined;
  before(async () => {
    watcher = await watchEverything(broker().url, WATCHER);
  });
  after(async () => watcher?.stop());
  return () => {
    if (watcher === undefined) throw new Error('watcher not connected');
    return watcher;
  };
}

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
