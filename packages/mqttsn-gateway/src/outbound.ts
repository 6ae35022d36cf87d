/**
 * Engine -> client: MQTT PUBLISH/PUBREL from the client's session become MQTT-SN messages.
 *
 * A topic is sent as its predefined id when it has one, as a short name when it is two
 * characters long, as a normal id when the client or the gateway registered it; otherwise the
 * gateway REGISTERs it first (6.10: how wildcard subscriptions get their topic ids) and holds
 * this and every later PUBLISH, in order, until the REGACK. While the client sleeps, what the
 * engine still writes is parked here (a few messages: the first write while asleep makes the
 * engine queue the rest in the session) and sent when it wakes.
 */
import type { PublishPacket as MqttPublish } from '@mqtt-broker/mqtt-codec';
import { ReturnCode, type SnPacket, SnType, shortTopicId, TopicIdType, type TopicIdTypeCode } from '@mqtt-broker/mqttsn-codec';
import type { BridgeConnection } from './bridge-connection.js';
import type { PredefinedTopics } from './predefined.js';
import type { Retransmitter } from './retransmit.js';
import type { TopicIds } from './topic-ids.js';

/** PUBLISHes held behind a pending REGISTER before the engine is asked to stop writing. */
const MAX_WAITING = 64;
/** Messages parked for a sleeping client at most (the session queue holds the rest). */
const MAX_PARKED = 256;

export interface OutboundHost {
  readonly asleep: boolean;
  readonly conn: BridgeConnection | undefined;
  send(packet: SnPacket): void;
  dropped(reason: 'congested' | 'unknown_topic_id'): void;
}

export class Outbound {
  private readonly waiting: MqttPublish[] = [];
  private registering: { msgId: number; topicId: number; topic: string } | undefined = undefined;
  private parked: SnPacket[] = [];
  private nextMsgId = 1;
  /** The engine was told "not writable" and waits for drain(). */
  private engineBlocked = false;
  /** QoS 2 ids the client never saw (dropped): the engine's PUBREL is answered here. */
  private swallowed: Set<number> | undefined = undefined;

  constructor(
    private readonly host: OutboundHost,
    private readonly topics: TopicIds,
    private readonly predefined: PredefinedTopics,
    private readonly retry: Retransmitter,
  ) {}

  get writable(): boolean {
    const ok = !this.host.asleep && this.waiting.length < MAX_WAITING;
    if (!ok) this.engineBlocked = true;
    return ok;
  }

  /** Nothing sent and unacknowledged, nothing held: a waking client may go back to sleep. */
  get idle(): boolean {
    return this.retry.size === 0 && this.waiting.length === 0 && this.registering === undefined && this.parked.length === 0;
  }

  deliver(pub: MqttPublish): void {
    if (this.registering !== undefined || this.waiting.length > 0) {
      this.waiting.push(pub);
      return;
    }
    const topic = pub.topic;
    const predefinedId = this.predefined.byName.get(topic);
    if (predefinedId !== undefined) {
      this.sendPublish(pub, TopicIdType.PREDEFINED, predefinedId);
      return;
    }
    if (Buffer.byteLength(topic) === 2) {
      this.sendPublish(pub, TopicIdType.SHORT, shortTopicId(topic));
      return;
    }
    const known = this.topics.idOf(topic);
    if (known !== undefined) {
      this.sendPublish(pub, TopicIdType.NORMAL, known);
      return;
    }
    const id = this.topics.register(topic);
    if (id === undefined) {
      this.abandon(pub, 'congested');
      return;
    }
    this.waiting.push(pub);
    const msgId = this.allocateMsgId();
    this.registering = { msgId, topicId: id, topic };
    this.transmit({ type: SnType.REGISTER, topicId: id, msgId, topicName: topic }, `r${msgId}`);
  }

