/**
 * The body of cluster-reconnect-qos1/qos2.test.ts (issue 8, part 1): a node is killed while a
 * publisher keeps sending, and its persistent subscriber comes back on another node at a chosen
 * moment. Real broker processes on one real redis-server, MQTT.js clients (v3.1.1, clean session
 * false, one client instance throughout so that its QoS 2 state survives the move).
 *
 * When the subscriber reconnects, and where:
 * - `at-once`: as soon as its connection to A closes (a few ms after the kill), to C, while A's
 *   heartbeat is still alive: C must wait for A to be declared dead and for a survivor to restore
 *   the session, then answer within the heartbeat TTL + 1 s of the kill;
 * - `after-ttl`: 200 ms after the heartbeat TTL, to C, while a survivor is cleaning up;
 * - `after-ttl-other`: the same moment, to the survivor that is not cleaning up (the holder of the
 *   cleanup lock then hands the session it is adopting over while its drain runs: the path that
 *   let through 4-326 QoS 2 duplicates, hit by `after-ttl` only when B happened to adopt);
 * - `adopter` / `other`: once A is cleaned up (no longer a member), to the survivor that adopted
 *   the session (the holder of A's cleanup lock) or to the other one.
 * The publisher is on B, or on C (the node the client moves to).
 *
 * Asserted: every message whose PUBACK/PUBCOMP the publisher got reaches the subscriber, session
 * present on the new node, and for QoS 2 no message twice. A client offline through the whole
 * failover (`after-ttl`, `adopter`, `other`) has a backlog larger than the default queue of 1,000
 * messages at this rate, so those cases raise MAX_QUEUED_MESSAGES: the limit, not the failover,
 * would drop them (counted, docs/cluster.md).
 */
import assert from 'node:assert/strict';
import { type RunningRedis, redisCli, startRedis } from '@mqtt-broker/cluster-redis/testing';
import mqtt, { type MqttClient } from 'mqtt';
import { awaitRoute, notProbe } from './cluster-ops-support.js';
import { connect } from './helpers/clients.js';
import { type RunningBroker, sleep, startBroker } from './helpers/processes.js';

export const TTL_MS = 2000;
/** About 500 messages per second, published for this long before and after the kill. */
const GAP_MS = 2;
const BEFORE_KILL_MS = 1500;
const AFTER_KILL_MS = TTL_MS + 2500;

export type When = 'at-once' | 'after-ttl' | 'after-ttl-other' | 'adopter' | 'other';

export interface ReconnectCase {
  qos: 1 | 2;
  when: When;
  /** Where the publisher is: a third node (B), or the node the client moves to (C). */
  publisherOn: 'third' | 'target';
}

export interface ReconnectResult {
  acked: number;
  missing: string[];
  duplicates: string[];
  /** ms from the kill to the CONNACK on the new node. */
  connackAfterKillMs: number;
  sessionPresent: boolean;
  target: string;
  adopter: string;
  publisher: string;
  /** Sequence number of the first message published after the kill. */
  killSeq: number;
}

export function caseName(c: ReconnectCase): string {
  if (c.when === 'after-ttl-other') return `QoS ${c.qos}, reconnect after-ttl to the survivor not cleaning up, publisher on B`;
  return `QoS ${c.qos}, reconnect ${c.when}, publisher on ${c.publisherOn === 'third' ? 'a third node' : 'the node the client moves to'}`;
}

/** One redis-server for a test file; `run` starts three fresh nodes per case on it. */
export class ReconnectBench {
  private redis: RunningRedis | undefined;
  private readonly nodes: RunningBroker[] = [];
  private readonly clients: MqttClient[] = [];
  private n = 0;

