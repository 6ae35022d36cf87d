/**
 * Takeover under load (docs/cluster.md, "Takeover without a gap"): a persistent subscriber moves
 * between nodes A and C 4 times (MOVE_EVERY_MS apart, default 1 s) while a publisher on B sends
 * at 1 msg/ms. Two ways of moving:
 * - 'takeover': a new connection on the other node while the old one is still open (the old node
 *   closes it with 0x8E), as a device whose previous connection is half-open;
 * - 'reconnect': the connection drops and the same MQTT.js client reconnects to the other server.
 * The client keeps its session state across connections (with 'takeover' the successive MQTT.js
 * clients share one incoming store, as one device would), so every acknowledged message must reach
 * the application: QoS 1 at least once (duplicates counted, allowed), QoS 2 exactly once.
 *
 * What the application sees twice (MQTT.js 5, handlers/publish.js and pubrel.js): a QoS 2 PUBLISH
 * is stored by packet id and emitted on its PUBREL; a resend with the same id before the PUBREL
 * replaces the stored copy, and a PUBREL for an id no longer stored emits nothing. So a duplicate
 * is one message delivered in two PUBLISH/PUBREL exchanges: two copies in the session (different
 * packet ids), or a PUBLISH sent again after its PUBREL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningRedis, startRedis } from '@mqtt-broker/cluster-redis/testing';
import mqtt, { type IClientOptions, type IStore, type MqttClient, Store } from 'mqtt';
import { closeAllClients, connect, uid } from './helpers/clients.js';
import { type RunningBroker, startBroker, suiteSkipReason } from './helpers/processes.js';

const skip = suiteSkipReason();
const MOVE_EVERY_MS = Number(process.env.MOVE_EVERY_MS ?? 1000);
const MOVES = 4;

type Move = 'takeover' | 'reconnect';
const CASES: ReadonlyArray<{ qos: 1 | 2; move: Move }> = [
  { qos: 1, move: 'takeover' },
  { qos: 2, move: 'reconnect' },
  { qos: 2, move: 'takeover' },
];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `done` every 10 ms until it holds; false past `ms`. */
async function until(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

/** One store for successive clients of one device: closing a client must not close it. */
function keptOpen(store: Store): IStore {
  const kept: IStore = {
    put(packet, cb) {
      store.put(packet, cb);
      return kept;
    },
    createStream: () => store.createStream(),
    del(packet, cb) {
      store.del(packet, cb);
      return kept;
    },
    get(packet, cb) {
      store.get(packet, cb);
      return kept;
    },
    close: (cb) => cb(),
  };
  return kept;
}

/** The subscribing device: one session, moved between two nodes. */
class Device {
  connects = 0;
  private readonly clients: MqttClient[] = [];
  /** The reason code of the DISCONNECT each client got from the broker. */
  private readonly disconnectReasons = new Map<MqttClient, number>();
  private readonly incomingStore = keptOpen(new Store());

  constructor(
    private readonly clientId: string,
    private readonly move: Move,
    private readonly nodes: [RunningBroker, RunningBroker],
    private readonly onPayload: (payload: string) => void,
  ) {}

  get client(): MqttClient {
    return this.clients[this.clients.length - 1];
  }

  private open(options: IClientOptions): MqttClient {
    const client = mqtt.connect({
      clientId: this.clientId,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 600 },
      resubscribe: false,
      incomingStore: this.incomingStore,
      ...options,
    });
    client.on('message', (_t, payload) => this.onPayload(payload.toString()));
    client.on('connect', () => this.connects++);
    client.on('disconnect', (packet) => this.disconnectReasons.set(client, packet.reasonCode ?? 0));
    client.on('error', () => {});
    this.clients.push(client);
    return client;
  }

  async start(): Promise<void> {
    const [a, c] = this.nodes;
    if (this.move === 'reconnect') {
      const servers = [a, c].map((n) => ({ host: '127.0.0.1', port: n.ports.mqtt }));
      this.open({ servers, reconnectPeriod: 20 }); // each reconnect goes to the next server
    } else {
      this.open({ host: '127.0.0.1', port: a.ports.mqtt, reconnectPeriod: 0 });
    }
    assert.ok(await until(() => this.connects === 1, 8000), 'first CONNACK');
  }

  /** Moves the session to the other node (move number `n`, from 0). */
  async moveNext(n: number): Promise<void> {
    const before = this.connects;
    if (this.move === 'reconnect') {
      this.client.stream.destroy();
    } else {
      this.open({ host: '127.0.0.1', port: this.nodes[n % 2 === 0 ? 1 : 0].ports.mqtt, reconnectPeriod: 0 });
    }
    assert.ok(await until(() => this.connects > before, 8000), `CONNACK on move ${n + 1}`);
    if (this.move === 'reconnect') return;
    const old = this.clients[this.clients.length - 2];
    await until(() => this.disconnectReasons.has(old), 5000);
    assert.equal(this.disconnectReasons.get(old), 0x8e, 'the old connection is closed with Session taken over [MQTT-3.1.4-3]');
    old.end(true);
  }

  close(): void {
    for (const client of this.clients) {
      client.options.reconnectPeriod = 0;
      client.end(true);
    }
  }
}

