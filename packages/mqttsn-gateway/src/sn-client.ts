/**
 * One MQTT-SN client (one UDP address, or one wireless node behind a forwarder) as a session of
 * the engine. The client's MQTT-SN messages become MQTT 3.1.1 packets on a BridgeConnection, so
 * authentication, ACLs, retained messages, wills, persistent sessions (also across nodes),
 * metrics and the admin API treat it like any MQTT client; outbound.ts translates the way back.
 *
 * States (6.14, Figure 4): will-topic / will-msg (the will dialogue of a CONNECT with the Will
 * flag) -> connecting (CONNECT handed to the engine, waiting for its CONNACK) -> active <->
 * asleep (DISCONNECT with a duration) <-> awake (PINGREQ of a sleeping client: what was buffered
 * is sent, then PINGRESP and asleep again) -> closed. Supervision: no message from the client
 * for 1.5 x its keep alive (asleep: 1.5 x its sleep duration) and it is lost, as is a client
 * that does not acknowledge a retransmitted message Nretry times: the engine sees a network
 * close and publishes the will.
 */
import type { Clock, TimerHandle } from '@mqtt-broker/core';
import type { Packet, Will } from '@mqtt-broker/mqtt-codec';
import {
  type ConnectPacket,
  type PublishPacket,
  ReturnCode,
  type SnPacket,
  type SnTopicRef,
  SnType,
  type SubscribePacket,
  TopicIdType,
  type UnsubscribePacket,
} from '@mqtt-broker/mqttsn-codec';
import { isValidTopicFilter, isValidTopicName } from '@mqtt-broker/topics';
import { BridgeConnection, type ConnectionAcceptor, type EngineSide } from './bridge-connection.js';
import type { GatewayObserver, SnDropReason } from './observer.js';
import { Outbound } from './outbound.js';
import type { PredefinedTopics } from './predefined.js';
import { Retransmitter } from './retransmit.js';
import { TopicIds } from './topic-ids.js';

export type ClientState = 'will-topic' | 'will-msg' | 'connecting' | 'active' | 'asleep' | 'awake' | 'closed';

/** Where a client is: its UDP address and, behind a forwarder, its wireless node id. */
export interface SnAddress {
  readonly address: string;
  readonly port: number;
  readonly wirelessNodeId: Buffer | undefined;
  /** Unique per client: `address:port` or `address:port/nodeid`. */
  readonly key: string;
}

export interface ClientHost {
  readonly acceptor: ConnectionAcceptor;
  readonly clock: Clock;
  readonly observer: GatewayObserver;
  readonly predefined: PredefinedTopics;
  readonly retryMs: number;
  readonly maxRetries: number;
  readonly maxTopicIds: number;
  /** The password-file user a client id acts as (client list), if any. */
  userFor(clientId: string): string | undefined;
  send(to: SnAddress, packet: SnPacket): void;
  removed(client: SnClient): void;
}

const RETAIN_HANDLING_SEND = 0 as const;

export class SnClient implements EngineSide {
  state: ClientState = 'connecting';
  clientId = '';
  conn: BridgeConnection | undefined = undefined;
  readonly topics: TopicIds;
  private readonly outbound: Outbound;
  private readonly retry: Retransmitter;
  private keepAliveS = 0;
  private sleepS = 0;
  private cleanSession = true;
  private willTopic: { topic: string; qos: 0 | 1 | 2; retain: boolean } | undefined = undefined;
  private willMessage: Buffer | undefined = undefined;
  /** A CONNECT of a sleeping or active client with clean session off: the engine connection is kept. */
  private resuming = false;
  /** TopicId of each client PUBLISH awaiting the engine's PUBACK (MQTT has none in its PUBACK). */
  private readonly publishTopicIds = new Map<number, number>();
  /** TopicId to report in the SUBACK of each SUBSCRIBE in flight. */
  private readonly subscribeTopicIds = new Map<number, number>();
  private lastHeard: number;
  private supervision: TimerHandle | undefined = undefined;