  async run(c: ReconnectCase): Promise<ReconnectResult> {
    this.redis ??= await startRedis();
    const redis = this.redis;
    const tag = `rc${process.pid}-${this.n++}`;
    const offlineThroughout = c.when !== 'at-once';
    const env = (id: string) => ({
      REDIS_URL: redis.url,
      NODE_ID: `${tag}-${id}`,
      CLUSTER_HEARTBEAT_TTL_MS: String(TTL_MS),
      DRAIN_SECONDS: '1',
      ...(offlineThroughout ? { MAX_QUEUED_MESSAGES: '100000' } : {}),
    });
    const [a, b, cNode] = await Promise.all(['a', 'b', 'c'].map((id) => startBroker({ env: env(id) })));
    this.nodes.push(a, b, cNode);
    const byId = new Map([
      [`${tag}-b`, b],
      [`${tag}-c`, cNode],
    ]);
    const topic = `${tag}/data`;

    // the subscriber: one MQTT.js client, reconnected by hand (where and when the case says)
    const sub = mqtt.connect({
      servers: [{ host: '127.0.0.1', port: a.ports.mqtt }],
      clientId: `${tag}-sub`,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 30_000,
      resubscribe: false,
    });
    this.clients.push(sub);
    sub.on('error', () => {});
    const counts = new Map<string, number>();
    sub.on('message', (_t, payload) => {
      if (!notProbe({ payload })) return;
      const p = payload.toString();
      counts.set(p, (counts.get(p) ?? 0) + 1);
    });
    let closedAt = 0;
    sub.on('close', () => {
      closedAt ||= Date.now();
    });
    await new Promise<void>((resolve, reject) => {
      sub.once('connect', () => resolve());
      setTimeout(() => reject(new Error('subscriber did not connect to A')), 15_000).unref();
    });
    await sub.subscribeAsync(topic, { qos: c.qos });
    const pubNode = c.publisherOn === 'third' ? b : cNode;
    const pub = (await connect(pubNode.url, { protocolVersion: 4 })).client;
    this.clients.push(pub);
    await awaitRoute(pub, sub, topic);

    // publish throughout; kill A after BEFORE_KILL_MS
    const acked = new Set<string>();
    const sends: Array<Promise<unknown>> = [];
    let killedAt = 0;
    let killSeq = 0;
    const t0 = Date.now();
    const publishing = (async () => {
      for (let i = 0; Date.now() - t0 < BEFORE_KILL_MS + AFTER_KILL_MS && i < 10_000; i++) {
        if (killedAt === 0 && Date.now() - t0 >= BEFORE_KILL_MS) {
          a.kill();
          killedAt = Date.now();
          killSeq = i;
        }
        const payload = String(i);
        sends.push(pub.publishAsync(topic, payload, { qos: c.qos }).then(() => acked.add(payload), () => {}));
        await sleep(GAP_MS);
      }
    })();

    // reconnect where and when the case says
    while (killedAt === 0 || closedAt === 0) await sleep(5);
    let target: RunningBroker = cNode;
    let adopter = '';
    const lockKey = `mqtt:{n:${tag}-a}:cleanup`;
    if (c.when === 'after-ttl' || c.when === 'after-ttl-other') await sleep(Math.max(0, killedAt + TTL_MS + 200 - Date.now()));
    if (c.when === 'after-ttl-other') {
      // the cleanup lock is taken within a poll of the heartbeat's expiry (bounded wait)
      const deadline = Date.now() + 5000;
      while ((adopter = (await redisCli(redis.port, 'GET', lockKey)).trim()) === '' && Date.now() < deadline) await sleep(20);
      target = adopter === `${tag}-c` ? b : cNode;
    }
    if (c.when === 'adopter' || c.when === 'other') {
      const deadline = Date.now() + 4 * TTL_MS + 10_000;
      while ((await redisCli(redis.port, 'ZSCORE', 'mqtt:members', `${tag}-a`)).trim() !== '' && Date.now() < deadline) await sleep(50);
      adopter = (await redisCli(redis.port, 'GET', lockKey)).trim();
      const other = adopter === `${tag}-b` ? cNode : b;
      target = c.when === 'adopter' ? (byId.get(adopter) ?? cNode) : other;
    }
    const connacked = new Promise<{ at: number; sessionPresent: boolean }>((resolve) => {
      sub.once('connect', (ck) => resolve({ at: Date.now(), sessionPresent: ck.sessionPresent }));
    });
    sub.options.servers = [{ host: '127.0.0.1', port: target.ports.mqtt }];
    // the same stores: reconnect() without them starts the client with empty ones, and a PUBREL
    // the new node resends for a QoS 2 message received before the kill would then be ignored
    sub.reconnect({ incomingStore: sub.incomingStore, outgoingStore: sub.outgoingStore });
    const connack = await Promise.race([connacked, sleep(4 * TTL_MS + 20_000).then(() => ({ at: 0, sessionPresent: false }))]);
    adopter ||= (await redisCli(redis.port, 'GET', lockKey)).trim();

    await publishing;
    await Promise.race([Promise.all(sends), sleep(20_000)]);
    const missingNow = () => [...acked].filter((p) => !counts.has(p));
    const deadline = Date.now() + 20_000;
    while (missingNow().length > 0 && Date.now() < deadline) await sleep(50);
    await sleep(300); // a late duplicate would show up now
    const result: ReconnectResult = {
      acked: acked.size,
      missing: missingNow(),
      duplicates: [...counts].filter(([, k]) => k > 1).map(([p]) => p),
      connackAfterKillMs: connack.at === 0 ? Number.POSITIVE_INFINITY : connack.at - killedAt,
      sessionPresent: connack.sessionPresent,
      target: target === b ? 'B' : 'C',
      adopter: adopter === `${tag}-b` ? 'B' : adopter === `${tag}-c` ? 'C' : adopter,
      publisher: pubNode === b ? 'B' : 'C',
      killSeq,
    };
    sub.end(true);
    pub.end(true);
    await Promise.all([b.stop(), cNode.stop()]);
    return result;
  }

