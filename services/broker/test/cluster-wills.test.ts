/**
 * Wills across nodes (docs/cluster.md, "Node failure" and "Drain"): real broker processes on one
 * real redis-server, heartbeat TTL 1 s, drain grace 3 s (DRAIN_WILL_GRACE_SECONDS), and an ACL
 * file on every node.
 *
 * 1. Node death during a Will Delay Interval: clients of node A lose their network, A is killed
 *    with SIGKILL 1 s later. The will with a 3 s delay reaches a subscriber ~3 s after the
 *    disconnect (not before), published by the survivor; the will of a session whose expiry (2 s)
 *    is shorter than its delay (10 s) comes when the session ends; the will of a client that
 *    reconnected to C within the delay never comes; the will of a connected client (user alice)
 *    comes at once, through the survivor's ACL check for alice (the anonymous user may not
 *    publish there), and a client whose user may not publish its will topic gets none.
 * 2. Drain: a 3.1.1 clean client and a 5.0 persistent one that do not come back get their wills
 *    after the grace; a 3.1.1 and a 5.0 client that reconnect elsewhere at once get none.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningRedis, startRedis } from '@mqtt-broker/cluster-redis/testing';
import type { IClientOptions, MqttClient } from 'mqtt';
import { closeAllClients, connect, uid } from './helpers/clients.js';
import { type RunningBroker, startBroker, suiteSkipReason } from './helpers/processes.js';

const skip = suiteSkipReason();
const TTL_MS = 1000;
const GRACE_S = 3;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Every message on `filter`, with its arrival time. */
interface Arrival {
  topic: string;
  payload: string;
  at: number;
}

async function watch(url: string, filter: string): Promise<{ client: MqttClient; got: Arrival[] }> {
  const { client } = await connect(url, { protocolVersion: 5 });
  const got: Arrival[] = [];
  client.on('message', (topic, payload) => got.push({ topic, payload: payload.toString(), at: Date.now() }));
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, got };
}

/** Polls until `topic` arrived (bounded); returns its arrival. */
async function arrival(got: Arrival[], topic: string, timeoutMs: number): Promise<Arrival> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const a = got.find((m) => m.topic === topic);
    if (a !== undefined) return a;
    if (Date.now() > deadline) throw new Error(`no will on ${topic} within ${timeoutMs} ms; got ${got.map((m) => m.topic).join(', ') || 'nothing'}`);
    await sleep(20);
  }
}

function willOf(topic: string, payload: string, delaySeconds?: number): IClientOptions['will'] {
  return { topic, payload: Buffer.from(payload), qos: 1, retain: false, ...(delaySeconds !== undefined ? { properties: { willDelayInterval: delaySeconds } } : {}) };
}

/** Resolves when the client's connection is closed (by the server, for a drain). */
function closedBy(client: MqttClient, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connection not closed')), timeoutMs);
    client.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now());
    });
  });
}

