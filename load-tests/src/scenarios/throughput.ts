// fan-in, fan-out, qos1 and slow-subscribers: publishers write pre-encoded PUBLISH frames,
// subscribers count what arrives.
//
// slow-subscribers is fan-in with 1 KiB payloads, flood only, and two more subscribers on the
// same filter that stop reading their sockets after SUBACK: what the one healthy subscriber gets
// (its slowest second above all) shows whether stalled subscribers hold everyone else back.
//
// The publishers (rings, the pump, flood and closed loop, the stall watch) are publisher-pump.ts's:
// - flood: keep writing while socket.write accepts; on false wait for 'drain' (socket
//   backpressure is the only brake, plus the PUBACK window for QoS 1);
// - closed: at most `inflight` messages are in flight end to end (published minus delivered,
//   per subscriber); a publisher that hits the cap is resumed by the subscribers' next chunk.

import { BenchClient } from '../bench-client.js';
import { encodePublish } from '../packets.js';
import { detectCollapse } from '../stats.js';
import { drain, measure } from './monitor.js';
import { BATCH, PublisherLoad, type RingPublisher, ringPublisher } from './publisher-pump.js';
import { emptyResult, type Mode, type ScenarioOptions, type ScenarioResult } from './types.js';

export type ThroughputScenario = 'fan-in' | 'fan-out' | 'qos1' | 'slow-subscribers';

/** slow-subscribers: subscribers that stop reading, beside the healthy one. */
const STALLED_SUBSCRIBERS = 2;
const SLOW_PAYLOAD_BYTES = 1024;

export async function runThroughput(
  scenario: ThroughputScenario,
  mode: Mode,
  o: ScenarioOptions,
): Promise<ScenarioResult> {
  const result = emptyResult(scenario, mode);
  const qos: 0 | 1 = scenario === 'qos1' ? 1 : 0;
  const fanOut = scenario === 'fan-out';
  const nSubs = fanOut ? o.subscribers : 1;
  const nPubs = fanOut ? 1 : o.publishers;
  const filter = fanOut ? `${o.topicRoot}/fanout` : `${o.topicRoot}/#`;
  const closedLoop = mode === 'closed';
  const stalling = scenario === 'slow-subscribers';
  result.fanout = nSubs;

  let delivered = 0;
  const load = new PublisherLoad({ qos, closedLoop, inflightCap: o.inflight, delivered: () => delivered / nSubs });
  const counters = () => ({ published: load.published, delivered });
  const subs: BenchClient[] = [];
  const stalled: BenchClient[] = [];
  const { pubs, pump, resumeAll } = load;

  try {
    if (stalling) {
      for (let i = 0; i < STALLED_SUBSCRIBERS; i++) {
        const c = await BenchClient.connect({ transport: o.transport, host: o.host, port: o.port, clientId: `${o.clientPrefix}-stalled-${i}`, version: o.version });
        stalled.push(c);
        await c.subscribe(filter, qos);
        c.link.pauseReading();
      }
    }
    const subClients = await Promise.all(
      Array.from({ length: nSubs }, (_, i) =>
        BenchClient.connect({
          transport: o.transport,
          host: o.host,
          port: o.port,
          clientId: `${o.clientPrefix}-sub-${i}`,
          version: o.version,
          receiveMaximum: o.version === 5 ? o.receiveMaximum : undefined,
          onPublish: () => {
            delivered++;
          },
          onChunk: closedLoop ? resumeAll : undefined,
        }),
      ),
    );
    subs.push(...subClients);
    await Promise.all(subs.map((s) => s.subscribe(filter, qos)));

    const payload = Buffer.alloc(stalling ? SLOW_PAYLOAD_BYTES : o.payloadBytes, 0x61);
    const pubClients = await Promise.all(
      Array.from({ length: nPubs }, (_, i) => {
        let self: RingPublisher | undefined;
        // PUBACKs only count; the publisher refills once per received chunk (a refill per PUBACK
        // wrote one frame per syscall and made the generator, not the broker, the bottleneck).
        const onPuback = qos === 1 ? () => {
          if (self !== undefined) self.unacked--;
        } : undefined;
        const onChunk = qos === 1 ? () => {
          if (self !== undefined && !self.scheduled && !self.blocked) pump(self);
        } : undefined;
        return BenchClient.connect({
          transport: o.transport,
          host: o.host,
          port: o.port,
          clientId: `${o.clientPrefix}-pub-${i}`,
          version: o.version,
          onPuback,
          onChunk,
        }).then((client) => {
          const template = encodePublish(fanOut ? `${o.topicRoot}/fanout` : `${o.topicRoot}/p${i}`, payload, qos, o.version);
          const window = Math.max(1, Math.min(o.window, client.serverReceiveMaximum, 65_535 - BATCH));
          self = ringPublisher(client, template, qos, window);
          return self;
        });
      }),
    );
    pubs.push(...pubClients);
  } catch (err) {
    result.errors.push(`setup: ${(err as Error).message}`);
    for (const c of [...subs, ...stalled, ...pubs.map((p) => p.client)]) c.destroy();
    return result;
  }

  for (const p of pubs) pump(p);
  const m = await measure(
    {
      brokerPid: o.brokerPid,
      counters,
      broken: () => {
        if (subs.every((s) => s.closed)) return 'all subscribers were disconnected';
        if (pubs.every((p) => p.client.closed)) return 'all publishers were disconnected';
        return undefined;
      },
      onTick: load.stallWatch(() => {
        result.stalls++;
      }),
    },
    o.warmupS,
    o.durationS,
  );
  load.stopped = true;
  if (!m.crashed) await drain(counters, o.durationS);

  for (const c of [...subs, ...pubs.map((p) => p.client)]) {
    if (c.closeReason !== undefined) result.errors.push(`${c.options.clientId}: ${c.closeReason}`);
    c.close();
  }
  for (const c of stalled) c.destroy();
  if (m.failure !== undefined) result.errors.unshift(m.failure);
  return fillMeasured(result, m, load.published, delivered);
}

export function fillMeasured(
  result: ScenarioResult,
  m: Awaited<ReturnType<typeof measure>>,
  totalPublished: number,
  totalDelivered: number,
): ScenarioResult {
  result.measuredS = m.measuredS;
  result.published = m.published;
  result.delivered = m.delivered;
  result.deliveredPerSec = m.measuredS > 0 ? m.delivered / m.measuredS : 0;
  result.publishedPerSec = m.measuredS > 0 ? m.published / m.measuredS : 0;
  result.totalPublished = totalPublished;
  result.totalDelivered = totalDelivered;
  result.brokerCpuS = m.brokerCpuS;
  result.brokerCpuShare = m.brokerCpuS !== null && m.measuredS > 0 ? m.brokerCpuS / m.measuredS : null;
  result.cpuUsPerMsg = m.brokerCpuS !== null && m.delivered > 0 ? (m.brokerCpuS * 1e6) / m.delivered : null;
  result.generatorCpu = m.generatorCpu;
  result.timeline = m.timeline;
  result.brokerWaitMsPerS = m.brokerWaitMsPerS;
  result.generatorWaitMsPerS = m.generatorWaitMsPerS;
  result.loadAverage = m.loadAverage;
  result.collapsed = detectCollapse(m.timeline);
  result.crashed = m.crashed;
  return result;
}
