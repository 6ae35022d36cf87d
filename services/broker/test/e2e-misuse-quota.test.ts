// Misuse suite, quotas: per-connection messages/s and bytes/s, per-user messages/s (shared by the
// connections of one user name on the node) and CONNECTs per second per source address. A client
// over its quota is cut off (5.0 DISCONNECT 0x96 / 0x97, 3.1.1 closed after QUOTA_GRACE_SECONDS)
// while clients of the same and of another user keep publishing and receiving; a watcher
// subscribed to everything counts what got through, which must stay within what the quota
// allows (burst + rate x the time it took). No assertion on durations: the machine is loaded.
// docs/security.md has the table beside Mosquitto and EMQX.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { metricsText, metricValue, waitUntil } from '@mqtt-broker/test-support';
import mqttPacket, { type IDisconnectPacket, type Packet } from 'mqtt-packet';
import { collect, connect, connectRefused, uid } from './helpers/clients.js';
import { misuseAuthEnv, type Watcher, WATCHER, watchEverything } from './helpers/misuse.js';
import { type RunningBroker, startBroker, suiteSkipReason } from './helpers/processes.js';
import { RawClient, type Version } from './helpers/raw.js';

const skip = suiteSkipReason();
const USERS = { alice: 'alice-pw', bob: 'bob-pw' } as const;

/** Broker environment: the misuse password and ACL files with alice and bob, who may use q/#. */
function quotaEnv(extra: Record<string, string>): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-misuse-quota-'));
  const env = misuseAuthEnv(dir, ['pattern readwrite q/#']);
  for (const [user, password] of Object.entries(USERS)) execFileSync('mosquitto_passwd', ['-b', env.PASSWORD_FILE, user, password]);
  return { ...env, ...extra };
}

/** One write of `n` PUBLISH packets (QoS 0 unless given), as a flooding client sends them. */
function flood(raw: RawClient, version: Version, topic: string, n: number, payload: Buffer, qos: 0 | 1 = 0): void {
  const frames: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const packet = { cmd: 'publish', topic, payload, qos, retain: false, dup: false, ...(qos === 1 ? { messageId: (i % 65000) + 1 } : {}) } as Packet;
    frames.push(mqttPacket.generate(packet, { protocolVersion: version }));
  }
  raw.write(Buffer.concat(frames));
}

async function rawAs(broker: RunningBroker, version: Version, user: keyof typeof USERS): Promise<RawClient> {
  return RawClient.connected(broker.ports.mqtt, version, { clientId: uid(user), username: user, password: Buffer.from(USERS[user]) });
}

/** A client of `user` that publishes `n` QoS 1 messages to its own topic and receives them all back. */
async function unharmed(broker: RunningBroker, user: keyof typeof USERS, n: number): Promise<void> {
  const { client } = await connect(broker.url, { protocolVersion: 5, clientId: uid(user), username: user, password: USERS[user] });
  const topic = uid('q/ok-');
  await client.subscribeAsync(topic, { qos: 1 });
  const got = collect(client, n, 20_000);
  for (let i = 0; i < n; i++) await client.publishAsync(topic, String(i), { qos: 1 });
  assert.equal((await got).length, n, `${user}'s messages all came back`);
  await client.endAsync();
}

async function disconnectCode(raw: RawClient): Promise<number | undefined> {
  return ((await raw.next('disconnect', 20_000)) as IDisconnectPacket).reasonCode;
}

/** At most burst + rate x elapsed (+1 for the clock's rounding) messages or bytes may get through. */
function allowed(rate: number, startedAt: number): number {
  return rate + (rate * (Date.now() - startedAt)) / 1000 + 1;
}

function quotaLogged(broker: RunningBroker, clientIdPrefix: string, quota: string): boolean {
  return broker
    .stdout()
    .split('\n')
    .some((line) => line.includes('"event":"quota_exceeded"') && line.includes(`"quota":"${quota}"`) && line.includes(`"clientId":"${clientIdPrefix}`));
}

async function refusals(broker: RunningBroker, quota: string): Promise<number> {
  return metricValue(await metricsText(broker.ports.http), 'mqtt_quota_refusals_total', `{quota="${quota}"}`);
}

/** A broker with quotaEnv(extra) and a watcher, for the describe block. */
function useQuotaBroker(extra: Record<string, string>): () => { broker: RunningBroker; watcher: Watcher } {
  let broker: RunningBroker | undefined;
  let watcher: Watcher | undefined;
  before(async () => {
    broker = await startBroker({ env: quotaEnv(extra) });
    watcher = await watchEverything(broker.url, WATCHER);
  });
  after(async () => {
    await watcher?.stop();
    await broker?.stop();
  });
  return () => {
    if (broker === undefined || watcher === undefined) throw new Error('broker not started');
    return { broker, watcher };
  };
}

/** A raw client of `user` about to flood a fresh topic under `prefix`, and when it started. */
async function flooder(broker: RunningBroker, version: Version, user: keyof typeof USERS, prefix: string): Promise<{ raw: RawClient; topic: string; startedAt: number }> {
  const raw = await rawAs(broker, version, user);
  return { raw, topic: uid(prefix), startedAt: Date.now() };
}

