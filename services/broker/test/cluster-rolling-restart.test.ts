/**
 * Issue 5, rolling restarts: redis-server and three broker processes; 30 subscribers and 10
 * publishers (MQTT 5.0, persistent sessions, QoS 1) spread over the nodes by a load balancer
 * mimicked here (least connections over the nodes whose /readyz answers 200, as HAProxy's
 * leastconn with a /readyz check does in deploy/haproxy.cfg). Each node in turn gets SIGTERM,
 * drains, exits and is started again (same NODE_ID, new ports: the balancer learns them) and
 * must pass /readyz before the next one goes. Clients whose node goes away reconnect through the
 * balancer with clean start 0. Afterwards: every message whose PUBACK a publisher got reached
 * every subscriber at least once, every client is connected (subscribers with session present),
 * and no node holds more than twice its fair share of the connections (read from its /metrics).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningRedis, startRedis } from '@mqtt-broker/cluster-redis/testing';
import mqtt, { type MqttClient } from 'mqtt';
import { awaitRoute, metricsText, metricValue, readyStatus, waitUntil } from './cluster-ops-support.js';
import { connect, uid } from './helpers/clients.js';
import { type RunningBroker, sleep, startBroker, suiteSkipReason } from './helpers/processes.js';

const skip = suiteSkipReason();
const NODE_IDS = ['rr1', 'rr2', 'rr3'];
const SUBSCRIBERS = 30;
const PUBLISHERS = 10;
/** Each publisher sends one QoS 1 message, waits for its PUBACK, then pauses this long. */
const PUBLISH_GAP_MS = 50;

interface Slot {
  id: string;
  broker: RunningBroker | null;
  /** Clients the balancer sent here and that are still connected. */
  clients: Set<string>;
}

/** Least connections over the ready nodes; what the test's "load balancer" does for each connect. */
class Balancer {
  readonly slots: Slot[];
  constructor(ids: string[]) {
    this.slots = ids.map((id) => ({ id, broker: null, clients: new Set<string>() }));
  }
  async pick(): Promise<Slot> {
    const ready: Slot[] = [];
    for (const s of this.slots) if (s.broker !== null && !s.broker.exited && (await readyStatus(s.broker.ports.http)) === 200) ready.push(s);
    if (ready.length === 0) throw new Error('no ready node');
    return ready.reduce((a, b) => (b.clients.size < a.clients.size ? b : a));
  }
}

/** A persistent-session client that reconnects through the balancer whenever its connection ends. */
class Device {
  client: MqttClient | null = null;
  connects = 0;
  /** session present of every CONNACK after the first. */
  readonly resumed: boolean[] = [];
  /** Node and time (ms since epoch) of every CONNACK and close, for the loss report. */
  readonly history: Array<{ node: string; at: number; what: 'connack' | 'close' }> = [];
  private stopped = false;
  private connecting: Promise<void> | null = null;
  constructor(
    readonly clientId: string,
    private readonly lb: Balancer,
    private readonly onMessage: (payload: string) => void,
    private readonly onConnected: (first: boolean) => Promise<void>,
  ) {}

  get connected(): boolean {
    return this.client?.connected === true;
  }

