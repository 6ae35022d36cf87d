// fan-in, fan-out and qos1: publishers write pre-encoded PUBLISH frames, subscribers count
// what arrives.
//
// Each publisher owns a "ring": its PUBLISH frame copied back to back (for QoS 1 with packet ids
// 1..n), so a batch of k messages is a zero-copy subarray handed to socket.write. Two modes:
// - flood: keep writing while socket.write accepts; on false wait for 'drain' (socket
//   backpressure is the only brake, plus the PUBACK window for QoS 1);
// - closed: at most `inflight` messages are in flight end to end (published minus delivered,
//   per subscriber); a publisher that hits the cap is resumed by the subscribers' next chunk.
// A publisher yields to the event loop (setImmediate) after a few batches so that the
// subscribers' reads in this same process are never starved.
// QoS 0 may be dropped by a broker, which would wedge the closed loop: a loop with messages in
// flight and no delivery for 1 s writes them off as lost and counts a stall.

import { BenchClient } from '../bench-client.js';
import { encodePublish, encodePublishRing } from '../packets.js';
import { detectCollapse } from '../stats.js';
import { drain, measure } from './monitor.js';
import { emptyResult, type Mode, type ScenarioOptions, type ScenarioResult } from './types.js';

const BATCH = 64;
const BATCHES_PER_TURN = 16;

interface Publisher {
  client: BenchClient;
  ring: Buffer;
  frameLen: number;
  ringFrames: number;
  next: number;
  unacked: number;
  window: number;
  blocked: boolean;
  scheduled: boolean;
}

export type ThroughputScenario = 'fan-in' | 'fan-out' | 'qos1';

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
  result.fanout = nSubs;

  let published = 0;
  let delivered = 0;
  let lost = 0;
  let stopped = false;
  const counters = () => ({ published, delivered });
  const inflight = () => published - lost - delivered / nSubs;
  const subs: BenchClient[] = [];
  const pubs: Publisher[] = [];

  const pump = (p: Publisher): void => {
    p.scheduled = false;
    if (stopped || p.blocked || p.client.closed) return;
    for (let turn = 0; turn < BATCHES_PER_TURN; turn++) {
      let k = BATCH;
      if (closedLoop) k = Math.min(k, Math.floor(o.inflight - inflight()));
      if (qos === 1) k = Math.min(k, p.window - p.unacked, p.ringFrames - p.next);
      if (k < 1) return; // resumed by a subscriber's chunk or a PUBACK
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
    if (!p.scheduled) {
      p.scheduled = true;
      setImmediate(pump, p);
    }
  };
  const resumeAll = (): void => {
    for (const p of pubs) if (!p.scheduled && !p.blocked) pump(p);
  };

  try {
    const subClients = await Promise.all(
      Array.from({ length: nSubs }, (_, i) =>
        BenchClient.connect({
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

    const payload = Buffer.alloc(o.payloadBytes, 0x61);
    const pubClients = await Promise.all(
      Array.from({ length: nPubs }, (_, i) => {
        let self: Publisher | undefined;
        // PUBACKs only count; the publisher refills once per received chunk (a refill per PUBACK
        // wrote one frame per syscall and made the generator, not the broker, the bottleneck).
        const onPuback = qos === 1 ? () => {
          if (self !== undefined) self.unacked--;
        } : undefined;
        const onChunk = qos === 1 ? () => {
          if (self !== undefined && !self.scheduled && !self.blocked) pump(self);
        } : undefined;
        return BenchClient.connect({
          host: o.host,
          port: o.port,
          clientId: `${o.clientPrefix}-pub-${i}`,
          version: o.version,
          onPuback,
          onChunk,
        }).then((client) => {
          const template = encodePublish(fanOut ? `${o.topicRoot}/fanout` : `${o.topicRoot}/p${i}`, payload, qos, o.version);
          const window = Math.max(1, Math.min(o.window, client.serverReceiveMaximum, 65_535 - BATCH));
          const ringFrames = qos === 1 ? Math.min(65_535, window + BATCH) : BATCH;
          self = {
            client,
            ring: encodePublishRing(template, ringFrames),
            frameLen: template.frame.length,
            ringFrames,
            next: 0,
            unacked: 0,
            window,
            blocked: false,
            scheduled: false,
          };
          return self;
        });
      }),
    );
    pubs.push(...pubClients);
  } catch (err) {
    result.errors.push(`setup: ${(err as Error).message}`);
    for (const c of [...subs, ...pubs.map((p) => p.client)]) c.destroy();
    return result;
  }

  for (const p of pubs) pump(p);
  let lastDelivered = 0;
  let lastProgress = Date.now();
  const m = await measure(
    {
      brokerPid: o.brokerPid,
      counters,
      broken: () => {
        if (subs.every((s) => s.closed)) return 'all subscribers were disconnected';
        if (pubs.every((p) => p.client.closed)) return 'all publishers were disconnected';
        return undefined;
      },
      onTick: () => {
        if (delivered !== lastDelivered) {
          lastDelivered = delivered;
          lastProgress = Date.now();
        } else if (closedLoop && inflight() >= 1 && Date.now() - lastProgress >= 1_000) {
          lost = published - delivered / nSubs;
          result.stalls++;
          lastProgress = Date.now();
          resumeAll();
        }
      },
    },
    o.warmupS,
    o.durationS,
  );
  stopped = true;
  if (!m.crashed) await drain(counters, o.durationS);

  for (const c of [...subs, ...pubs.map((p) => p.client)]) {
    if (c.closeReason !== undefined) result.errors.push(`${c.options.clientId}: ${c.closeReason}`);
    c.close();
  }
  if (m.failure !== undefined) result.errors.unshift(m.failure);
  return fillMeasured(result, m, published, delivered);
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