describe('takeover under load', { skip, timeout: 150_000 }, () => {
  let redis: RunningRedis;
  const nodes: RunningBroker[] = [];
  const devices: Device[] = [];

  before(async () => {
    redis = await startRedis();
    for (const id of ['a', 'b', 'c']) nodes.push(await startBroker({ env: { REDIS_URL: redis.url, NODE_ID: `tk-${id}` } }));
  });

  after(async () => {
    for (const d of devices) d.close();
    closeAllClients();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  });

  for (const { qos, move } of CASES) {
    const name = `QoS ${qos}, ${move}: a persistent subscriber moving A <-> C ${MOVES} times mid-flow gets every acknowledged message ${qos === 2 ? 'exactly once' : 'at least once'}`;
    it(name, { timeout: 45_000 }, async () => {
      const [a, b, c] = nodes;
      const base = uid('tk');
      const topic = `${base}/t`;
      const received = new Map<string, number>();
      let deliveries = 0;
      const device = new Device(`${base}-s`, move, [a, c], (p) => {
        deliveries++;
        received.set(p, (received.get(p) ?? 0) + 1);
      });
      devices.push(device);
      try {
        await device.start();
        await device.client.subscribeAsync(topic, { qos });
        await sleep(300); // the route reaches B's replica
        const pub = (await connect(b.url, { protocolVersion: 5 })).client;
        const acked = new Set<string>();
        let stop = false;
        const flow = (async () => {
          for (let i = 0; !stop; i++) {
            const p = String(i);
            pub.publishAsync(topic, p, { qos }).then(
              () => acked.add(p),
              () => {},
            );
            await sleep(1);
          }
        })();
        for (let n = 0; n < MOVES; n++) {
          await sleep(MOVE_EVERY_MS);
          await device.moveNext(n);
        }
        await sleep(300);
        stop = true;
        await flow;
        // every acknowledged message arrives, then nothing more for 1 s (a late duplicate would show)
        await until(() => [...acked].every((p) => received.has(p)), 15_000);
        for (let last = -1, deadline = Date.now() + 15_000; deliveries !== last && Date.now() < deadline; ) {
          last = deliveries;
          await sleep(1000);
        }
        const missing = [...acked].filter((p) => !received.has(p));
        const dups = [...received].filter(([, k]) => k > 1).map(([p]) => p);
        console.log(
          `# takeover under load, QoS ${qos}, ${move}, moves ${MOVE_EVERY_MS} ms apart: ${device.connects} connections, ${acked.size} acknowledged, ${received.size} distinct received, ${dups.length} duplicates, ${missing.length} missing`,
        );
        assert.deepEqual(missing, [], 'every acknowledged message delivered');
        if (qos === 2) assert.deepEqual(dups, [], 'no QoS 2 message delivered twice');
      } finally {
        device.close();
      }
    });
  }
});
