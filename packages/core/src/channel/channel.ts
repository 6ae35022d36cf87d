/**
 * One client connection's MQTT state machine (MQTT 5.0 / 3.1.1 section 3 and 4).
 *
 * States: AWAITING_CONNECT -> CONNECTING (authentication, possibly async or an AUTH exchange;
 * packets that arrive meanwhile are held and replayed in order after the CONNACK) -> CONNECTED
 * -> CLOSED. Bytes come in through `onData` (ConnectionHandler), are parsed by the codec's
 * streaming parser and dispatched per packet type to the handlers in this directory. The channel
 * is also the session's `Outlet`: it encodes outbound PUBLISH packets (shared frames, topic
 * aliases, the client's maximum packet size) and tracks socket writability (backpressure).
 *
 * Every way out goes through `teardown()` exactly once: it detaches the session, handles the
 * will and reports the disconnect.
 */
import {
  type AuthPacket,
  type DisconnectPacket,
  MqttProtocolError,
  type Packet,
  PacketParser,
  PacketType,
  type ProtocolVersion,
  type QoS,
  ReasonCode,
  serialize,
  type Will,
} from '@mqtt-broker/mqtt-codec';
import type { AuthRequest, ClientConnection, ConnectionHandler, DisconnectCause } from '../api.js';
import type { TimerHandle } from '../clock.js';
import { afterSessionSaved, durabilityOf } from '../cluster/durable.js';
import type { EngineContext } from '../engine-context.js';
import type { Message } from '../session/message.js';
import { exemptFeeder, type Feeder, type FlowBlocker, releaseFeeders } from '../session/flow-control.js';
import type { PublishQuota } from '../quota/publish-quota.js';
import type { Outlet, Session } from '../session/session.js';
import { holdWillOnShutdown, scheduleWill } from '../session/will.js';
import { handleReauth } from './auth.js';
import { handleConnect, rejectUnparsableConnect } from './connect.js';
import { ackFrame, PINGRESP_FRAME } from './frames.js';
import { encodeOutbound } from './outbound.js';
import { handlePublish, handlePubrel } from './publish-in.js';
import { PublishRate } from './publish-rate.js';
import { handleSubscribe, handleUnsubscribe } from './subscribe.js';

/** Packets accepted from a client while its CONNECT is being authenticated, at most. */
const MAX_HELD_PACKETS = 1000;

export enum ChannelState {
  AwaitingConnect = 0,
  Connecting = 1,
  Connected = 2,
  Closed = 3,
}

export class Channel implements ConnectionHandler, Outlet, Feeder {
  state: ChannelState = ChannelState.AwaitingConnect;
  readonly parser: PacketParser;
  protocolVersion: ProtocolVersion = 4;
  session: Session | undefined = undefined;
  clientId: string | undefined = undefined;
  username: string | undefined = undefined;
  will: Will | undefined = undefined;
  /** Keep alive in ms as enforced (0 = none). */
  keepAliveMs = 0;
  lastReceived: number;
  /** Session Expiry Interval given on CONNECT (for [MQTT-3.14.2-2]). */
  connectExpiry = 0;
  cleanStart = false;
  writable = true;
  sendWindow: number;
  /** Largest packet the client accepts (5.0 Maximum Packet Size). */
  clientMaxPacketSize = 0xffffffff;
  /** Topic Alias Maximum the client accepts (outbound aliases); 0 = none. */
  outAliasMax = 0;
  outAliases: Map<string, number> | undefined = undefined;
  inAliases: Map<number, string> | undefined = undefined;
  requestProblemInfo = true;
  authMethod: string | undefined = undefined;
  authRequest: AuthRequest | undefined = undefined;
  /** Set while an AUTH exchange waits for the client's next AUTH packet. */
  authWaiter: ((packet: AuthPacket) => void) | undefined = undefined;
  held: Packet[] | undefined = undefined;
  private connectTimer: TimerHandle | undefined;
  private keepAliveTimer: TimerHandle | undefined = undefined;
  private authExpiryTimer: TimerHandle | undefined = undefined;
  /** Only when a per-client publish rate is configured. */
  readonly rate: PublishRate | undefined;
  /** Set on CONNACK when an inbound quota applies to this client (QUOTA_*). */
  quota: PublishQuota | undefined = undefined;
  private firstChunk: Buffer | undefined = undefined;
  private unattributedBytes = 0;
  // Feeder (session/flow-control.ts): held back while a session this client publishes to is congested.
  flowBlockers: Set<FlowBlocker> | undefined = undefined;
  flowBlockedAt = 0;
  flowExemptUntil = 0;
  private flowHeld: Packet[] | undefined = undefined;
  /** Packets held while the authorizer fetches an answer (Authorizer.prepare), in order. */
  private authHeld: Packet[] | undefined = undefined;

