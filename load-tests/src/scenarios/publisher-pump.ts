// The publishing side shared by the single-broker throughput scenarios (throughput.ts) and the
// cross-node ones (cluster-bench-scenarios.ts).
//
// Each publisher owns a "ring": its PUBLISH frame copied back to back (for QoS 1 with packet ids
// 1..n), so a batch of k messages is a zero-copy subarray handed to the client's write. The pump keeps
// writing batches while the write accepts (on false it waits for 'drain'), at most `window`
// QoS 1 PUBLISHes unacknowledged and, in a closed loop, at most `inflightCap` messages in flight
// end to end. A publisher that hits a cap returns and is resumed by its caller (a subscriber's
// chunk, a PUBACK, resumeAll). It yields to the event loop (setImmediate) after a few batches so
// that the subscribers' reads in this same process are never starved.
// QoS 0 may be dropped by a broker, which would wedge a closed loop: the stall watch writes off what
// is in flight as lost after 1 s without a delivery, counts a stall and resumes the publishers.
// PublisherLoad keeps the counts (published, lost) that the pump and the watch share.

import type { BenchClient } from '../bench-client.js';
import { encodePublishRing, type PublishTemplate } from '../packets.js';

export const BATCH = 64;
const BATCHES_PER_TURN = 16;

export interface RingPublisher {
  client: BenchClient;
  ring: Buffer;
  frameLen: number;
  ringFrames: number;
  next: number;
  unacked: number;
  /** QoS 1 PUBLISHes allowed unacknowledged. */
  window: number;
  blocked: boolean;
  scheduled: boolean;
}

/** A publisher writing `template` from a ring long enough for `window` unacknowledged QoS 1 ids. */
export function ringPublisher(client: BenchClient, template: PublishTemplate, qos: 0 | 1, window: number): RingPublisher {
  const ringFrames = qos === 1 ? Math.min(65_535, window + BATCH) : BATCH;
  return {
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
}

export interface LoadOptions {
  qos: 0 | 1;
  closedLoop: boolean;
  /** Closed loop: most messages in flight end to end. */
  inflightCap: number;
  /** Messages delivered so far, per subscriber (delivered copies / subscribers). */
  delivered: () => number;
}

/** Publishers and their counts: what was published, what is in flight, what was written off. */
export class PublisherLoad {
  readonly pubs: RingPublisher[] = [];
  published = 0;
  /** Written off by the stall watch (QoS 0 dropped by the broker). */
  lost = 0;
  stopped = false;

  constructor(private readonly o: LoadOptions) {}

  /** Messages published and neither delivered nor written off, per subscriber. */
  inflight(): number {
    return this.published - this.lost - this.o.delivered();
  }

  readonly pump = (p: RingPublisher): void => {
    const o = this.o;
    p.scheduled = false;
    if (this.stopped || p.blocked || p.client.closed) return;
    for (let turn = 0; turn < BATCHES_PER_TURN; turn++) {
      let k = BATCH;
      if (o.closedLoop) k = Math.min(k, Math.floor(o.inflightCap - this.inflight()));
      if (o.qos === 1) k = Math.min(k, p.window - p.unacked, p.ringFrames - p.next);
      if (k < 1) return; // resumed by a subscriber's chunk or a PUBACK
      const buf = p.ring.subarray(p.next * p.frameLen, (p.next + k) * p.frameLen);
      if (o.qos === 1) {
        p.next = (p.next + k) % p.ringFrames;
        p.unacked += k;
      }
      this.published += k;
      if (!p.client.write(buf)) {
        p.blocked = true;
        p.client.link.onceDrain(() => {
          p.blocked = false;
          this.pump(p);
        });
        return;
      }
    }
    if (!p.scheduled) {
      p.scheduled = true;
      setImmediate(this.pump, p);
    }
  };

  /** Pumps every publisher that is neither scheduled nor waiting for 'drain'. */
  readonly resumeAll = (): void => {
    for (const p of this.pubs) if (!p.scheduled && !p.blocked) this.pump(p);
  };

  /**
   * A measure() onTick: a closed loop with messages in flight and no delivery for 1 s has stalled;
   * what is in flight is written off as lost, `onStall` counts it and the publishers resume.
   */
  stallWatch(onStall: () => void): () => void {
    return watchStalls(this, this.o.closedLoop, this.o.delivered, onStall);
  }
}

/** What a stall watch writes off and resumes. */
export interface StallTarget {
  published: number;
  lost: number;
  inflight(): number;
  resumeAll(): void;
}

/** The stall watch of any closed loop (PublisherLoad's, and the MQTT-SN scenario's). */
export function watchStalls(load: StallTarget, closedLoop: boolean, delivered: () => number, onStall: () => void): () => void {
  let lastDelivered = 0;
  let lastProgress = Date.now();
  return () => {
    const now = delivered();
    if (now !== lastDelivered) {
      lastDelivered = now;
      lastProgress = Date.now();
    } else if (closedLoop && load.inflight() >= 1 && Date.now() - lastProgress >= 1_000) {
      load.lost = load.published - now;
      onStall();
      lastProgress = Date.now();
      load.resumeAll();
    }
  };
}