  constructor(
    readonly at: SnAddress,
    private readonly host: ClientHost,
  ) {
    this.topics = new TopicIds(host.predefined, host.maxTopicIds);
    this.lastHeard = host.clock.now();
    const client = this;
    this.retry = new Retransmitter({
      clock: host.clock,
      retryMs: host.retryMs,
      maxRetries: host.maxRetries,
      get asleep() {
        return client.state === 'asleep';
      },
      resend(packet) {
        host.observer.retransmitted(typeNameOf(packet));
        client.send(packet);
      },
      giveUp: () => this.lose(),
    });
    this.outbound = new Outbound(
      {
        get asleep() {
          return client.state === 'asleep';
        },
        get conn() {
          return client.conn;
        },
        send: (packet) => this.send(packet),
        dropped: (reason) => host.observer.datagramDropped(reason),
      },
      this.topics,
      host.predefined,
      this.retry,
    );
  }

  get writable(): boolean {
    return this.outbound.writable;
  }

  get connected(): boolean {
    return this.state === 'active' || this.state === 'asleep' || this.state === 'awake';
  }

  send(packet: SnPacket): void {
    this.host.send(this.at, packet);
  }

  // ---- connect and the will dialogue ----

  onConnect(p: ConnectPacket): void {
    this.heard();
    if (this.state === 'connecting' && this.conn !== undefined && p.clientId === this.clientId) return; // a retransmitted CONNECT
    if (p.protocolId !== 0x01) {
      this.send({ type: SnType.CONNACK, returnCode: ReturnCode.NOT_SUPPORTED });
      return;
    }
    const live = this.conn !== undefined && !this.conn.isClosed && this.connected;
    this.resuming = live && !p.cleanSession && p.clientId === this.clientId;
    if (live && !this.resuming) this.detachEngine();
    this.clientId = p.clientId;
    this.keepAliveS = p.duration;
    this.cleanSession = p.cleanSession;
    if (p.will) {
      this.state = 'will-topic';
      this.send({ type: SnType.WILLTOPICREQ });
      this.armSupervision();
      return;
    }
    this.willTopic = undefined;
    this.willMessage = undefined;
    this.finishConnect();
  }

  private finishConnect(): void {
    if (this.resuming && this.conn !== undefined) {
      this.conn.replaceWill(this.currentWill());
      this.state = 'active';
      this.send({ type: SnType.CONNACK, returnCode: ReturnCode.ACCEPTED });
      this.outbound.wake();
      this.armSupervision();
      return;
    }
    this.state = 'connecting';
    const conn = new BridgeConnection(this.at.address, this.at.port, this, this.host.acceptor);
    this.conn = conn;
    const username = this.host.userFor(this.clientId);
    const will = this.currentWill();
    conn.send({
      type: 1,
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: this.cleanSession,
      keepAlive: 0, // supervised here: the engine cannot know about sleep durations
      clientId: this.clientId,
      ...(will !== undefined ? { will } : {}),
      ...(username !== undefined ? { username } : {}),
    });
    this.armSupervision();
  }

  private currentWill(): Will | undefined {
    const t = this.willTopic;
    if (t === undefined) return undefined;
    return { topic: t.topic, qos: t.qos, retain: t.retain, payload: this.willMessage ?? Buffer.alloc(0) };
  }

  // ---- from the client ----

