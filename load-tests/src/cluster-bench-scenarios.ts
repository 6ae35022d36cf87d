// Cross-node scenarios for `npm run bench:cluster`, built from the load generator's parts
// (BenchClient, pre-encoded PUBLISH rings, measure/drain, fillMeasured): publishers connect to
// node A, subscribers to node B, so every message crosses Redis.
// - throughput (QoS 0 or 1): 10 publishers on A, one subscriber on B (`<root>/#`). Closed loop:
//   at most `inflight` messages published and not yet delivered, so the number is what the
//   cluster sustains with delivery (an open flood would measure how fast A can drop); QoS 1
//   publishers also keep at most `window` PUBLISHes unacknowledged.
// - flood (QoS 0): the same without the cap, to see whether a node loses its Redis link.
// - latency: one publisher on A at a fixed rate, one subscriber on B; the payload carries
//   process.hrtime of the send (both clients in this process share the clock).

import { BenchClient } from './bench-client.js';
import { publishPayloadOffset } from './frame-scanner.js';
import { encodePublish, encodePublishRing } from './packets.js';
import { cpuSeconds } from './proc-stats.js';
import { summarizeLatency } from './scenarios/latency.js';
import { drain, measure } from './scenarios/monitor.js';
import { fillMeasured } from './scenarios/throughput.js';
import { emptyResult, type ScenarioResult } from './scenarios/types.js';

export interface CrossOptions {
  pubPort: number;
  subPort: number;
  /** Pids whose CPU is summed (both nodes and Redis): CPU per message is for the whole cluster. */
  pids: number[];
  durationS: number;
  warmupS: number;
  publishers: number;
  payloadBytes: number;
  inflight: number;
  window: number;
  rate: number;
  topicRoot: string;
}

const BATCH = 64;
const host = '127.0.0.1';

interface Pub {
  client: BenchClient;
  ring: Buffer;
  frameLen: number;
  ringFrames: number;
  next: number;
  unacked: number;
  blocked: boolean;
  scheduled: boolean;
}

/** CPU seconds of several processes, summed (measure() watches one pid only). */
function cpuOf(pids: number[]): number {
  let s = 0;
  for (const pid of pids) s += cpuSeconds(pid) ?? 0;
  return s;
}

export async function crossThroughput(qos: 0 | 1, closedLoop: boolean, o: CrossOptions): Promise<ScenarioResult> {
  const result = emptyResult(qos === 1 ? 'qos1' : 'fan-in', closedLoop ? 'closed' : 'flood');
  let published = 0;
  let delivered = 0;
  let lost = 0;
  let stopped = false;
  const counters = () => ({ published, delivered });
  const inflight = () => published - lost - delivered;
  const pubs: Pub[] = [];
  let sub: BenchClient | undefined;
  const pump = (p: Pub): void => {
    p.scheduled = false;
    if (stopped || p.blocked || p.client.closed) return;
    for (let turn = 0; turn < 16; turn++) {
      let k = BATCH;
      if (closedLoop) k = Math.min(k, Math.floor(o.inflight - inflight()));
      if (qos === 1) k = Math.min(k, o.window - p.unacked, p.ringFrames - p.next);
      if (k < 1) return;
      const buf = p.ring.subarray(p.next * p.frameLen, (p.next + k) * p.frameLen);
      if (qos === 1) {
        p.next = (p.next + k) % p.ringFrames;
        p.unacked += k;
      }
      published += k;
      if (!p.client.write(buf)) {
        p.blocked = true;
        p.client.socket.once('drain', () => {
          p.blocked = false;
          pump(p);
        });
        return;
      }
    }
    p.scheduled = true;
    setImmediate(pump, p);
  };
  const resumeAll = (): void => {
    for (const p of pubs) if (!p.scheduled && !p.blocked) pump(p);
  };
  try {
    sub = await BenchClient.connect({
      host,
      port: o.subPort,
      clientId: `cx-sub-${process.pid}`,
      version: 4,
      onPublish: () => {
        delivered++;
      },
      onChunk: closedLoop ? resumeAll : undefined,
    });
    await sub.subscribe(`${o.topicRoot}/#`, qos);
    await new Promise((r) => setTimeout(r, 500)); // the route reaches node A
    const payload = Buffer.alloc(o.payloadBytes, 0x61);
    for (let i = 0; i < o.publishers; i++) {
      let self: Pub | undefined;
      const client = await BenchClient.connect({
        host,
        port: o.pubPort,
        clientId: `cx-pub-${process.pid}-${i}`,
        version: 4,
        onPuback:
          qos === 1
            ? () => {
                if (self === undefined) return;
                self.unacked--;
                if (!self.scheduled && !self.blocked) pump(self);
              }
            : undefined,
      });
      const template = encodePublish(`${o.topicRoot}/p${i}`, payload, qos, 4);
      const ringFrames = qos === 1 ? Math.min(65_535, o.window + BATCH) : BATCH;
      self = { client, ring: encodePublishRing(template, ringFrames), frameLen: template.frame.length, ringFrames, next: 0, unacked: 0, blocked: false, scheduled: false };
      pubs.push(self);
    }
  } catch (err) {
    result.errors.push(`setup: ${(err as Error).message}`);
    for (const c of [sub, ...pubs.map((p) => p.client)]) c?.destroy();
    return result;
  }
  const subscriber = sub;
  for (const p of pubs) pump(p);
  let lastDelivered = 0;
  let lastProgress = Date.now();
  const cpu0 = cpuOf(o.pids);
  const delivered0 = delivered;
  const t0 = performance.now();
  const m = await measure(
    {
      counters,
      broken: () => (subscriber.closed ? 'the subscriber was disconnected' : pubs.every((p) => p.client.closed) ? 'all publishers were disconnected' : undefined),
      onTick: () => {
        if (delivered !== lastDelivered) {
          lastDelivered = delivered;
          lastProgress = Date.now();
        } else if (closedLoop && inflight() >= 1 && Date.now() - lastProgress >= 1_000) {
          lost = published - delivered;
          result.stalls++;
          lastProgress = Date.now();
          resumeAll();
        }
      },
    },
    o.warmupS,
    o.durationS,
  );
  const cpu = cpuOf(o.pids) - cpu0;
  const deliveredInRun = delivered - delivered0;
  const wall = (performance.now() - t0) / 1000;
  stopped = true;
  await drain(counters, o.durationS);
  for (const c of [subscriber, ...pubs.map((p) => p.client)]) {
    if (c.closeReason !== undefined) result.errors.push(`${c.options.clientId}: ${c.closeReason}`);
    c.close();
  }
  if (m.failure !== undefined) result.errors.unshift(m.failure);
  fillMeasured(result, m, published, delivered);
  // CPU of the whole cluster (nodes + Redis) over warm-up and measurement, per delivered message
  result.brokerCpuS = cpu;
  result.brokerCpuShare = wall > 0 ? cpu / wall : null;
  result.cpuUsPerMsg = deliveredInRun > 0 ? (cpu * 1e6) / deliveredInRun : null;
  return result;
}