  onRegack(msgId: number, returnCode: number): boolean {
    const reg = this.registering;
    if (reg === undefined || reg.msgId !== msgId) return false;
    this.retry.ack(`r${msgId}`);
    this.registering = undefined;
    const held = this.waiting.splice(0);
    if (returnCode !== ReturnCode.ACCEPTED) {
      // The refused topic's messages cannot reach this client; the others are tried again.
      this.topics.forget(reg.topicId);
      for (const pub of held) if (pub.topic === reg.topic) this.abandon(pub, 'unknown_topic_id');
      this.redeliver(held.filter((pub) => pub.topic !== reg.topic));
      return true;
    }
    this.redeliver(held);
    return true;
  }

  /** PUBACK from the client (its QoS 1 delivery done). 0x02: it lost the topic id. */
  onPuback(msgId: number, topicId: number, returnCode: number): boolean {
    if (!this.retry.ack(`p${msgId}`)) return false;
    if (returnCode === ReturnCode.INVALID_TOPIC_ID) this.topics.forget(topicId);
    return true;
  }

  onPubrec(msgId: number): boolean {
    return this.retry.ack(`p${msgId}`);
  }

  onPubcomp(msgId: number): boolean {
    return this.retry.ack(`l${msgId}`);
  }

  /** The engine's PUBREL for an outbound QoS 2 message. Returns false when it was answered here. */
  sendPubrel(msgId: number): boolean {
    if (this.swallowed?.delete(msgId) === true) return false;
    this.transmit({ type: SnType.PUBREL, msgId }, `l${msgId}`);
    return true;
  }

  /** The client woke: parked messages go out, unacknowledged ones again, the engine may write. */
  wake(): void {
    this.retry.resumeAll(); // sent before the sleep and not acknowledged
    const parked = this.parked;
    this.parked = [];
    for (const p of parked) this.transmit(p, keyOf(p));
    this.unblock();
  }

  clear(): void {
    this.retry.clear();
    this.waiting.length = 0;
    this.parked = [];
    this.registering = undefined;
  }

  private redeliver(held: MqttPublish[]): void {
    for (let i = 0; i < held.length; i++) {
      if (this.registering !== undefined) {
        this.waiting.push(...held.slice(i));
        break;
      }
      this.deliver(held[i]!);
    }
    this.unblock();
  }

  private unblock(): void {
    if (this.engineBlocked && this.writable) {
      this.engineBlocked = false;
      this.host.conn?.drain();
    }
  }

  /** A message this client cannot get: its exchange with the engine is completed so nothing hangs. */
  private abandon(pub: MqttPublish, reason: 'congested' | 'unknown_topic_id'): void {
    this.host.dropped(reason);
    const id = pub.packetId;
    if (id === undefined) return;
    if (pub.qos === 1) this.host.conn?.send({ type: 4, packetId: id });
    else {
      (this.swallowed ??= new Set()).add(id);
      this.host.conn?.send({ type: 5, packetId: id });
    }
  }

  private sendPublish(pub: MqttPublish, topicIdType: TopicIdTypeCode, topicId: number): void {
    const msgId = pub.packetId ?? 0;
    // The payload is a view into the engine's frame; a parked message must not hold that.
    const data = this.host.asleep ? Buffer.from(pub.payload) : pub.payload;
    const packet: SnPacket = { type: SnType.PUBLISH, dup: pub.dup, qos: pub.qos, retain: pub.retain, topicIdType, topicId, msgId, data };
    this.transmit(packet, pub.qos > 0 ? `p${msgId}` : undefined);
  }

  private transmit(packet: SnPacket, retryKey: string | undefined): void {
    if (this.host.asleep) {
      if (this.parked.length >= MAX_PARKED) this.host.dropped('congested');
      else this.parked.push(packet);
      return;
    }
    this.host.send(packet);
    if (retryKey !== undefined) this.retry.arm(retryKey, packet);
  }

  private allocateMsgId(): number {
    const id = this.nextMsgId;
    this.nextMsgId = id === 0xffff ? 1 : id + 1;
    return id;
  }
}

function keyOf(p: SnPacket): string | undefined {
  if (p.type === SnType.REGISTER) return `r${p.msgId}`;
  if (p.type === SnType.PUBREL) return `l${p.msgId}`;
  if (p.type === SnType.PUBLISH && p.qos > 0) return `p${p.msgId}`;
  return undefined;
}