  start(): Promise<void> {
    this.connecting ??= this.connectLoop().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async connectLoop(): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!this.stopped) {
      if (Date.now() > deadline) throw new Error(`${this.clientId}: no node accepted it within 20 s`);
      let slot: Slot;
      try {
        slot = await this.lb.pick();
      } catch {
        await sleep(100);
        continue;
      }
      slot.clients.add(this.clientId);
      const ok = await this.connectTo(slot);
      if (ok) return;
      slot.clients.delete(this.clientId);
      await sleep(100);
    }
  }

  private connectTo(slot: Slot): Promise<boolean> {
    return new Promise((resolve) => {
      const client = mqtt.connect(slot.broker!.url, {
        clientId: this.clientId,
        protocolVersion: 5,
        clean: false,
        properties: { sessionExpiryInterval: 600 },
        reconnectPeriod: 0,
        connectTimeout: 3000,
      });
      let settled = false;
      client.on('message', (_t, payload) => this.onMessage(payload.toString()));
      client.on('error', () => {});
      client.once('connect', (connack) => {
        settled = true;
        this.history.push({ node: slot.id, at: Date.now(), what: 'connack' });
        const first = this.connects === 0;
        if (!first) this.resumed.push(connack.sessionPresent);
        this.connects++;
        this.client = client;
        void this.onConnected(first).then(
          () => resolve(true),
          () => resolve(true),
        );
      });
      client.once('close', () => {
        if (settled) this.history.push({ node: slot.id, at: Date.now(), what: 'close' });
        slot.clients.delete(this.clientId);
        if (!settled) {
          settled = true;
          client.end(true);
          resolve(false);
          return;
        }
        if (this.client === client) this.client = null;
        client.end(true);
        if (!this.stopped) this.start().catch(() => {}); // a client left unconnected fails the 'every client back' wait
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.endAsync().catch(() => {});
  }
}

describe('rolling restart of a three-node cluster under QoS 1 load', { skip, timeout: 90_000 }, () => {
  let redis: RunningRedis;
  const lb = new Balancer(NODE_IDS);
  const start = (id: string) => startBroker({ env: { REDIS_URL: redis.url, NODE_ID: id, DRAIN_SECONDS: '1', CLUSTER_HEARTBEAT_TTL_MS: '2000' } });

  before(async () => {
    redis = await startRedis();
    await Promise.all(lb.slots.map(async (s) => (s.broker = await start(s.id))));
  });

  let outcome: { acked: number; lost: number; detail: string[] } | null = null;
  const devices: Device[] = [];

  after(async () => {
    await Promise.all(devices.map((d) => d.stop()));
    await Promise.all(lb.slots.map((s) => s.broker?.stop()));
    await redis?.stop();
  });

  it('under steady load, every client comes back (sessions resumed) and the connections stay balanced', async () => {
    const root = uid('rr');
    const received = Array.from({ length: SUBSCRIBERS }, () => new Set<string>());
    const acked = new Set<string>();
    const ackedAt = new Map<string, number>();
    const events: string[] = [];
    const t00 = Date.now();
    let unacked = 0;
    const subs = received.map(
      (set, i) =>
        new Device(`${root}-s${i}`, lb, (p) => set.add(p), async (first) => {
          if (first) await subs[i].client!.subscribeAsync(`${root}/#`, { qos: 1 });
        }),
    );
    devices.push(...subs);
    for (const s of subs) await s.start();
    // routes visible on every node: a probe published on each node reaches every subscriber (polled, not slept)
    const probes = await Promise.all(lb.slots.map(async (slot) => (await connect(slot.broker!.url)).client));
    for (const probe of probes) for (const s of subs) await awaitRoute(probe, s.client!, `${root}/probe`);
    for (const probe of probes) probe.end(true);
    const pubs = Array.from({ length: PUBLISHERS }, (_, i) => new Device(`${root}-p${i}`, lb, () => {}, async () => {}));
    devices.push(...pubs);
    for (const p of pubs) await p.start();

    let publishing = true;
    const loops = pubs.map(async (p, i) => {
      let seq = 0;
      while (publishing) {
        const c = p.client;
        if (c === null || !c.connected) {
          await sleep(20);
          continue;
        }
        const payload = `${i}:${seq++}`;
        try {
          // a PUBACK that does not come (node draining, connection closed) is not an acknowledgement
          let onClose = (): void => {};
          let timer: NodeJS.Timeout | undefined;
          try {
            await Promise.race([
              c.publishAsync(`${root}/p${i}`, payload, { qos: 1 }),
              new Promise((_, reject) => {
                timer = setTimeout(() => reject(new Error('no PUBACK in 3 s')), 3000);
                onClose = () => reject(new Error('closed'));
                c.once('close', onClose);
              }),
            ]);
          } finally {
            clearTimeout(timer);
            c.off('close', onClose);
          }
          acked.add(payload);
          ackedAt.set(payload, Date.now());
        } catch {
          unacked++;
        }
        await sleep(PUBLISH_GAP_MS);
      }
    });

    const distribution = () => lb.slots.map((s) => `${s.id}=${s.clients.size}`).join(' ');
    console.log(`# before: ${distribution()}`);
    await sleep(2000);
    for (const slot of lb.slots) {
      const t0 = Date.now();
      events.push(`SIGTERM ${slot.id} +${t0 - t00} ms (${[...slot.clients].map((c) => c.slice(root.length + 1)).join(',')})`);
      const code = await slot.broker!.stop(15_000);
      events.push(`${slot.id} exited +${Date.now() - t00} ms`);
      assert.equal(code, 0, `${slot.id} exits 0 after its drain`);
      const drainedMs = Date.now() - t0;
      slot.broker = await start(slot.id);
      const readyMs = Date.now() - t0;
      await waitUntil(() => subs.every((s) => s.connected) && pubs.every((p) => p.connected), 15_000, `clients back after restarting ${slot.id}`);
      console.log(`# restarted ${slot.id}: SIGTERM to exit ${drainedMs} ms, to /readyz ${readyMs} ms, all clients back ${Date.now() - t0} ms; ${distribution()}; acked so far ${acked.size}`);
      await sleep(1500);
    }
    await sleep(1000);
    publishing = false;
    await Promise.all(loops);

    // every acknowledged message at every subscriber (at least once)
    const missing = () => received.reduce((n, set) => n + [...acked].filter((m) => !set.has(m)).length, 0);
    await waitUntil(() => missing() === 0, 10_000, 'all acknowledged messages delivered').catch(() => {});
    const lost = missing();
    const detail = received
      .flatMap((set, i) => [...acked].filter((m) => !set.has(m)).map((m) => `${m} at +${ackedAt.get(m)! - t00} ms not at s${i}`))
      .slice(0, 10);
    if (lost > 0) {
      const who = new Set(received.flatMap((set, i) => ([...acked].some((m) => !set.has(m)) ? [i] : [])));
      const moves = [...who].map((i) => `s${i}: ${subs[i].history.map((h) => `${h.what} ${h.node} +${h.at - t00}`).join(', ')}`);
      console.log(`# missing: ${detail.join('; ')}\n# events: ${events.join('; ')}\n# moves: ${moves.join(' | ')}`);
    }
    console.log(`# ${acked.size} acknowledged messages (${unacked} without PUBACK) x ${SUBSCRIBERS} subscribers; missing deliveries ${lost}`);
    outcome = { acked: acked.size, lost, detail };
    assert.ok(acked.size > 1000, `steady load: ${acked.size} acknowledged`);

    // every client reconnected; subscribers resumed their sessions
    assert.ok(subs.every((s) => s.connected) && pubs.every((p) => p.connected), 'every client connected');
    const moved = [...subs, ...pubs].filter((d) => d.connects > 1);
    assert.ok(moved.length >= SUBSCRIBERS + PUBLISHERS, `every client moved at least once (${moved.length})`);
    for (const s of subs) assert.ok(s.resumed.every(Boolean), `${s.clientId} resumed with session present: ${s.resumed}`);

    // balance, as the nodes report it
    const counts = await Promise.all(lb.slots.map(async (s) => metricValue(await metricsText(s.broker!.ports.http), 'mqtt_connected_clients')));
    const fair = (SUBSCRIBERS + PUBLISHERS) / lb.slots.length;
    console.log(`# connections at the end per node (/metrics): ${counts.join(' ')}; fair share ${fair.toFixed(1)}`);
    assert.equal(counts.reduce((a, b) => a + b, 0), SUBSCRIBERS + PUBLISHERS);
    for (const n of counts) assert.ok(n <= 2 * fair, `${n} connections on one node > twice the fair share ${fair.toFixed(1)}`);
  });

  // A draining node leaves as a dead node does, announced (docs/cluster.md, "Drain"): its routes
  // stay until a survivor has adopted its saved sessions and re-routed them, and the survivor
  // drains what was appended to its inbox meanwhile. Before that: 0-18 of ~66k deliveries lost
  // per run, every one acknowledged between a node's SIGTERM and its exit.
  it('no acknowledged message lost', () => {
    assert.ok(outcome !== null, 'the rolling restart ran');
    assert.equal(outcome.lost, 0, `missing deliveries: ${outcome.detail.join('; ')}`);
  });
});
