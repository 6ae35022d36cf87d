// mqttsn and mqttsn-qos1: `snClients` (1,000) simulated MQTT-SN clients, each with its own UDP
// socket (own source port), CONNECT and REGISTER <root>/sn/<i>, then PUBLISH to that TopicId into
// one MQTT subscriber over TCP on <root>/#: the gateway's ingest next to fan-in's MQTT figures.
// - mqttsn: QoS 0. Each client's PUBLISH datagram is encoded once and sent as it is.
// - mqttsn-qos1: QoS 1, one PUBLISH unacknowledged per client (a constrained client's window),
//   a ring of 64 pre-encoded MsgIds each; the subscriber is QoS 1 too. A PUBACK with a return
//   code (0x01: the engine held the client back) or none within 1 s (a datagram lost) writes the
//   message off and the client moves on.
// Modes: flood sends as fast as the generator can; UDP has no backpressure, so what the gateway's
// socket cannot take is dropped by the kernel and delivered < published shows it. closed keeps at
// most `inflight` messages in flight end to end, with the stall watch of the TCP scenarios.
// Clients are served from a FIFO of those free to send, round robin, 256 datagrams per event loop
// turn, so the subscriber's reads in this process are never starved.

import { BenchClient } from '../bench-client.js';
import { type SnBenchClient, openSnClients } from '../mqttsn-client.js';
import { SN_DISCONNECT, snPublish } from '../mqttsn-packets.js';
import { drain, measure } from './monitor.js';
import { type StallTarget, watchStalls } from './publisher-pump.js';
import { fillMeasured } from './throughput.js';
import { emptyResult, type Mode, type ScenarioOptions, type ScenarioResult } from './types.js';

const DATAGRAMS_PER_TURN = 256;
const QOS1_MSG_IDS = 64;
const QOS1_WRITE_OFF_MS = 1_000;
/** Connecting and registering every client must end within this (the harness's 30 s run bound). */
const SETUP_DEADLINE_MS = 20_000;

interface SnPublisher {
  client: SnBenchClient;
  /** Pre-encoded PUBLISHes: one at QoS 0, one per MsgId 1..64 at QoS 1. */
  datagrams: Buffer[];
  next: number;
  /** QoS 1: MsgId awaiting its PUBACK (0: none) and when it was sent. */
  awaiting: number;
  sentAt: number;
}

class SnLoad implements StallTarget {
  published = 0;
  lost = 0;
  /** QoS 1 PUBACKs with a return code other than 0 (the engine held the client back). */
  refused = 0;
  stopped = false;
  readonly pubs: SnPublisher[] = [];
  private readonly free: SnPublisher[] = [];
  private head = 0;
  private scheduled = false;

  constructor(private readonly o: { qos: 0 | 1; closedLoop: boolean; inflightCap: number; delivered: () => number }) {}

  add(p: SnPublisher): void {
    this.pubs.push(p);
    this.free.push(p);
  }

  inflight(): number {
    return this.published - this.lost - this.o.delivered();
  }

  readonly resumeAll = (): void => {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(this.pump);
  };

  private readonly pump = (): void => {
    this.scheduled = false;
    if (this.stopped) return;
    const now = Date.now();
    for (let i = 0; i < DATAGRAMS_PER_TURN && this.head < this.free.length; i++) {
      if (this.o.closedLoop && this.inflight() >= this.o.inflightCap) return; // resumed by the subscriber's next chunk
      const p = this.free[this.head++];
      if (p.client.closed) continue;
      p.client.send(p.datagrams[p.next]);
      this.published++;
      if (this.o.qos === 1) {
        p.awaiting = p.next + 1;
        p.sentAt = now;
        p.next = (p.next + 1) % p.datagrams.length;
      } else this.free.push(p);
    }
    // drop the consumed head of the FIFO now and then, not per datagram
    if (this.head > 4_096) {
      this.free.splice(0, this.head);
      this.head = 0;
    }
    if (this.head < this.free.length) this.resumeAll();
  };

  /** QoS 1: the PUBACK of `p`'s outstanding PUBLISH frees it. */
  acked(p: SnPublisher, msgId: number, returnCode: number): void {
    if (p.awaiting !== msgId) return;
    if (returnCode !== 0) {
      this.refused++;
      this.lost++;
    }
    this.release(p);
  }

