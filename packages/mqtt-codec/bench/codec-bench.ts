/**
 * Codec throughput, ours against mqtt-packet 9 in the same process and run.
 *
 * Parse: a stream of 2,000 packets fed in 64 KiB chunks (as a socket delivers them, so some
 * packets span chunks). A server parser takes exactly one CONNECT, so the CONNECT case uses a
 * new parser of ours per packet (what a broker does per connection) but one long-lived
 * mqtt-packet parser (its best case). Serialize: one packet object serialized repeatedly.
 * Fan-out: a QoS 1 PUBLISH encoded once, then one `withPacketId` copy per subscriber, against
 * mqtt-packet generating each subscriber's packet.
 * Ours and theirs run alternately (RUNS pairs of ~100 ms after a warm-up) so both see the same
 * machine load; rates are medians, the ratio is the median of the per-pair ratios, and MB/s
 * counts wire bytes.
 */
import mqttPacket from 'mqtt-packet';
import { encodePublish, type Packet, PacketParser, type ProtocolVersion, serialize, withPacketId } from '../src/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const RUN_MS = 100;
const CHUNK = 64 * 1024;
const STREAM_PACKETS = 2000;

interface Case {
  name: string;
  level: ProtocolVersion;
  packet: Packet;
}

const publish = (qos: 0 | 1, size: number): Packet => ({
  type: 3,
  dup: false,
  qos,
  retain: false,
  topic: 'devices/sensor-0042/telemetry',
  ...(qos === 1 ? { packetId: 4242 } : {}),
  payload: Buffer.alloc(size, 0x61),
});

const connectV5: Packet = {
  type: 1,
  protocolName: 'MQTT',
  protocolVersion: 5,
  clean: true,
  keepAlive: 60,
  clientId: 'bench-client-000001',
  username: 'user',
  password: Buffer.from('secret'),
  properties: {
    sessionExpiryInterval: 3600,
    receiveMaximum: 100,
    maximumPacketSize: 1_048_576,
    topicAliasMaximum: 16,
    requestProblemInformation: 1,
    userProperties: [
      ['region', 'eu-west-1'],
      ['app', 'bench'],
    ],
  },
  will: {
    topic: 'devices/bench-client-000001/status',
    payload: Buffer.from('offline'),
    qos: 1,
    retain: true,
    properties: { willDelayInterval: 5, contentType: 'text/plain' },
  },
};

const cases: Case[] = [
  { name: 'PUBLISH QoS0 64B', level: 4, packet: publish(0, 64) },
  { name: 'PUBLISH QoS1 64B', level: 4, packet: publish(1, 64) },
  { name: 'PUBLISH QoS0 4KiB', level: 4, packet: publish(0, 4096) },
  { name: 'PUBLISH QoS1 4KiB', level: 4, packet: publish(1, 4096) },
  { name: 'CONNECT v5 props', level: 5, packet: connectV5 },
];

// mqtt-packet's object for the same packet
function theirs(c: Case): mqttPacket.Packet {
  const p = c.packet;
  if (p.type === 3) {
    return { cmd: 'publish', topic: p.topic, payload: p.payload, qos: p.qos, dup: false, retain: false, messageId: p.packetId } as mqttPacket.Packet;
  }
  return {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 5,
    clean: true,
    keepalive: 60,
    clientId: 'bench-client-000001',
    username: 'user',
    password: Buffer.from('secret'),
    properties: {
      sessionExpiryInterval: 3600,
      receiveMaximum: 100,
      maximumPacketSize: 1_048_576,
      topicAliasMaximum: 16,
      requestProblemInformation: true,
      userProperties: { region: 'eu-west-1', app: 'bench' },
    },
    will: {
      topic: 'devices/bench-client-000001/status',
      payload: Buffer.from('offline'),
      qos: 1,
      retain: true,
      properties: { willDelayInterval: 5, contentType: 'text/plain' },
    },
  } as mqttPacket.Packet;
}