  constructor(
    readonly ctx: EngineContext,
    readonly conn: ClientConnection,
  ) {
    this.parser = new PacketParser({ maxPacketSize: ctx.limits.maxPacketSize });
    this.sendWindow = ctx.limits.maxInflight;
    this.rate = ctx.limits.publishRatePerClient > 0 ? new PublishRate(this) : undefined;
    this.lastReceived = ctx.clock.now();
    this.connectTimer = ctx.clock.setTimer(ctx.limits.connectTimeoutSeconds * 1000, () => {
      this.connectTimer = undefined;
      if (this.state < ChannelState.Connected) this.closeBeforeConnect('connect_timeout', 'no CONNECT in time');
    });
  }

  /** Read through a method so that TypeScript does not narrow `state` across calls that change it. */
  isClosed(): boolean {
    return this.state === ChannelState.Closed;
  }

  // ---- ConnectionHandler ----

  onData(chunk: Buffer): void {
    if (this.state === ChannelState.Closed) return;
    this.lastReceived = this.ctx.clock.now();
    this.ctx.counters.bytesReceived += chunk.length;
    this.unattributedBytes += chunk.length;
    if (this.state === ChannelState.AwaitingConnect && this.firstChunk === undefined) this.firstChunk = chunk;
    const outer = parsing;
    parsing = this;
    try {
      this.parser.push(chunk, onParsedPacket);
    } catch (error) {
      if (this.isClosed()) return;
      if (error instanceof MqttProtocolError) this.protocolError(error.reasonCode, error.message);
      else this.protocolError(ReasonCode.ImplementationSpecificError, `internal error: ${String(error)}`);
    } finally {
      parsing = outer;
    }
  }

  onDrain(): void {
    if (this.state === ChannelState.Closed) return;
    this.writable = true;
    this.session?.pump();
  }

  onClose(_hadError: boolean): void {
    if (this.state === ChannelState.Closed) return;
    if (this.session === undefined) this.closeBeforeConnect('network', 'connection closed before CONNACK');
    else this.teardown('network', ReasonCode.UnspecifiedError, true);
  }

  onReadOverflow(): void {
    // Only flow control's hold gives way (its subscribers' queue limits then apply); a client
    // that keeps sending past a rate limit or a pending authorization is closed by the transport.
    if (this.flowBlockers !== undefined && this.authHeld === undefined && this.rate?.held === undefined) exemptFeeder(this.ctx, this);
  }

  replaceWill(will: Will | undefined): void {
    if (this.state !== ChannelState.Connected || this.session === undefined) return;
    this.will = will;
    durabilityOf(this.ctx)?.connected(this.session, will); // the stored copy a survivor would publish
  }

  // ---- Outlet ----

  sendPublish(message: Message, qos: QoS, retain: boolean, subIds: number[] | undefined, packetId: number, dup: boolean): boolean {
    const frame = encodeOutbound(this, message, qos, retain, subIds, packetId, dup);
    if (frame === undefined) {
      // [MQTT-3.1.2-25] never send a packet larger than the client's Maximum Packet Size
      this.ctx.observer.messageDropped(qos, 'packet_too_large');
      return false;
    }
    this.ctx.counters.publishSent++;
    this.write(frame);
    return true;
  }

  sendPubrel(packetId: number): void {
    this.write(ackFrame(6, packetId, 0, this.protocolVersion));
  }

  // ---- writing ----

  write(frame: Buffer): void {
    if (this.state === ChannelState.Closed) return;
    const c = this.ctx.counters;
    c.bytesSent += frame.length;
    c.messagesSent++;
    this.ctx.observer.packetSent(frame[0] >> 4, frame.length);
    if (!this.conn.write(frame)) this.writable = false;
  }

  send(packet: Packet): void {
    this.write(serialize(packet, this.protocolVersion));
  }

