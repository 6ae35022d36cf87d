import { PacketType, type QoS, type Subscription } from '@mqtt-broker/mqtt-codec';
import type { Broker, BrokerObserver, DropReason, LimitName, QuotaExceededInfo, QuotaName } from '../src/index.js';
import { createBroker, type EngineOptions } from '../src/index.js';
import { ManualClock, TestClient } from '../src/testing/index.js';

/** An observer that records what tests assert on. */
export class RecordingObserver implements BrokerObserver {
  readonly events: Array<{ kind: string; info: unknown }> = [];
  readonly drops: Array<{ qos: QoS; reason: DropReason }> = [];
  readonly limits: LimitName[] = [];
  readonly quotaRefusals: QuotaName[] = [];
  readonly quotaEvents: QuotaExceededInfo[] = [];
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
  quotaRefused(quota: QuotaName): void {
    this.quotaRefusals.push(quota);
  }
  quotaExceeded(info: QuotaExceededInfo): void {
    this.quotaEvents.push(info);
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

export function sub(topicFilter: string, qos: QoS = 0, extra: Partial<Subscription> = {}): Subscription {
  return { topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0, ...extra };
}

export async function subscriber(broker: Broker, clientId: string, filters: Subscription[], version: 3 | 4 | 5 = 4, clean = true): Promise<TestClient> {
  const c = new TestClient(broker, version);
  await c.connect({ clientId, clean, ...(version === 5 && !clean ? { properties: { sessionExpiryInterval: 3600 } } : {}) });
  c.send({ type: PacketType.SUBSCRIBE, packetId: 1, subscriptions: filters });
  c.expect(PacketType.SUBACK);
  return c;
}


export function publish(c: TestClient, topic: string, payload: string, qos: QoS = 0, extra: Record<string, unknown> = {}): void {
  c.send({ type: PacketType.PUBLISH, dup: false, qos, retain: false, topic, packetId: qos > 0 ? nextId() : undefined, payload: Buffer.from(payload), ...extra });
}

let id = 0;
function nextId(): number {
  id = (id % 60000) + 1;
  return id;
}

/** Payloads of the PUBLISH packets received since the last take(). */
export function payloads(c: TestClient): string[] {
  const out: string[] = [];
  for (const p of c.take()) if (p.type === PacketType.PUBLISH) out.push(p.payload.toString());
  return out;
}
