// Cross-node scenarios for `npm run bench:cluster`, built from the load generator's parts
// (BenchClient, scenarios/publisher-pump.ts's rings and pump, runLatencyBetween, measure/drain,
// fillMeasured): publishers connect to node A, subscribers to node B, so every message crosses Redis.
// - throughput (QoS 0 or 1): 10 publishers on A, one subscriber on B (`<root>/#`). Closed loop:
//   at most `inflight` messages published and not yet delivered, so the number is what the
//   cluster sustains with delivery (an open flood would measure how fast A can drop); QoS 1
//   publishers also keep at most `window` PUBLISHes unacknowledged.
// - flood (QoS 0): the same without the cap, to see whether a node loses its Redis link.
// - latency: one publisher on A at a fixed rate, one subscriber on B; the payload carries
//   process.hrtime of the send (both clients in this process share the clock).

import { BenchClient } from './bench-client.js';
import { encodePublish } from './packets.js';
import { cpuSeconds } from './proc-stats.js';
import { runLatencyBetween } from './scenarios/latency.js';
import { drain, measure } from './scenarios/monitor.js';
import { PublisherLoad, type RingPublisher, ringPublisher } from './scenarios/publisher-pump.js';
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

const host = '127.0.0.1';
/** Long enough for a subscription's route to reach the publishers' node. */
const ROUTE_WAIT_MS = 500;

/** CPU seconds of several processes, summed (measure() watches one pid only). */
function cpuOf(pids: number[]): number {
  let s = 0;
  for (const pid of pids) s += cpuSeconds(pid) ?? 0;
  return s;
}

export async function crossThroughput(qos: 0 | 1, closedLoop: boolean, o: CrossOptions): Promise<ScenarioResult> {
  const result = emptyResult(qos === 1 ? 'qos1' : 'fan-in', closedLoop ? 'closed' : 'flood');
  let delivered = 0;
  const load = new PublisherLoad({ qos, closedLoop, inflightCap: o.inflight, delivered: () => delivered });
  const counters = () => ({ published: load.published, delivered });
  const { pubs, pump, resumeAll } = load;
  let sub: BenchClient | undefined;
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
    await new Promise((r) => setTimeout(r, ROUTE_WAIT_MS)); // the route reaches node A
    const payload = Buffer.alloc(o.payloadBytes, 0x61);
    for (let i = 0; i < o.publishers; i++) {
      let self: RingPublisher | undefined;
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
      self = ringPublisher(client, template, qos, o.window);
      pubs.push(self);
    }
  } catch (err) {
    result.errors.push(`setup: ${(err as Error).message}`);
    for (const c of [sub, ...pubs.map((p) => p.client)]) c?.destroy();
    return result;
  }
  const subscriber = sub;
  for (const p of pubs) pump(p);
  const cpu0 = cpuOf(o.pids);
  const delivered0 = delivered;
  const t0 = performance.now();
  const m = await measure(
    {
      counters,
      broken: () => (subscriber.closed ? 'the subscriber was disconnected' : pubs.every((p) => p.client.closed) ? 'all publishers were disconnected' : undefined),
      onTick: load.stallWatch(() => {
        result.stalls++;
      }),
    },
    o.warmupS,
    o.durationS,
  );
  const cpu = cpuOf(o.pids) - cpu0;
  const deliveredInRun = delivered - delivered0;
  const wall = (performance.now() - t0) / 1000;
  load.stopped = true;
  await drain(counters, o.durationS);
  for (const c of [subscriber, ...pubs.map((p) => p.client)]) {
    if (c.closeReason !== undefined) result.errors.push(`${c.options.clientId}: ${c.closeReason}`);
    c.close();
  }
  if (m.failure !== undefined) result.errors.unshift(m.failure);
  fillMeasured(result, m, load.published, delivered);
  // CPU of the whole cluster (nodes + Redis) over warm-up and measurement, per delivered message
  result.brokerCpuS = cpu;
  result.brokerCpuShare = wall > 0 ? cpu / wall : null;
  result.cpuUsPerMsg = deliveredInRun > 0 ? (cpu * 1e6) / deliveredInRun : null;
  return result;
}

export function crossLatency(o: CrossOptions): Promise<ScenarioResult> {
  return runLatencyBetween({
    host,
    subPort: o.subPort,
    pubPort: o.pubPort,
    subClientId: `cx-lat-sub-${process.pid}`,
    pubClientId: `cx-lat-pub-${process.pid}`,
    version: 4,
    topic: `${o.topicRoot}/latency`,
    payloadBytes: o.payloadBytes,
    rate: o.rate,
    warmupS: o.warmupS,
    durationS: o.durationS,
    afterSubscribe: () => new Promise((r) => setTimeout(r, ROUTE_WAIT_MS)),
  });
}