  /** A reason string, only when the client did not ask us to leave problem information out [MQTT-3.1.2-29]. */
  reasonString(text: string): { reasonString: string } | undefined {
    return this.requestProblemInfo && this.protocolVersion === 5 ? { reasonString: text } : undefined;
  }

  // ---- dispatch ----

  dispatch(packet: Packet): void {
    this.ctx.counters.messagesReceived++;
    this.ctx.observer.packetReceived(packet.type, this.unattributedBytes);
    this.unattributedBytes = 0;
    switch (this.state) {
      case ChannelState.Connected:
        if (this.rate?.held !== undefined) this.rate.held.push(packet);
        else this.dispatchConnected(packet);
        return;
      case ChannelState.AwaitingConnect:
        if (packet.type !== PacketType.CONNECT) {
          this.protocolError(ReasonCode.ProtocolError, 'first packet must be CONNECT [MQTT-3.1.0-1]');
          return;
        }
        this.firstChunk = undefined;
        this.state = ChannelState.Connecting;
        this.protocolVersion = packet.protocolVersion;
        handleConnect(this, packet);
        return;
      case ChannelState.Connecting:
        if (packet.type === PacketType.AUTH && this.authWaiter !== undefined) {
          const waiter = this.authWaiter;
          this.authWaiter = undefined;
          waiter(packet);
          return;
        }
        if (packet.type === PacketType.CONNECT) {
          this.protocolError(ReasonCode.ProtocolError, 'second CONNECT [MQTT-3.1.0-2]');
          return;
        }
        (this.held ??= []).push(packet);
        if (this.held.length > MAX_HELD_PACKETS) this.protocolError(ReasonCode.QuotaExceeded, 'too many packets before CONNACK');
        return;
      default:
        return;
    }
  }

  dispatchConnected(packet: Packet): void {
    if (this.authHeld !== undefined && !bypassesHold(packet.type)) {
      this.authHeld.push(packet);
      return;
    }
    const held = this.flowHeld;
    if (held !== undefined && !bypassesHold(packet.type)) {
      held.push(packet);
      if ((held.length & 255) === 0) this.conn.pauseReading(); // resumed by another holder: stop again
      return;
    }
    this.handleConnected(packet);
  }

  private handleConnected(packet: Packet): void {
    const session = this.session!;
    switch (packet.type) {
      case PacketType.PUBLISH:
        handlePublish(this, session, packet);
        return;
      case PacketType.PUBACK:
        session.onPuback(packet.packetId);
        return;
      case PacketType.PUBREC: {
        const r = session.onPubrec(packet.packetId, packet.reasonCode ?? 0);
        if (r === 'pubrel') {
          // a persistent session's state past PUBREC is saved first: a survivor sends PUBREL again, not the PUBLISH [MQTT-4.3.3-5]
          const packetId = packet.packetId;
          afterSessionSaved(this, session, () => {
            if (!this.isClosed() && session.outlet === this) this.sendPubrel(packetId);
          });
        } else if (r === 'unknown' && (packet.reasonCode ?? 0) < 0x80) {
          this.write(ackFrame(6, packet.packetId, ReasonCode.PacketIdentifierNotFound, this.protocolVersion));
        }
        return;
      }
      case PacketType.PUBREL:
        handlePubrel(this, session, packet.packetId);
        return;
      case PacketType.PUBCOMP:
        session.onPubcomp(packet.packetId);
        return;
      case PacketType.SUBSCRIBE:
        handleSubscribe(this, session, packet);
        return;
      case PacketType.UNSUBSCRIBE:
        handleUnsubscribe(this, session, packet);
        return;
      case PacketType.PINGREQ:
        this.write(PINGRESP_FRAME); // [MQTT-3.12.4-1]
        return;
      case PacketType.DISCONNECT:
        this.onClientDisconnect(packet);
        return;
      case PacketType.AUTH:
        handleReauth(this, packet);
        return;
      case PacketType.CONNECT:
        this.protocolError(ReasonCode.ProtocolError, 'second CONNECT [MQTT-3.1.0-2]');
        return;
      default:
        this.protocolError(ReasonCode.ProtocolError, `unexpected packet type ${packet.type} from a client`);
    }
  }

  // ---- Feeder ----

  onFlowBlocked(): void {
    this.flowHeld ??= [];
    this.conn.pauseReading();
  }