  fromSn(p: SnPacket): void {
    this.heard();
    switch (p.type) {
      case SnType.WILLTOPIC:
        if (this.state !== 'will-topic') {
          this.drop('unexpected');
          return;
        }
        if (p.topic === undefined || !isValidTopicName(p.topic)) {
          this.willTopic = undefined;
          this.willMessage = undefined;
          this.finishConnect();
          return;
        }
        this.willTopic = { topic: p.topic, qos: p.qos, retain: p.retain };
        this.state = 'will-msg';
        this.send({ type: SnType.WILLMSGREQ });
        return;
      case SnType.WILLMSG:
        if (this.state !== 'will-msg') {
          this.drop('unexpected');
          return;
        }
        this.willMessage = Buffer.from(p.message);
        this.finishConnect();
        return;
      case SnType.WILLTOPICUPD:
        this.updateWillTopic(p.topic, p.qos, p.retain);
        return;
      case SnType.WILLMSGUPD:
        this.updateWillMessage(p.message);
        return;
      case SnType.REGISTER:
        this.onRegister(p.msgId, p.topicName);
        return;
      case SnType.REGACK:
        if (!this.outbound.onRegack(p.msgId, p.returnCode)) this.drop('unexpected');
        this.afterAck();
        return;
      case SnType.PUBLISH:
        this.onPublish(p);
        return;
      case SnType.PUBACK:
        if (this.outbound.onPuback(p.msgId, p.topicId, p.returnCode)) this.conn?.send({ type: 4, packetId: p.msgId });
        else this.drop('unexpected');
        this.afterAck();
        return;
      case SnType.PUBREC:
        if (this.outbound.onPubrec(p.msgId)) this.conn?.send({ type: 5, packetId: p.msgId });
        else this.drop('unexpected');
        return;
      case SnType.PUBCOMP:
        if (this.outbound.onPubcomp(p.msgId)) this.conn?.send({ type: 7, packetId: p.msgId });
        else this.drop('unexpected');
        this.afterAck();
        return;
      case SnType.PUBREL:
        if (!this.connected) {
          this.drop('not_connected');
          return;
        }
        this.conn?.send({ type: 6, packetId: p.msgId });
        return;
      case SnType.SUBSCRIBE:
        this.onSubscribe(p);
        return;
      case SnType.UNSUBSCRIBE:
        this.onUnsubscribe(p);
        return;
      case SnType.PINGREQ:
        this.onPingreq();
        return;
      case SnType.DISCONNECT:
        this.onDisconnect(p.duration);
        return;
      default:
        this.drop('unexpected');
        return;
    }
  }

  private onRegister(msgId: number, name: string): void {
    if (!this.connected) {
      this.drop('not_connected');
      return;
    }
    if (!isValidTopicName(name)) {
      this.send({ type: SnType.REGACK, topicId: 0, msgId, returnCode: ReturnCode.NOT_SUPPORTED });
      return;
    }
    const id = this.topics.register(name);
    this.send({ type: SnType.REGACK, topicId: id ?? 0, msgId, returnCode: id === undefined ? ReturnCode.CONGESTION : ReturnCode.ACCEPTED });
  }

  private onPublish(p: PublishPacket): void {
    if (!this.connected) {
      this.drop('not_connected');
      return;
    }
    const topic = this.topics.resolve(p.topicIdType, p.topicId);
    if (topic === undefined || !isValidTopicName(topic)) {
      // 6.6: an unknown topic id is answered with PUBACK "rejected: invalid topic ID" at any QoS
      this.send({ type: SnType.PUBACK, topicId: p.topicId, msgId: p.msgId, returnCode: ReturnCode.INVALID_TOPIC_ID });
      this.drop('unknown_topic_id');
      return;
    }
    const qos = p.qos === -1 ? 0 : p.qos;
    if (qos > 0 && p.msgId === 0) {
      this.drop('malformed');
      return;
    }
    if (this.conn?.readingPaused === true) {
      if (qos > 0) this.send({ type: SnType.PUBACK, topicId: p.topicId, msgId: p.msgId, returnCode: ReturnCode.CONGESTION });
      this.drop('congested');
      return;
    }
    if (qos > 0) this.publishTopicIds.set(p.msgId, p.topicId);
    this.conn?.send({ type: 3, dup: p.dup, qos, retain: p.retain, topic, payload: p.data, ...(qos > 0 ? { packetId: p.msgId } : {}) });
  }

  /** The filter a SUBSCRIBE/UNSUBSCRIBE names, and the TopicId its SUBACK reports; undefined: unknown predefined id. */
  private filterOf(ref: SnTopicRef): { filter: string; topicId: number } | undefined {
    if (ref.topicIdType === TopicIdType.PREDEFINED) {
      const filter = this.host.predefined.byId.get(ref.topicId);
      return filter === undefined ? undefined : { filter, topicId: ref.topicId };
    }
    return { filter: ref.topicName, topicId: 0 };
  }

