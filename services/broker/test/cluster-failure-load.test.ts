/**
 * The cost of durable cross-node QoS 1 (docs/cluster.md, "Durable QoS 1/2"): two broker
 * processes on one redis-server, publishers on A, subscribers on B; Redis commands counted with
 * INFO commandstats over a burst, per forwarded message. Batching makes this a small fraction:
 * one XADD per destination node per event-loop turn on A; one XREADGROUP per up to 20 entries,
 * and one MULTI (XACK, XDEL, plus SET/SADD per persistent session that received a copy) per entry on B.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningRedis, redisCli, startRedis } from '@mqtt-broker/cluster-redis/testing';
import { awaitRoute, notProbe } from './cluster-ops-support.js';
import { closeAllClients, connect, uid } from './helpers/clients.js';
import { type RunningBroker, startBroker, suiteSkipReason } from './helpers/processes.js';

const skip = suiteSkipReason();

async function totalCommands(port: number): Promise<Map<string, number>> {
  const info = await redisCli(port, 'INFO', 'commandstats');
  const out = new Map<string, number>();
  for (const m of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) out.set(m[1], Number(m[2]));
  return out;
}

function delta(before: Map<string, number>, after: Map<string, number>): { total: number; by: string } {
  let total = 0;
  const parts: string[] = [];
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d <= 0 || k === 'info') continue;
    total += d;
    parts.push(`${k}=${d}`);
  }
  return { total, by: parts.join(' ') };
}

describe('durable cross-node QoS 1: Redis commands per forwarded message', { skip, timeout: 60_000 }, () => {
  let redis: RunningRedis;
  let a: RunningBroker;
  let b: RunningBroker;

  before(async () => {
    redis = await startRedis();
    a = await startBroker({ env: { REDIS_URL: redis.url, NODE_ID: 'load-a' } });
    b = await startBroker({ env: { REDIS_URL: redis.url, NODE_ID: 'load-b' } });
  });

  after(async () => {
    closeAllClients();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  for (const persistent of [false, true]) {
    it(`${persistent ? 'persistent' : 'clean'} subscribers on B, 4 publishers on A, 20,000 QoS 1 messages`, async () => {
      const base = uid('load');
      const perPublisher = 5000;
      const subs = [];
      let received = 0;
      for (let i = 0; i < 2; i++) {
        const sub = (await connect(b.url, persistent ? { clientId: `${base}-s${i}`, clean: false } : {})).client;
        sub.on('message', (_t, payload) => {
          if (notProbe({ payload })) received++;
        });
        await sub.subscribeAsync(`${base}/#`, { qos: 1 });
        subs.push(sub);
      }
      const pubs = [];
      for (let i = 0; i < 4; i++) pubs.push((await connect(a.url)).client);
      for (const sub of subs) await awaitRoute(pubs[0], sub, `${base}/0`); // A routes the filter to B
      const before = await totalCommands(redis.port);
      const t0 = Date.now();
      await Promise.all(pubs.map((p, i) => Promise.all(Array.from({ length: perPublisher }, (_, k) => p.publishAsync(`${base}/${i}`, String(k), { qos: 1 })))));
      const acked = Date.now() - t0;
      const expected = 2 * 4 * perPublisher;
      const deadline = Date.now() + 30_000;
      while (received < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const done = Date.now() - t0;
      await new Promise((r) => setTimeout(r, 200)); // last commits
      const d = delta(before, await totalCommands(redis.port));
      const forwarded = 4 * perPublisher;
      const perMessage = d.total / forwarded;
      console.log(
        `# ${persistent ? 'persistent' : 'clean'}: ${forwarded} forwarded QoS 1 (x2 subscribers), all acked in ${acked} ms, delivered in ${done} ms (${Math.round((forwarded * 1000) / done)} msg/s); Redis commands ${d.total} = ${perMessage.toFixed(3)} per forwarded message (${d.by})`,
      );
      assert.equal(received, expected, 'every message delivered to both subscribers');
      assert.ok(perMessage < 0.5, `batched: ${perMessage.toFixed(3)} Redis commands per forwarded message`);
      for (const s of subs) await s.endAsync();
    });
  }
});