describe('misuse: quotas per connection', { skip }, () => {
  const RATE = 100;
  const BYTES = 50_000;
  const started = useQuotaBroker({ QUOTA_MESSAGES_PER_SECOND: String(RATE), QUOTA_BYTES_PER_SECOND: String(BYTES), QUOTA_GRACE_SECONDS: '2' });

  it('5.0: a flood over the messages quota gets DISCONNECT 0x96; alice (same user) and bob keep publishing and receiving', async () => {
    const { broker, watcher } = started();
    const { raw, topic, startedAt } = await flooder(broker, 5, 'alice', 'q/flood-');
    const others = Promise.all([unharmed(broker, 'alice', 20), unharmed(broker, 'bob', 20)]);
    flood(raw, 5, topic, 3 * RATE, Buffer.from('x'));
    assert.equal(await disconnectCode(raw), 0x96, 'Message rate too high');
    assert.ok(await raw.closedWithin(5000));
    await others;
    const through = watcher.seen(topic).length;
    assert.ok(through > 0 && through <= allowed(RATE, startedAt), `${through} of ${3 * RATE} flood messages delivered`);
    await waitUntil(() => quotaLogged(broker, 'alice', 'messages'), 10_000, 'log line event quota_exceeded');
    assert.ok(await refusals(broker, 'messages') >= 1);
  });

  it('5.0: over the bytes quota, DISCONNECT 0x97 Quota exceeded', async () => {
    const { broker, watcher } = started();
    const { raw, topic, startedAt } = await flooder(broker, 5, 'bob', 'q/bytes-');
    flood(raw, 5, topic, 10, Buffer.alloc(20_000, 0x61)); // 200 kB against 50 kB/s, 10 messages: under the messages quota
    assert.equal(await disconnectCode(raw), 0x97);
    const bytes = watcher.seen(topic).reduce((sum, m) => sum + m.topic.length + m.payload.length, 0);
    assert.ok(bytes <= allowed(BYTES, startedAt), `${bytes} bytes delivered`);
    assert.ok(await refusals(broker, 'bytes') >= 1);
  });

  it('3.1.1: over quota, the excess is dropped but acknowledged; still over after QUOTA_GRACE_SECONDS, the connection is closed', async () => {
    const { broker, watcher } = started();
    const { raw, topic, startedAt } = await flooder(broker, 4, 'alice', 'q/old-');
    flood(raw, 4, topic, 3 * RATE, Buffer.from('x'), 1);
    for (let i = 0; i < 3 * RATE; i++) await raw.next('puback', 20_000); // each one acknowledged, dropped or not
    assert.equal(raw.isClosed, false, 'not closed at once: within its grace');
    const others = unharmed(broker, 'alice', 10);
    // keep it over: 50 messages every 100 ms against 100/s, until the broker closes it
    const deadline = Date.now() + 60_000;
    while (!raw.isClosed && Date.now() < deadline) {
      flood(raw, 4, topic, 50, Buffer.from('x'));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(raw.isClosed, 'closed after the grace');
    await others;
    const through = watcher.seen(topic).length;
    assert.ok(through <= allowed(RATE, startedAt), `${through} delivered`);
    const text = await metricsText(broker.ports.http);
    assert.ok(metricValue(text, 'mqtt_messages_dropped_total', '{qos="1",reason="rate_limited"}') >= 1, 'dropped during the grace, counted');
    assert.ok(metricValue(text, 'mqtt_disconnects_total', '{cause="quota_exceeded"}') >= 3);
  });
});

describe('misuse: quota per user', { skip }, () => {
  const RATE = 100;
  const started = useQuotaBroker({ QUOTA_USER_MESSAGES_PER_SECOND: String(RATE) });

  it("two connections of alice share her quota (each under it alone): the second gets 0x96; bob's is his own", async () => {
    const { broker, watcher } = started();
    const topic = uid('q/user-');
    const first = await rawAs(broker, 5, 'alice');
    const second = await rawAs(broker, 5, 'alice');
    const bob = await rawAs(broker, 5, 'bob');
    const startedAt = Date.now();
    flood(first, 5, topic, 80, Buffer.from('1'), 1);
    for (let i = 0; i < 80; i++) await first.next('puback', 20_000);
    flood(second, 5, topic, 80, Buffer.from('2'));
    flood(bob, 5, uid('q/bob-'), 80, Buffer.from('b'), 1);
    assert.equal(await disconnectCode(second), 0x96);
    for (let i = 0; i < 80; i++) await bob.next('puback', 20_000);
    assert.equal(bob.isClosed, false, 'bob is under his own quota');
    const through = watcher.seen(topic).length;
    assert.ok(through >= 80 && through <= allowed(RATE, startedAt), `${through} of alice's 160 delivered`);
    await waitUntil(() => quotaLogged(broker, 'alice', 'user_messages'), 10_000, 'log line names the user quota');
    for (const raw of [first, bob]) raw.destroy();
  });
});

describe('misuse: CONNECT rate per source address', { skip }, () => {
  let broker: RunningBroker;

  before(async () => {
    broker = await startBroker({ env: { CONNECT_RATE_PER_ADDRESS: '2', LOG_LEVEL: 'info' } });
  });
  after(async () => broker?.stop());

  for (const version of [5, 4] as const) {
    it(`v${version}: a burst of CONNECTs from one address is refused beyond the rate (${version === 5 ? 'CONNACK 0x9F' : 'closed'})`, async () => {
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, () => connectRefused(broker.url, { protocolVersion: version, clientId: uid('burst') }).catch(() => 'accepted' as const)),
      );
      const refused = outcomes.filter((o) => o === (version === 5 ? 0x9f : 'closed')).length;
      assert.ok(refused >= 1, `refused: ${JSON.stringify(outcomes)}`);
      assert.ok(outcomes.every((o) => o === 'accepted' || o === (version === 5 ? 0x9f : 'closed')), JSON.stringify(outcomes));
      await waitUntil(async () => (await refusals(broker, 'connect_rate')) >= refused, 10_000, 'every refusal counted');
    });
  }
});
