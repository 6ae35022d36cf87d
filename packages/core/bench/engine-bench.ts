/**
 * Micro benchmark of the engine alone (no sockets): fake connections that count written bytes,
 * publishers fed pre-serialized PUBLISH frames in 64 KiB-ish chunks like a socket would.
 *   node packages/core/dist/bench/engine-bench.js            (all scenarios)
 *   node --cpu-prof packages/core/dist/bench/engine-bench.js fanout-qos0
 */
import { type Packet, PacketType, type ProtocolVersion, type QoS, serialize } from '@mqtt-broker/mqtt-codec';
import { type Broker, type ClientConnection, type ConnectionHandler, createBroker } from '../src/index.js';

class NullConnection implements ClientConnection {
  readonly transport = 'tcp' as const;
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 1;
  readonly bufferedBytes = 0;
  bytes = 0;
  frames = 0;
  onFrame: ((frame: Buffer) => void) | undefined;
  write(frame: Buffer): boolean {
    this.bytes += frame.length;
    this.frames++;
    this.onFrame?.(frame);
    return true;
  }
  end(): void {}
  destroy(): void {}
  pauseReading(): void {}
  resumeReading(): void {}
}

interface Client {
  conn: NullConnection;
  handler: ConnectionHandler;
  version: ProtocolVersion;
}

function client(broker: Broker, id: string, version: ProtocolVersion): Client {
  const conn = new NullConnection();
  const handler = broker.accept(conn);
  handler.onData(serialize({ type: PacketType.CONNECT, protocolName: 'MQTT', protocolVersion: version, clean: true, keepAlive: 0, clientId: id }, version));
  return { conn, handler, version };
}

function send(c: Client, p: Packet): void {
  c.handler.onData(serialize(p, c.version));
}

function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** Chunks of `count` PUBLISH frames, ~64 KiB each. */
function chunks(c: Client, topic: string, payload: Buffer, qos: QoS, count: number): Buffer[] {
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    frames.push(serialize({ type: PacketType.PUBLISH, dup: false, qos, retain: false, topic, packetId: qos > 0 ? (i % 65535) + 1 : undefined, payload }, c.version));
  }
  const out: Buffer[] = [];
  let batch: Buffer[] = [];
  let size = 0;
  for (const f of frames) {
    batch.push(f);
    size += f.length;
    if (size >= 65536) {
      out.push(Buffer.concat(batch));
      batch = [];
      size = 0;
    }
  }
  if (batch.length > 0) out.push(Buffer.concat(batch));
  return out;
}

interface Result {
  name: string;
  delivered: number;
  seconds: number;
}

async function scenario(name: string, publishers: number, subscribers: number, qos: QoS, version: ProtocolVersion, perPublisher: number): Promise<Result> {
  const broker = createBroker({ nodeId: 'bench', version: 'bench', limits: { maxInflight: 65535, maxQueuedMessages: 1_000_000 } });
  const subs: Client[] = [];
  for (let i = 0; i < subscribers; i++) {
    const s = client(broker, `s${i}`, version);
    subs.push(s);
    await settle();
    send(s, { type: PacketType.SUBSCRIBE, packetId: 1, subscriptions: [{ topicFilter: 'bench/+/data', qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    if (qos === 1) {
      // acknowledge every PUBLISH at once, like a fast client
      s.conn.onFrame = (frame) => {
        if (frame[0] >> 4 !== PacketType.PUBLISH) return;
        const topicLength = (frame[2] << 8) | frame[3];
        let off = 2 + 2 + topicLength;
        if (frame[1] & 0x80) off++;
        const id = (frame[off] << 8) | frame[off + 1];
        s.handler.onData(Buffer.from([0x40, 2, id >> 8, id & 0xff]));
      };
    }
  }
  const pubs: Client[] = [];
  for (let i = 0; i < publishers; i++) pubs.push(client(broker, `p${i}`, version));
  await settle();
  const payload = Buffer.alloc(64, 'x');
  const input = pubs.map((p, i) => chunks(p, `bench/${i}/data`, payload, qos, perPublisher));
  const before = subs.reduce((n, s) => n + s.conn.frames, 0);
  const start = process.hrtime.bigint();
  const rounds = Math.max(...input.map((c) => c.length));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < pubs.length; i++) {
      const chunk = input[i][r];
      if (chunk !== undefined) pubs[i].handler.onData(chunk);
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const delivered = subs.reduce((n, s) => n + s.conn.frames, 0) - before;
  await broker.close();
  return { name, delivered, seconds };
}

const scenarios: Array<[string, () => Promise<Result>]> = [
  ['fanout-qos0', () => scenario('fan-out QoS 0, 1 pub -> 100 subs, v4, 64 B', 1, 100, 0, 4, 50_000)],
  ['fanout-qos0-v5', () => scenario('fan-out QoS 0, 1 pub -> 100 subs, v5, 64 B', 1, 100, 0, 5, 50_000)],
  ['fanin-qos0', () => scenario('fan-in QoS 0, 100 pubs -> 1 sub, v4, 64 B', 100, 1, 0, 4, 10_000)],
  ['fanout-qos1', () => scenario('fan-out QoS 1, 1 pub -> 100 subs, v4, 64 B (acked)', 1, 100, 1, 4, 5_000)],
  ['fanin-qos1', () => scenario('fan-in QoS 1, 100 pubs -> 1 sub, v4, 64 B (acked)', 100, 1, 1, 4, 5_000)],
];

const only = process.argv[2];
for (const [key, run] of scenarios) {
  if (only !== undefined && key !== only) continue;
  const results: Result[] = [];
  for (let i = 0; i < 3; i++) results.push(await run());
  results.sort((a, b) => a.delivered / a.seconds - b.delivered / b.seconds);
  const median = results[1];
  console.log(`${median.name}: ${Math.round(median.delivered / median.seconds).toLocaleString('en-US')} msg/s delivered (${median.delivered} in ${median.seconds.toFixed(3)} s)`);
}