describe('wills across nodes: node death during the Will Delay, drain grace, user name', { skip, timeout: 60_000 }, () => {
  let redis: RunningRedis;
  const nodes: RunningBroker[] = [];
  let env: Record<string, string>;
  let b: RunningBroker;
  let c: RunningBroker;

  before(async () => {
    redis = await startRedis();
    const dir = mkdtempSync(join(tmpdir(), 'wills-'));
    const acl = join(dir, 'acl');
    // anonymous: everything under open/ and reading acl/; alice: may also publish under acl/alice/
    writeFileSync(acl, ['topic readwrite open/#', 'topic read acl/#', 'user alice', 'topic write acl/alice/#', 'user mallory', 'topic read open/#', ''].join('\n'));
    env = { REDIS_URL: redis.url, CLUSTER_HEARTBEAT_TTL_MS: String(TTL_MS), DRAIN_WILL_GRACE_SECONDS: String(GRACE_S), DRAIN_SECONDS: '0', ACL_FILE: acl };
    [b, c] = await Promise.all(['wb', 'wc'].map((id) => startBroker({ env: { ...env, NODE_ID: id } })));
    nodes.push(b, c);
  });

  after(async () => {
    closeAllClients();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  });

  it('a node killed during a Will Delay: the survivor publishes it when due, unless the client came back; with the user name', async (t) => {
    const a = await startBroker({ env: { ...env, NODE_ID: uid('wa') } });
    nodes.push(a);
    const base = uid('k');
    const watcher = await watch(b.url, `open/${base}/#`);
    const aclWatcher = await watch(c.url, `acl/#`);
    const v5 = (clientId: string, expiry: number, will: IClientOptions['will']): IClientOptions => ({ protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: expiry }, will });

    const delayed = (await connect(a.url, v5(`${base}-delayed`, 60, willOf(`open/${base}/delayed`, 'late', 3)))).client;
    const short = (await connect(a.url, v5(`${base}-short`, 2, willOf(`open/${base}/short`, 'session ended', 10)))).client;
    const returns = (await connect(a.url, v5(`${base}-returns`, 60, willOf(`open/${base}/returns`, 'never', 3)))).client;
    const alice = `${base}-alice`;
    await connect(a.url, { protocolVersion: 4, clientId: alice, username: 'alice', will: willOf(`acl/alice/${alice}`, 'alice gone') });
    await connect(a.url, { protocolVersion: 4, clientId: `${base}-mallory`, username: 'mallory', will: willOf(`acl/alice/${base}-mallory`, 'not allowed') });

    // network loss (the server sees the socket close, no DISCONNECT), then the node dies
    const t0 = Date.now();
    for (const cl of [delayed, short, returns]) cl.stream.destroy();
    await sleep(1000);
    a.kill();
    const killedAt = Date.now();
    await sleep(500);
    // reconnects to C within the delay (C waits for the dead node's cleanup before answering)
    const back = await connect(c.url, v5(`${base}-returns`, 60, undefined), 10_000);
    assert.equal(back.connack.sessionPresent, true, 'the session was kept for it');

    const late = await arrival(watcher.got, `open/${base}/delayed`, 8000);
    assert.ok(late.at - t0 >= 2900, `not before its 3 s delay (${late.at - t0} ms after the disconnect)`);
    assert.ok(late.at - t0 < 7000, `soon after its 3 s delay (${late.at - t0} ms after the disconnect)`);
    const shortWill = await arrival(watcher.got, `open/${base}/short`, 1000);
    assert.ok(shortWill.at - t0 >= 1900, `published when the 2 s session ends, not before (${shortWill.at - t0} ms)`);
    assert.ok(shortWill.at - t0 < 6000, `published when the session ends, not at the 10 s delay (${shortWill.at - t0} ms)`);
    const alices = await arrival(aclWatcher.got, `acl/alice/${alice}`, 1000);
    assert.ok(alices.at - killedAt < TTL_MS + 5000, `a connected client's will comes once the node is found dead (${alices.at - killedAt} ms after the kill)`);

    t.diagnostic(`after the disconnect: 3 s-delay will ${late.at - t0} ms, 2 s-session will ${shortWill.at - t0} ms; after the kill: live will ${alices.at - killedAt} ms`);
    // past the returning client's due time plus a margin: its will never came, nor mallory's
    await sleep(Math.max(0, t0 + 3000 + 2000 - Date.now()));
    assert.deepEqual(
      watcher.got.map((m) => `${m.topic}=${m.payload}`).sort(),
      [`open/${base}/delayed=late`, `open/${base}/short=session ended`],
    );
    assert.deepEqual(
      aclWatcher.got.map((m) => `${m.topic}=${m.payload}`),
      [`acl/alice/${alice}=alice gone`],
      'the survivor checked each will against its own user: alice may publish there, mallory may not',
    );
  });

  it('drain: a client that does not come back gets its will after the grace; one that reconnects elsewhere does not', async (t) => {
    const a = await startBroker({ env: { ...env, NODE_ID: uid('wd') } });
    nodes.push(a);
    const base = uid('d');
    const watcher = await watch(b.url, `open/${base}/#`);
    const persistent = (clientId: string, will: IClientOptions['will']): IClientOptions => ({ protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 60 }, will });

    await connect(a.url, { protocolVersion: 4, clientId: `${base}-gone311`, will: willOf(`open/${base}/gone311`, 'gone 3.1.1') });
    await connect(a.url, persistent(`${base}-gone5`, willOf(`open/${base}/gone5`, 'gone 5.0')));
    const back311 = (await connect(a.url, { protocolVersion: 4, clientId: `${base}-back311`, will: willOf(`open/${base}/back311`, 'never') })).client;
    const back5 = (await connect(a.url, persistent(`${base}-back5`, willOf(`open/${base}/back5`, 'never')))).client;

    const closed311 = closedBy(back311, 5000);
    const closed5 = closedBy(back5, 5000);
    const t0 = Date.now();
    const exited = a.stop(10_000);
    // the returning clients reconnect elsewhere as soon as the drain closed their connection
    const [, again] = await Promise.all([
      closed311.then(() => connect(c.url, { protocolVersion: 4, clientId: `${base}-back311` }, 10_000)),
      closed5.then(() => connect(b.url, persistent(`${base}-back5`, undefined), 10_000)),
    ]);
    assert.equal(again.connack.sessionPresent, true);
    assert.equal(await exited, 0, 'clean exit after the drain');

    const gone311 = await arrival(watcher.got, `open/${base}/gone311`, GRACE_S * 1000 + 6000);
    const gone5 = await arrival(watcher.got, `open/${base}/gone5`, GRACE_S * 1000 + 6000);
    for (const w of [gone311, gone5]) {
      assert.ok(w.at - t0 >= GRACE_S * 1000 - 100, `${w.topic}: not before the grace (${w.at - t0} ms after SIGTERM)`);
      assert.ok(w.at - t0 < GRACE_S * 1000 + 5000, `${w.topic}: soon after the grace (${w.at - t0} ms after SIGTERM)`);
    }
    t.diagnostic(`after SIGTERM (grace ${GRACE_S} s): 3.1.1 will ${gone311.at - t0} ms, 5.0 will ${gone5.at - t0} ms`);
    await sleep(Math.max(0, t0 + GRACE_S * 1000 + 2000 - Date.now()));
    assert.deepEqual(
      watcher.got.map((m) => `${m.topic}=${m.payload}`).sort(),
      [`open/${base}/gone311=gone 3.1.1`, `open/${base}/gone5=gone 5.0`],
    );
  });
});
