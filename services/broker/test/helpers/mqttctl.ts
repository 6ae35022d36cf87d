/**
 * The real built `mqttctl` (packages/admin-api) run as a child process against a broker's admin
 * API, for the single-node and the cluster admin tests; and the kick check both make: a connected
 * MQTT.js 5.0 client kicked through mqttctl gets DISCONNECT 0x98, leaves the client list, and a
 * second kick answers NOT_FOUND.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect, serverDisconnect } from './clients.js';

export const MQTTCTL = fileURLToPath(new URL('./mqttctl.js', import.meta.resolve('@mqtt-broker/admin-api')));

/** Why an mqttctl suite cannot run, or false. */
export function mqttctlSkipReason(): string | false {
  return existsSync(MQTTCTL) ? false : 'packages/admin-api is not built';
}

export interface MqttctlRun {
  code: number | null;
  out: string;
  err: string;
  /** Wall time of the whole run. */
  ms: number;
}

/** Runs `mqttctl --server <server> ...args`; SIGKILLed after 15 s (a hung call then fails its test). */
export async function mqttctl(server: string, ...args: string[]): Promise<MqttctlRun> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [MQTTCTL, '--server', server, ...args], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { code, out, err, ms: Date.now() - t0 };
}

/** `mqttctl --json ...args`, which must exit 0; its output parsed. */
export async function mqttctlJson<T>(server: string, ...args: string[]): Promise<T> {
  const r = await mqttctl(server, '--json', ...args);
  assert.equal(r.code, 0, `mqttctl ${args.join(' ')}: ${r.err}`);
  return JSON.parse(r.out) as T;
}

/**
 * Connects an MQTT.js 5.0 client `clientId` to `brokerUrl`, kicks it through `server`, and checks
 * what a user sees: DISCONNECT 0x98, no longer listed, a second kick NOT_FOUND (exit 1). Resolves
 * with the first kick's run for its output.
 */
export async function kickConnected(server: string, brokerUrl: string, clientId: string): Promise<MqttctlRun> {
  const { client } = await connect(brokerUrl, { clientId, protocolVersion: 5 });
  const disconnected = serverDisconnect(client);
  const r = await mqttctl(server, 'kick', clientId);
  assert.equal(r.code, 0, r.err);
  assert.equal((await disconnected).reasonCode, 0x98);
  const listed = await mqttctlJson<{ clients: unknown[] }>(server, 'clients', '--prefix', clientId);
  assert.deepEqual(listed.clients, []);
  const again = await mqttctl(server, 'kick', clientId);
  assert.equal(again.code, 1);
  assert.match(again.err, /NOT_FOUND/);
  return r;
}