  onFlowReleased(): void {
    const held = this.flowHeld;
    if (held === undefined || this.isClosed()) return;
    this.flowHeld = undefined;
    for (let i = 0; i < held.length; i++) {
      if (this.isClosed()) return;
      this.handleConnected(held[i]);
      if (this.flowBlockers !== undefined) {
        // held back again: keep the rest, in order, ahead of anything parsed later
        this.flowHeld = held.slice(i + 1).concat(this.flowHeld ?? []);
        return;
      }
    }
    if (this.rate?.held === undefined && !this.isClosed()) this.conn.resumeReading();
  }

  /**
   * `packet` waits for `answer` (the authorizer fetching its decision), and every packet after it
   * waits behind it; then they are handled again in order.
   */
  holdForAuthorization(packet: Packet, answer: Promise<void>): void {
    this.authHeld = [packet];
    this.conn.pauseReading();
    const release = (): void => {
      const held = this.authHeld ?? [];
      this.authHeld = undefined;
      for (let i = 0; i < held.length; i++) {
        if (this.isClosed()) return;
        this.dispatchConnected(held[i]);
        if (this.authHeld !== undefined) {
          (this.authHeld as Packet[]).push(...held.slice(i + 1)); // waits for another answer: keep the rest behind it
          return;
        }
      }
      if (this.flowHeld === undefined && this.rate?.held === undefined && !this.isClosed()) this.conn.resumeReading();
    };
    answer.then(release, release);
  }

  /** Replays the packets held while the CONNECT was being authenticated. */
  replayHeld(): void {
    const held = this.held;
    this.held = undefined;
    if (held === undefined) return;
    for (const packet of held) {
      if (this.state !== ChannelState.Connected) return;
      this.dispatchConnected(packet);
    }
  }

  private onClientDisconnect(packet: DisconnectPacket): void {
    const session = this.session!;
    const expiry = packet.properties?.sessionExpiryInterval;
    if (expiry !== undefined) {
      if (this.connectExpiry === 0 && expiry !== 0) {
        this.protocolError(ReasonCode.ProtocolError, 'Session Expiry Interval set on DISCONNECT after 0 on CONNECT [MQTT-3.14.2-2]');
        return;
      }
      session.expiryInterval = Math.min(expiry, this.ctx.limits.maxSessionExpirySeconds);
    }
    // [MQTT-3.14.4-3] a normal DISCONNECT discards the will; 0x04 asks for it to be published
    const publishWill = packet.reasonCode === ReasonCode.DisconnectWithWillMessage;
    this.teardown('client_disconnect', packet.reasonCode, publishWill);
    this.conn.end();
  }

  // ---- timers ----

  armKeepAlive(): void {
    if (this.connectTimer !== undefined) {
      this.ctx.clock.clearTimer(this.connectTimer);
      this.connectTimer = undefined;
    }
    if (this.keepAliveMs === 0) return;
    this.keepAliveTimer = this.ctx.clock.setTimer(this.keepAliveMs * 1.5, () => this.checkKeepAlive());
  }

  /** Close the connection when its credentials expire; a later call (re-authentication) replaces the deadline. */
  armAuthExpiry(expiresAt: number | undefined): void {
    const clock = this.ctx.clock;
    if (this.authExpiryTimer !== undefined) clock.clearTimer(this.authExpiryTimer);
    this.authExpiryTimer = undefined;
    if (expiresAt === undefined) return;
    this.authExpiryTimer = clock.setTimer(Math.max(0, expiresAt - clock.now()), () => {
      this.authExpiryTimer = undefined;
      this.disconnect('auth_expired', ReasonCode.MaximumConnectTime, true, 'credentials expired');
    });
  }

  private checkKeepAlive(): void {
    this.keepAliveTimer = undefined;
    if (this.state !== ChannelState.Connected) return;
    const limit = this.keepAliveMs * 1.5; // [MQTT-3.1.2-24] one and a half times the keep alive
    const idle = this.ctx.clock.now() - this.lastReceived;
    if (idle >= limit) {
      this.disconnect('keepalive_timeout', ReasonCode.KeepAliveTimeout, true);
      return;
    }
    this.keepAliveTimer = this.ctx.clock.setTimer(limit - idle, () => this.checkKeepAlive());
  }

  // ---- closing ----

