/**
 * The MQTT-SN gateway of one node: datagrams in, datagrams out, no socket of its own (the
 * service binds the UDP socket and calls `onDatagram`; `send` goes back to it).
 *
 * Per datagram: size cap, then the per-address rate limit, then decoding; an Encapsulated
 * message (0xFE) is unwrapped and its wireless node becomes a client of its own, answered
 * through the same forwarder, wrapped again. Whatever goes wrong with one datagram or one
 * client is counted and dropped (or closes that client): it never throws out of onDatagram.
 * SEARCHGW is answered with GWINFO; ADVERTISE goes out every `advertise.seconds` when configured.
 */
import { type Clock, systemClock, type TimerHandle } from '@mqtt-broker/core';
import { decodeSn, encapsulate, encodeSn, MqttSnDecodeError, type SnPacket, SnType, snTypeName, TopicIdType } from '@mqtt-broker/mqttsn-codec';
import { AddressGuard } from './address-guard.js';
import type { ConnectionAcceptor } from './bridge-connection.js';
import { type GatewayObserver, type GatewayStats, noopGatewayObserver } from './observer.js';
import { NO_PREDEFINED_TOPICS, type PredefinedTopics } from './predefined.js';
import { QosMinusOnePublisher } from './qos-minus-one.js';
import { type ClientHost, type SnAddress, SnClient } from './sn-client.js';

export interface GatewayOptions {
  acceptor: ConnectionAcceptor;
  /** Sends one datagram (the service's UDP socket). */
  send(datagram: Buffer, address: string, port: number): void;
  /** GwId of ADVERTISE and GWINFO, 0-255. */
  gatewayId: number;
  /** Node id: names the QoS -1 publisher `mqttsn-qos-1@<nodeId>`. */
  nodeId: string;
  predefined?: PredefinedTopics;
  /** The password-file user a client id acts as; undefined: none (anonymous, or allow-listed without a user). */
  userFor?(clientId: string): string | undefined;
  /** Tretry, ms (default 10,000). */
  retryMs?: number;
  /** Nretry (default 3). */
  maxRetries?: number;
  /** Larger datagrams are dropped unread (default 2048). */
  maxDatagramBytes?: number;
  /** Datagrams per second per source address; 0 = unlimited (default 500). */
  ratePerAddress?: number;
  /** Clients behind one source address (forwarders carry many; default 1000). */
  maxClientsPerAddress?: number;
  /** Normal topic ids per client (default 1000). */
  maxTopicIdsPerClient?: number;
  /** Periodic ADVERTISE to a broadcast or multicast address. */
  advertise?: { address: string; port: number; seconds: number };
  observer?: GatewayObserver;
  clock?: Clock;
}

const SWEEP_MS = 60_000;

export class MqttSnGateway {
  private readonly clients = new Map<string, SnClient>();
  private readonly guard: AddressGuard;
  private readonly host: ClientHost;
  private readonly publisher: QosMinusOnePublisher;
  private readonly observer: GatewayObserver;
  private readonly clock: Clock;
  private readonly maxDatagramBytes: number;
  private readonly predefined: PredefinedTopics;
  private timers: TimerHandle[] = [];
  private closed = false;

  constructor(private readonly options: GatewayOptions) {
    this.observer = options.observer ?? noopGatewayObserver;
    this.clock = options.clock ?? systemClock;
    this.predefined = options.predefined ?? NO_PREDEFINED_TOPICS;
    this.maxDatagramBytes = options.maxDatagramBytes ?? 2048;
    this.guard = new AddressGuard(options.ratePerAddress ?? 500, options.maxClientsPerAddress ?? 1000);
    const userFor = options.userFor ?? (() => undefined);
    this.host = {
      acceptor: options.acceptor,
      clock: this.clock,
      observer: this.observer,
      predefined: this.predefined,
      retryMs: options.retryMs ?? 10_000,
      maxRetries: options.maxRetries ?? 3,
      maxTopicIds: options.maxTopicIdsPerClient ?? 1000,
      userFor,
      send: (to, packet) => this.sendTo(to, packet),
      removed: (client) => this.removed(client),
    };
    const publisherId = `mqttsn-qos-1@${options.nodeId}`;
    this.publisher = new QosMinusOnePublisher(options.acceptor, this.clock, publisherId, userFor(publisherId));
    this.every(SWEEP_MS, () => this.guard.sweep(this.clock.now(), SWEEP_MS));
    const adv = options.advertise;
    if (adv !== undefined && adv.seconds > 0) {
      const advertise = (): void => this.sendRaw({ type: SnType.ADVERTISE, gwId: options.gatewayId, duration: adv.seconds }, adv.address, adv.port);
      advertise();
      this.every(adv.seconds * 1000, advertise);
    }
  }

  stats(): GatewayStats {
    let clientsAwake = 0;
    let clientsAsleep = 0;
    let registeredTopicIds = 0;
    for (const c of this.clients.values()) {
      if (c.asleep) clientsAsleep++;
      else if (c.connected) clientsAwake++;
      registeredTopicIds += c.topics.size;
    }
    return { clientsAwake, clientsAsleep, registeredTopicIds };
  }