  /** Asserts what a user would notice (and prints the counts, docs/cluster.md quotes them). */
  static check(c: ReconnectCase, r: ReconnectResult): void {
    console.log(
      `# ${caseName(c)}: ${r.acked} acknowledged, missing ${r.missing.length}, duplicates ${r.duplicates.length}, moved to ${r.target} (adopter ${r.adopter}, publisher on ${r.publisher}), CONNACK ${r.connackAfterKillMs} ms after the kill; first after the kill: ${r.killSeq}, missing ${r.missing.slice(0, 10).join(',')}, duplicated ${r.duplicates.slice(0, 10).join(',')}`,
    );
    // ~500 msg/s intended; on a loaded machine the publisher manages less: enough to cover the kill
    assert.ok(r.acked > 500 && r.acked - r.killSeq > 250, `messages acknowledged before and after the kill (${r.acked}, ${r.killSeq} before it)`);
    assert.ok(r.sessionPresent, 'session present on the new node');
    assert.deepEqual(r.missing.slice(0, 20), [], `every acknowledged message delivered (${r.missing.length} missing)`);
    if (c.qos === 2) assert.deepEqual(r.duplicates.slice(0, 20), [], `QoS 2: no message delivered twice (${r.duplicates.length})`);
    if (c.when === 'at-once') assert.ok(r.connackAfterKillMs <= TTL_MS + 1000, `CONNACK within the heartbeat TTL + 1 s of the kill (${r.connackAfterKillMs} ms)`);
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.end(true);
    await Promise.all(this.nodes.map((n) => n.stop()));
    await this.redis?.stop();
  }
}

/** The cases of one QoS, in the order the test files run them. */
export function casesFor(qos: 1 | 2): ReconnectCase[] {
  return [
    { qos, when: 'at-once', publisherOn: 'third' },
    { qos, when: 'at-once', publisherOn: 'target' },
    { qos, when: 'after-ttl', publisherOn: 'third' },
    { qos, when: 'after-ttl', publisherOn: 'target' },
    { qos, when: 'after-ttl-other', publisherOn: 'third' },
    { qos, when: 'adopter', publisherOn: 'third' },
    { qos, when: 'other', publisherOn: 'third' },
  ];
}