  private onSubscribe(p: SubscribePacket): void {
    if (!this.connected) {
      this.drop('not_connected');
      return;
    }
    const target = this.filterOf(p);
    if (target === undefined || !isValidTopicFilter(target.filter)) {
      this.send({ type: SnType.SUBACK, qos: 0, topicId: 0, msgId: p.msgId, returnCode: ReturnCode.INVALID_TOPIC_ID });
      return;
    }
    if (p.msgId === 0) {
      this.drop('malformed');
      return;
    }
    let topicId = target.topicId;
    // 6.9: a topic name without wildcards gets its normal topic id in the SUBACK
    if (p.topicIdType === TopicIdType.NORMAL && isValidTopicName(target.filter)) topicId = this.topics.register(target.filter) ?? 0;
    this.subscribeTopicIds.set(p.msgId, topicId);
    this.conn?.send({
      type: 8,
      packetId: p.msgId,
      subscriptions: [{ topicFilter: target.filter, qos: p.qos, noLocal: false, retainAsPublished: false, retainHandling: RETAIN_HANDLING_SEND }],
    });
  }

  private onUnsubscribe(p: UnsubscribePacket): void {
    if (!this.connected) {
      this.drop('not_connected');
      return;
    }
    const target = this.filterOf(p);
    if (target === undefined || p.msgId === 0) {
      this.send({ type: SnType.UNSUBACK, msgId: p.msgId });
      return;
    }
    this.conn?.send({ type: 10, packetId: p.msgId, topicFilters: [target.filter] });
  }

  private onPingreq(): void {
    if (!this.connected) {
      this.drop('not_connected');
      return;
    }
    if (this.state !== 'asleep') {
      if (this.state !== 'awake') this.send({ type: SnType.PINGRESP });
      return;
    }
    // 6.14: a sleeping client woke up; it gets what was buffered, then PINGRESP, and sleeps again
    this.state = 'awake';
    this.outbound.wake();
    this.afterAck();
  }

  private afterAck(): void {
    if (this.state === 'awake' && this.outbound.idle) {
      this.send({ type: SnType.PINGRESP });
      this.state = 'asleep';
      this.armSupervision();
    }
  }

  private onDisconnect(duration: number | undefined): void {
    if (!this.connected) {
      this.send({ type: SnType.DISCONNECT });
      this.dispose();
      return;
    }
    this.send({ type: SnType.DISCONNECT });
    if (duration === undefined || duration === 0) {
      const conn = this.conn;
      this.dispose();
      conn?.send({ type: 14, reasonCode: 0 }); // the will is discarded, a clean session ends
      return;
    }
    this.sleepS = duration;
    this.state = 'asleep';
    this.armSupervision();
  }

  private updateWillTopic(topic: string | undefined, qos: 0 | 1 | 2, retain: boolean): void {
    if (!this.connected) {
      this.drop('not_connected');
      return;
    }
    if (topic !== undefined && !isValidTopicName(topic)) {
      this.send({ type: SnType.WILLTOPICRESP, returnCode: ReturnCode.NOT_SUPPORTED });
      return;
    }
    this.willTopic = topic === undefined ? undefined : { topic, qos, retain };
    if (topic === undefined) this.willMessage = undefined;
    this.conn?.replaceWill(this.currentWill());
    this.send({ type: SnType.WILLTOPICRESP, returnCode: ReturnCode.ACCEPTED });
  }

  private updateWillMessage(message: Buffer): void {
    if (!this.connected) {
      this.drop('not_connected');
      return;
    }
    if (this.willTopic === undefined) {
      this.send({ type: SnType.WILLMSGRESP, returnCode: ReturnCode.NOT_SUPPORTED });
      return;
    }
    this.willMessage = Buffer.from(message);
    this.conn?.replaceWill(this.currentWill());
    this.send({ type: SnType.WILLMSGRESP, returnCode: ReturnCode.ACCEPTED });
  }

  // ---- from the engine ----

