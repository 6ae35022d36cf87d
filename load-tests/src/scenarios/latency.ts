// latency: one publisher at a fixed rate (default 5,000 msg/s) to one subscriber, both in this
// process, so process.hrtime.bigint() stamped into the payload by the publisher and read by the
// subscriber come from the same clock. The publisher wakes every millisecond and sends what is due
// since the start (so a late timer catches up instead of lowering the rate); each message is
// stamped just before it is written. Only messages sent after the warm-up count.

import type { Transport } from '../bench-link.js';
import { BenchClient } from '../bench-client.js';
import { publishPayloadOffset } from '../frame-scanner.js';
import { encodePublish, type ProtocolVersion } from '../packets.js';
import { percentile } from '../stats.js';
import { drain, measure } from './monitor.js';
import { fillMeasured } from './throughput.js';
import { emptyResult, type LatencySummary, type ScenarioOptions, type ScenarioResult } from './types.js';

export function runLatency(o: ScenarioOptions): Promise<ScenarioResult> {
  return runLatencyBetween({
    host: o.host,
    subPort: o.port,
    pubPort: o.port,
    transport: o.transport,
    subClientId: `${o.clientPrefix}-lat-sub`,
    pubClientId: `${o.clientPrefix}-lat-pub`,
    version: o.version,
    topic: `${o.topicRoot}/latency`,
    payloadBytes: o.payloadBytes,
    rate: o.rate,
    warmupS: o.warmupS,
    durationS: o.durationS,
    brokerPid: o.brokerPid,
  });
}

export interface LatencyPair {
  /** Default tcp. */
  transport?: Transport;
  host: string;
  /** The subscriber's broker (node). */
  subPort: number;
  /** The publisher's broker (node): the same as subPort on one broker, another node in a cluster. */
  pubPort: number;
  subClientId: string;
  pubClientId: string;
  version: ProtocolVersion;
  topic: string;
  payloadBytes: number;
  /** Messages per second. */
  rate: number;
  warmupS: number;
  durationS: number;
  /** The broker whose CPU (and liveness) measure() watches. */
  brokerPid?: number;
  /** Awaited between the SUBSCRIBE's SUBACK and the publisher's start (a route reaching another node). */
  afterSubscribe?: () => Promise<void>;
}

/** One publisher at a fixed rate to one subscriber, both in this process (see the header). */
export async function runLatencyBetween(o: LatencyPair): Promise<ScenarioResult> {
  const result = emptyResult('latency', null);
  const samples: number[] = [];
  let cutoff = 0n;
  let published = 0;
  let delivered = 0;
  const counters = () => ({ published, delivered });
  let sub: BenchClient | undefined;
  let pub: BenchClient | undefined;
  try {
    sub = await BenchClient.connect({
      transport: o.transport,
      host: o.host,
      port: o.subPort,
      clientId: o.subClientId,
      version: o.version,
      onPublish: (header, buf, start, end) => {
        delivered++;
        const at = publishPayloadOffset(header, buf, start, o.version);
        if (end - at < 8) return;
        const sent = buf.readBigUInt64BE(at);
        if (sent >= cutoff) samples.push(Number(process.hrtime.bigint() - sent) / 1000);
      },
    });
    await sub.subscribe(o.topic, 0);
    await o.afterSubscribe?.();
    pub = await BenchClient.connect({ transport: o.transport, host: o.host, port: o.pubPort, clientId: o.pubClientId, version: o.version });
  } catch (err) {
    result.errors.push(`setup: ${(err as Error).message}`);
    sub?.destroy();
    pub?.destroy();
    return result;
  }

  const template = encodePublish(o.topic, Buffer.alloc(Math.max(8, o.payloadBytes), 0x61), 0, o.version);
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

  const m = await measure(
    {
      brokerPid: o.brokerPid,
      counters,
      broken: () => (subscriber.closed || publisher.closed ? 'a client was disconnected' : undefined),
    },
    o.warmupS,
    o.durationS,
  );
  clearInterval(timer);
  if (!m.crashed) await drain(counters, o.durationS);
  for (const c of [subscriber, publisher]) {
    if (c.closeReason !== undefined) result.errors.push(`${c.options.clientId}: ${c.closeReason}`);
    c.close();
  }
  if (m.failure !== undefined) result.errors.unshift(m.failure);
  fillMeasured(result, m, published, delivered);
  result.latency = summarizeLatency(samples);
  return result;
}

/** p50/p90/p99/max of end-to-end delays (nearest rank), as every latency result reports them. */
export function summarizeLatency(samples: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length > 0 ? sorted[sorted.length - 1] : Number.NaN,
    samples: sorted.length,
  };
}
