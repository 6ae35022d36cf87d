import type { QoS } from '@mqtt-broker/mqtt-codec';
import type { Broker, BrokerObserver, DropReason, LimitName } from '../src/index.js';
import { createBroker, type EngineOptions } from '../src/index.js';
import { ManualClock } from '../src/testing/index.js';

/** An observer that records what tests assert on. */
export class RecordingObserver implements BrokerObserver {
  readonly events: Array<{ kind: string; info: unknown }> = [];
  readonly drops: Array<{ qos: QoS; reason: DropReason }> = [];
  readonly limits: LimitName[] = [];
  published = 0;
  delivered = 0;
  connectionOpened(): void {}
  clientConnected(info: unknown): void {
    this.events.push({ kind: 'connected', info });
  }
  connectRejected(info: unknown): void {
    this.events.push({ kind: 'rejected', info });
  }
  clientDisconnected(info: unknown): void {
    this.events.push({ kind: 'disconnected', info });
  }
  connectionClosedBeforeConnect(info: unknown): void {
    this.events.push({ kind: 'closedBeforeConnect', info });
  }
  protocolViolation(info: unknown): void {
    this.events.push({ kind: 'violation', info });
  }
  packetReceived(): void {}
  packetSent(): void {}
  messagePublished(): void {
    this.published++;
  }
  messageDelivered(): void {
    this.delivered++;
  }
  messageDropped(qos: QoS, reason: DropReason): void {
    this.drops.push({ qos, reason });
  }
  limitHit(limit: LimitName): void {
    this.limits.push(limit);
  }
  kinds(kind: string): unknown[] {
    return this.events.filter((e) => e.kind === kind).map((e) => e.info);
  }
}

export interface Setup {
  broker: Broker;
  clock: ManualClock;
  observer: RecordingObserver;
}

export function setup(options: Partial<EngineOptions> = {}): Setup {
  const clock = new ManualClock();
  const observer = new RecordingObserver();
  const broker = createBroker({ nodeId: 'test', version: '0.0.0-test', clock, observer, ...options });
  return { broker, clock, observer };
}