  /** QoS 1: PUBLISHes unacknowledged for 1 s are lost datagrams; written off, their clients go on. */
  writeOffUnacked(now: number): void {
    for (const p of this.pubs) {
      if (p.awaiting !== 0 && now - p.sentAt >= QOS1_WRITE_OFF_MS) {
        this.lost++;
        this.release(p);
      }
    }
  }

  private release(p: SnPublisher): void {
    p.awaiting = 0;
    this.free.push(p);
    this.resumeAll();
  }
}

export async function runMqttSnThroughput(scenario: 'mqttsn' | 'mqttsn-qos1', mode: Mode, o: ScenarioOptions): Promise<ScenarioResult> {
  const result = emptyResult(scenario, mode);
  if (o.mqttsnPort === undefined) {
    result.errors.push('setup: no MQTT-SN port (--sn-port): the broker has no MQTT-SN gateway');
    return result;
  }
  const snPort = o.mqttsnPort;
  const qos: 0 | 1 = scenario === 'mqttsn-qos1' ? 1 : 0;
  let delivered = 0;
  const load = new SnLoad({ qos, closedLoop: mode === 'closed', inflightCap: o.inflight, delivered: () => delivered });
  const counters = () => ({ published: load.published, delivered });
  const payload = Buffer.alloc(o.payloadBytes, 0x61);
  let sub: BenchClient | undefined;
  let opened: Awaited<ReturnType<typeof openSnClients>>;
  try {
    sub = await BenchClient.connect({
      host: o.host,
      port: o.port,
      clientId: `${o.clientPrefix}-sn-sub`,
      version: o.version,
      onPublish: () => {
        delivered++;
      },
      ...(mode === 'closed' ? { onChunk: load.resumeAll } : {}),
    });
    await sub.subscribe(`${o.topicRoot}/#`, qos);
    opened = await openSnClients(o.host, snPort, o.snClients, o.clientPrefix, o.connectConcurrency, SETUP_DEADLINE_MS, async (client, i) => {
      const topicId = await client.register(`${o.topicRoot}/sn/${i}`, 1, 5_000);
      const ids = qos === 1 ? QOS1_MSG_IDS : 1;
      const p: SnPublisher = {
        client,
        datagrams: Array.from({ length: ids }, (_, k) => snPublish(topicId, qos === 1 ? k + 1 : 0, qos, payload)),
        next: 0,
        awaiting: 0,
        sentAt: 0,
      };
      if (qos === 1) client.onPuback = (msgId, returnCode) => load.acked(p, msgId, returnCode);
      load.add(p);
    });
  } catch (err) {
    result.errors.push(`setup: ${(err as Error).message}`);
    sub?.destroy();
    return result;
  }
  if (opened.failed > 0) result.errors.push(`${opened.failed} of ${o.snClients} MQTT-SN clients not set up: ${opened.errors.join('; ')}`);
  if (opened.clients.length === 0) {
    sub.destroy();
    return result;
  }
  const subscriber = sub;

  load.resumeAll();
  const stallWatch = watchStalls(load, mode === 'closed', () => delivered, () => {
    result.stalls++;
  });
  const m = await measure(
    {
      brokerPid: o.brokerPid,
      counters,
      broken: () => (subscriber.closed ? 'the subscriber was disconnected' : undefined),
      onTick: () => {
        if (qos === 1) load.writeOffUnacked(Date.now());
        stallWatch();
      },
    },
    o.warmupS,
    o.durationS,
  );
  load.stopped = true;
  if (!m.crashed) await drain(counters, o.durationS);
  if (load.refused > 0) result.errors.push(`${load.refused} PUBACKs refused the message (0x01: client held back)`);
  if (subscriber.closeReason !== undefined) result.errors.push(`subscriber: ${subscriber.closeReason}`);
  for (const c of opened.clients) {
    c.send(SN_DISCONNECT);
    c.close();
  }
  subscriber.close();
  if (m.failure !== undefined) result.errors.unshift(m.failure);
  return fillMeasured(result, m, load.published, delivered);
}