  /** A rule broken by the client (or the codec said so). */
  protocolError(reasonCode: number, message: string): void {
    if (this.state === ChannelState.Closed) return;
    this.ctx.observer.protocolViolation({ clientId: this.clientId, address: this.conn.remoteAddress, reasonCode, message });
    if (reasonCode === ReasonCode.PacketTooLarge) this.ctx.observer.limitHit('max_packet_size');
    if (this.state === ChannelState.Connected) {
      // [MQTT-4.13.1-1] 5.0: DISCONNECT with the reason code, then close; 3.1.1: close
      this.disconnect('protocol_error', reasonCode, true, message);
      return;
    }
    rejectUnparsableConnect(this, reasonCode, this.firstChunk);
    this.closeBeforeConnect('protocol_error', message);
  }

  /** Server-initiated close of a connected client (5.0: DISCONNECT with a reason code first). */
  disconnect(cause: DisconnectCause, reasonCode: number, publishWill: boolean, reason?: string, serverReference?: string): void {
    if (this.state !== ChannelState.Connected) return;
    if (this.protocolVersion === 5) {
      const properties: { reasonString?: string; serverReference?: string } = {};
      if (reason !== undefined && this.requestProblemInfo) properties.reasonString = reason;
      if (serverReference !== undefined) properties.serverReference = serverReference;
      this.send({ type: PacketType.DISCONNECT, reasonCode, properties });
    }
    this.teardown(cause, reasonCode, publishWill);
    this.conn.end();
  }

  closeBeforeConnect(cause: DisconnectCause, detail: string): void {
    if (this.state === ChannelState.Closed) return;
    this.state = ChannelState.Closed;
    this.clearTimers();
    this.authWaiter = undefined;
    this.held = undefined;
    this.ctx.observer.connectionClosedBeforeConnect({ address: this.conn.remoteAddress, transport: this.conn.transport, cause, detail });
    this.conn.end();
  }

  /** Detaches the session and reports the disconnect; exactly once per connected channel. */
  teardown(cause: DisconnectCause, reasonCode: number, publishWill: boolean): void {
    if (this.state === ChannelState.Closed) return;
    this.state = ChannelState.Closed;
    this.clearTimers();
    const session = this.session;
    if (session === undefined) return;
    const ctx = this.ctx;
    ctx.counters.connected--;
    if (session.outlet === this) {
      session.outlet = undefined;
      releaseFeeders(session); // an offline session cannot drain: its publishers go free
    }
    this.flowHeld = undefined;
    this.authHeld = undefined;
    this.quota?.release();
    this.quota = undefined;
    ctx.observer.clientDisconnected({
      clientId: session.clientId,
      username: this.username,
      address: this.conn.remoteAddress,
      transport: this.conn.transport,
      protocolVersion: this.protocolVersion,
      cause,
      reasonCode,
    });
    const will = this.will;
    this.will = undefined;
    if (will !== undefined && publishWill) scheduleWill(ctx, session, will, this.protocolVersion);
    else if (will !== undefined && cause === 'server_shutdown') holdWillOnShutdown(ctx, session, will, this.protocolVersion); // drain: docs/cluster.md
    ctx.router.redistributeShared(session);
    session.disconnectedAt = ctx.clock.now();
    if (session.expiryInterval === 0) ctx.endSession(session);
    else ctx.sessionOffline(session);
  }

  private clearTimers(): void {
    const clock = this.ctx.clock;
    if (this.connectTimer !== undefined) clock.clearTimer(this.connectTimer);
    if (this.keepAliveTimer !== undefined) clock.clearTimer(this.keepAliveTimer);
    if (this.authExpiryTimer !== undefined) clock.clearTimer(this.authExpiryTimer);
    this.rate?.stop();
    this.connectTimer = this.keepAliveTimer = this.authExpiryTimer = undefined;
  }
}

// The channel whose bytes are being parsed: one shared parser callback instead of a closure per
// connection (saved and restored around each push, so re-entrant parsing stays correct).
let parsing: Channel | undefined;
function onParsedPacket(packet: Packet): void {
  parsing!.dispatch(packet);
}

/** Acknowledgements and pings are handled even while PUBLISHes are held back: they only free state. */
function bypassesHold(type: number): boolean {
  return type === PacketType.PUBACK || type === PacketType.PUBREC || type === PacketType.PUBCOMP || type === PacketType.PINGREQ;
}