/** Packets/s of `fn` (which processes `perCall` packets) over ~RUN_MS. */
function rate(perCall: number, fn: () => void): number {
  let calls = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(RUN_MS * 1e6);
  let now = start;
  do {
    for (let i = 0; i < 16; i++) fn();
    calls += 16;
    now = process.hrtime.bigint();
  } while (now < deadline);
  return (calls * perCall) / (Number(now - start) / 1e9);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Ours and mqtt-packet alternately, RUNS times each after a warm-up, so that both see the same
 * machine load; returns the median rates and the median of the per-pair ratios.
 */
function measure(perOurs: number, ours: () => void, perTheirs: number, theirs: () => void): [number, number, number] {
  rate(perOurs, ours);
  rate(perTheirs, theirs);
  const a: number[] = [];
  const b: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const x = rate(perOurs, ours);
    const y = rate(perTheirs, theirs);
    a.push(x);
    b.push(y);
    ratios.push(x / y);
  }
  return [median(a), median(b), median(ratios)];
}

function chunks(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < stream.length; i += CHUNK) out.push(stream.subarray(i, i + CHUNK));
  return out;
}

let sink = 0;
const count = (p: Packet) => {
  sink += p.type;
};

function line(name: string, op: string, bytesPerPacket: number, [ours, mp, ratio]: [number, number, number]): void {
  const fmt = (rate: number) =>
    `${Math.round(rate).toLocaleString('en-US').padStart(11)} pkt/s ${((rate * bytesPerPacket) / 1e6).toFixed(1).padStart(8)} MB/s`;
  console.log(`${name.padEnd(18)} ${op.padEnd(9)} ours ${fmt(ours)} | mqtt-packet ${fmt(mp)} | ${ratio.toFixed(2)}x`);
}

function benchCase(c: Case): void {
  const bytes = serialize(c.packet, c.level);
  const size = bytes.length;
  const stream = chunks(Buffer.concat(Array.from({ length: STREAM_PACKETS }, () => bytes)));
  const theirParser = mqttPacket.parser({ protocolVersion: c.level });
  theirParser.on('packet', () => sink++);
  const theirParse = () => {
    for (const chunk of stream) theirParser.parse(chunk);
  };
  if (c.packet.type === 1) {
    const ourParse = () => new PacketParser().push(bytes, count);
    line(c.name, 'parse', size, measure(1, ourParse, STREAM_PACKETS, theirParse));
  } else {
    const parser = new PacketParser({ protocolVersion: c.level });
    const ourParse = () => {
      for (const chunk of stream) parser.push(chunk, count);
    };
    line(c.name, 'parse', size, measure(STREAM_PACKETS, ourParse, STREAM_PACKETS, theirParse));
  }

  const their = theirs(c);
  const opts = { protocolVersion: c.level };
  if (!mqttPacket.generate(their, opts).equals(bytes)) throw new Error(`${c.name}: mqtt-packet writes different bytes`);
  const ourSerialize = () => {
    sink += serialize(c.packet, c.level).length;
  };
  const theirSerialize = () => {
    sink += mqttPacket.generate(their, opts).length;
  };
  line(c.name, 'serialize', size, measure(1, ourSerialize, 1, theirSerialize));

  // fan-out to 100 subscribers: encode once + patch the packet id, against generating each
  if (c.packet.type === 3 && c.packet.qos === 1) {
    const fan = 100;
    const packet = c.packet;
    const ourFan = () => {
      const encoded = encodePublish(packet, c.level);
      for (let i = 1; i <= fan; i++) sink += withPacketId(encoded, i).length;
    };
    const msg = their as mqttPacket.IPublishPacket;
    const theirFan = () => {
      for (let i = 1; i <= fan; i++) {
        msg.messageId = i;
        sink += mqttPacket.generate(msg, opts).length;
      }
    };
    line(c.name, 'fan-out', size, measure(fan, ourFan, fan, theirFan));
  }
}

console.log(`node ${process.version}, median of ${RUNS} alternating runs x ${RUN_MS} ms, parse input in ${CHUNK / 1024} KiB chunks`);
for (const c of cases) benchCase(c);
if (sink === 42) console.log('');