  fromEngine(packet: Packet, conn: BridgeConnection): void {
    if (conn !== this.conn) return;
    switch (packet.type) {
      case 2:
        if (packet.reasonCode === 0) {
          this.state = 'active';
          this.send({ type: SnType.CONNACK, returnCode: ReturnCode.ACCEPTED });
          this.armSupervision();
        } else {
          // 3.1.1 return codes: 3 server unavailable (busy, draining) -> congestion; others refused
          this.send({ type: SnType.CONNACK, returnCode: packet.reasonCode === 3 ? ReturnCode.CONGESTION : ReturnCode.NOT_SUPPORTED });
          this.dispose();
        }
        return;
      case 3:
        this.outbound.deliver(packet);
        return;
      case 4:
      case 7: {
        const topicId = this.publishTopicIds.get(packet.packetId) ?? 0;
        this.publishTopicIds.delete(packet.packetId);
        if (packet.type === 4) this.send({ type: SnType.PUBACK, topicId, msgId: packet.packetId, returnCode: ReturnCode.ACCEPTED });
        else this.send({ type: SnType.PUBCOMP, msgId: packet.packetId });
        return;
      }
      case 5:
        this.send({ type: SnType.PUBREC, msgId: packet.packetId });
        return;
      case 6:
        if (!this.outbound.sendPubrel(packet.packetId)) conn.send({ type: 7, packetId: packet.packetId });
        return;
      case 9: {
        const code = packet.reasonCodes[0] ?? 0x80;
        const topicId = this.subscribeTopicIds.get(packet.packetId) ?? 0;
        this.subscribeTopicIds.delete(packet.packetId);
        const granted = code < 0x80;
        this.send({
          type: SnType.SUBACK,
          qos: granted ? (code as 0 | 1 | 2) : 0,
          topicId: granted ? topicId : 0,
          msgId: packet.packetId,
          returnCode: granted ? ReturnCode.ACCEPTED : ReturnCode.NOT_SUPPORTED,
        });
        return;
      }
      case 11:
        this.send({ type: SnType.UNSUBACK, msgId: packet.packetId });
        return;
      default:
        return;
    }
  }

  engineClosed(conn: BridgeConnection): void {
    if (conn !== this.conn) return;
    this.conn = undefined;
    if (this.state === 'closed') return;
    // Kicked, taken over by a connection elsewhere, refused, or the node is shutting down.
    this.send({ type: SnType.DISCONNECT });
    this.dispose();
  }

  // ---- lifecycle ----

  /** Lost without a DISCONNECT: the engine sees a network close and publishes the will. */
  lose(): void {
    const conn = this.conn;
    this.dispose();
    conn?.lose();
  }

  /** A new CONNECT replaces the engine connection: the old one ends with a DISCONNECT (no will). */
  private detachEngine(): void {
    const conn = this.conn;
    this.conn = undefined;
    this.outbound.clear();
    this.publishTopicIds.clear();
    this.subscribeTopicIds.clear();
    conn?.send({ type: 14, reasonCode: 0 });
  }

  dispose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.conn = undefined;
    this.outbound.clear();
    if (this.supervision !== undefined) this.host.clock.clearTimer(this.supervision);
    this.supervision = undefined;
    this.host.removed(this);
  }

  get asleep(): boolean {
    return this.state === 'asleep';
  }

  private heard(): void {
    this.lastHeard = this.host.clock.now();
  }

  private drop(reason: SnDropReason): void {
    this.host.observer.datagramDropped(reason);
  }

  /** One timer per client, re-armed lazily: it fires, checks lastHeard and sleeps again for the rest. */
  private armSupervision(): void {
    if (this.supervision !== undefined) this.host.clock.clearTimer(this.supervision);
    this.supervision = undefined;
    const periodMs = this.supervisionMs();
    if (periodMs === 0) return;
    const check = (): void => {
      this.supervision = undefined;
      if (this.state === 'closed') return;
      const silentMs = this.host.clock.now() - this.lastHeard;
      const limit = this.supervisionMs();
      if (limit === 0) return;
      if (silentMs >= limit) this.lose();
      else this.supervision = this.host.clock.setTimer(limit - silentMs, check);
    };
    this.supervision = this.host.clock.setTimer(periodMs, check);
  }

  private supervisionMs(): number {
    if (this.state === 'will-topic' || this.state === 'will-msg' || this.state === 'connecting') return this.host.retryMs * (this.host.maxRetries + 1);
    const seconds = this.state === 'asleep' ? this.sleepS : this.keepAliveS;
    return seconds * 1500;
  }
}

function typeNameOf(p: SnPacket): string {
  return p.type === SnType.PUBLISH ? 'publish' : p.type === SnType.PUBREL ? 'pubrel' : 'register';
}