export async function crossLatency(o: CrossOptions): Promise<ScenarioResult> {
  const result = emptyResult('latency', null);
  const topic = `${o.topicRoot}/latency`;
  const samples: number[] = [];
  let cutoff = 0n;
  let published = 0;
  let delivered = 0;
  const counters = () => ({ published, delivered });
  let sub: BenchClient | undefined;
  let pub: BenchClient | undefined;
  try {
    sub = await BenchClient.connect({
      host,
      port: o.subPort,
      clientId: `cx-lat-sub-${process.pid}`,
      version: 4,
      onPublish: (header, buf, start, end) => {
        delivered++;
        const at = publishPayloadOffset(header, buf, start, 4);
        if (end - at < 8) return;
        const sent = buf.readBigUInt64BE(at);
        if (sent >= cutoff) samples.push(Number(process.hrtime.bigint() - sent) / 1000);
      },
    });
    await sub.subscribe(topic, 0);
    await new Promise((r) => setTimeout(r, 500));
    pub = await BenchClient.connect({ host, port: o.pubPort, clientId: `cx-lat-pub-${process.pid}`, version: 4 });
  } catch (err) {
    result.errors.push(`setup: ${(err as Error).message}`);
    sub?.destroy();
    pub?.destroy();
    return result;
  }
  const template = encodePublish(topic, Buffer.alloc(Math.max(8, o.payloadBytes), 0x61), 0, 4);
  const len = template.frame.length;
  const start = process.hrtime.bigint();
  cutoff = start + BigInt(Math.round(o.warmupS * 1e9));
  const maxPerTick = Math.max(1, Math.ceil(o.rate / 100));
  const publisher = pub;
  const subscriber = sub;
  const timer = setInterval(() => {
    const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
    const due = Math.min(maxPerTick, Math.floor(elapsedS * o.rate) - published);
    if (due < 1 || publisher.closed) return;
    const out = Buffer.allocUnsafe(due * len);
    const now = process.hrtime.bigint();
    for (let i = 0; i < due; i++) {
      template.frame.copy(out, i * len);
      out.writeBigUInt64BE(now, i * len + template.payloadOffset);
    }
    published += due;
    publisher.write(out);
  }, 1);
  const m = await measure({ counters, broken: () => (subscriber.closed || publisher.closed ? 'a client was disconnected' : undefined) }, o.warmupS, o.durationS);
  clearInterval(timer);
  await drain(counters, o.durationS);
  for (const c of [subscriber, publisher]) {
    if (c.closeReason !== undefined) result.errors.push(`${c.options.clientId}: ${c.closeReason}`);
    c.close();
  }
  if (m.failure !== undefined) result.errors.unshift(m.failure);
  fillMeasured(result, m, published, delivered);
  result.latency = summarizeLatency(samples);
  return result;
}