  onDatagram(datagram: Buffer, address: string, port: number): void {
    if (this.closed) return;
    if (datagram.length > this.maxDatagramBytes) {
      this.observer.datagramDropped('oversize');
      return;
    }
    if (!this.guard.allow(address, this.clock.now())) {
      this.observer.datagramDropped('rate_limited');
      return;
    }
    let packet: SnPacket;
    let at: SnAddress;
    try {
      packet = decodeSn(datagram);
      at = { address, port, wirelessNodeId: undefined, key: `${address}:${port}` };
      if (packet.type === SnType.ENCAPSULATED) {
        this.observer.packetReceived('encapsulated');
        const nodeId = Buffer.from(packet.wirelessNodeId);
        at = { address, port, wirelessNodeId: nodeId, key: `${address}:${port}/${nodeId.toString('hex')}` };
        packet = decodeSn(packet.message);
        if (packet.type === SnType.ENCAPSULATED) {
          this.observer.datagramDropped('malformed');
          return;
        }
      }
    } catch (err) {
      if (err instanceof MqttSnDecodeError) {
        this.observer.datagramDropped(err.reason);
        return;
      }
      throw err;
    }
    this.observer.packetReceived(snTypeName(packet.type));
    const client = this.clients.get(at.key);
    try {
      this.dispatch(packet, at, client);
    } catch (err) {
      // A bug must cost one client, never the gateway.
      this.observer.clientError(client?.clientId, err);
      client?.lose();
    }
  }

  private dispatch(packet: SnPacket, at: SnAddress, client: SnClient | undefined): void {
    switch (packet.type) {
      case SnType.SEARCHGW:
        this.sendTo(at, { type: SnType.GWINFO, gwId: this.options.gatewayId });
        return;
      case SnType.ADVERTISE:
      case SnType.GWINFO:
        return; // another gateway's, or a client answering for us
      case SnType.CONNECT: {
        let c = client;
        if (c === undefined) {
          if (!this.guard.addClient(at.address, this.clock.now())) {
            this.sendTo(at, { type: SnType.CONNACK, returnCode: 0x01 });
            this.observer.datagramDropped('too_many_clients');
            return;
          }
          c = new SnClient(at, this.host);
          this.clients.set(at.key, c);
        }
        c.onConnect(packet);
        return;
      }
      case SnType.PUBLISH:
        if (packet.qos === -1 && (client === undefined || !client.connected)) {
          this.publishWithoutConnection(packet.topicIdType, packet.topicId, packet.data, packet.retain);
          return;
        }
        break;
      default:
        break;
    }
    if (client === undefined) {
      // 6.14: a DISCONNECT of an unknown client is answered, so a confused client can start over
      if (packet.type === SnType.DISCONNECT) this.sendTo(at, { type: SnType.DISCONNECT });
      this.observer.datagramDropped('not_connected');
      return;
    }
    client.fromSn(packet);
  }

  private publishWithoutConnection(topicIdType: number, topicId: number, data: Buffer, retain: boolean): void {
    const topic =
      topicIdType === TopicIdType.PREDEFINED
        ? this.predefined.byId.get(topicId)
        : topicIdType === TopicIdType.SHORT
          ? String.fromCharCode(topicId >> 8, topicId & 0xff)
          : undefined;
    if (topic === undefined) {
      this.observer.datagramDropped('unknown_topic_id');
      return;
    }
    if (!this.publisher.publish(topic, data, retain)) this.observer.datagramDropped('not_authorized');
  }

  private removed(client: SnClient): void {
    if (this.clients.get(client.at.key) !== client) return;
    this.clients.delete(client.at.key);
    this.guard.removeClient(client.at.address);
  }

  private sendTo(to: SnAddress, packet: SnPacket): void {
    if (this.closed) return;
    let datagram = encodeSn(packet);
    if (to.wirelessNodeId !== undefined) datagram = encapsulate(datagram, to.wirelessNodeId);
    this.observer.packetSent(snTypeName(packet.type));
    this.options.send(datagram, to.address, to.port);
  }

  private sendRaw(packet: SnPacket, address: string, port: number): void {
    this.observer.packetSent(snTypeName(packet.type));
    this.options.send(encodeSn(packet), address, port);
  }

  private every(ms: number, fn: () => void): void {
    const index = this.timers.length;
    const tick = (): void => {
      if (this.closed) return;
      fn();
      this.timers[index] = this.clock.setTimer(ms, tick);
    };
    this.timers.push(this.clock.setTimer(ms, tick));
  }

  /**
   * Stops: clients are left to the engine (its drain or close ends their connections and saves
   * persistent sessions, exactly as for MQTT clients); nothing more is sent.
   */
  close(): void {
    if (this.closed) return;
    for (const t of this.timers) this.clock.clearTimer(t);
    this.publisher.close();
    this.closed = true;
  }
}
