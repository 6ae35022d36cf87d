/**
 * CONNECT handling (MQTT 5.0 3.1 / 3.2, 3.1.1 3.1 / 3.2): client identifier rules, limits,
 * authentication (plain or enhanced, possibly async), session takeover / resume / clean start,
 * and the CONNACK with the 5.0 properties this server advertises.
 */
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { type ConnectPacket, PacketType, type Properties, ReasonCode } from '@mqtt-broker/mqtt-codec';
import { countLevels, isValidTopicName } from '@mqtt-broker/topics';
import type { AuthGrant, AuthRequest, AuthResult, DisconnectCause } from '../api.js';
import { durabilityOf } from '../cluster/durable.js';
import { claimClientId } from '../cluster/takeover.js';
import type { EngineContext } from '../engine-context.js';
import { PublishQuota } from '../quota/publish-quota.js';
import { restoreSession } from '../session/restore.js';
import { Session } from '../session/session.js';
import { cancelWill } from '../session/will.js';
import { runEnhancedAuth } from './auth.js';
import { type Channel, ChannelState } from './channel.js';
import { connectReturnCodeFor, peekConnectLevel } from './frames.js';

export function handleConnect(ch: Channel, packet: ConnectPacket): void {
  runConnect(ch, packet).catch((error: unknown) => {
    ch.protocolError(ReasonCode.UnspecifiedError, `CONNECT failed: ${String(error)}`);
  });
}

function assignClientId(ctx: EngineContext): string {
  return `auto-${ctx.nodeId.slice(0, 16)}-${randomBytes(8).toString('hex')}`;
}

async function runConnect(ch: Channel, p: ConnectPacket): Promise<void> {
  const ctx = ch.ctx;
  const limits = ctx.limits;
  const v = p.protocolVersion;
  const props = p.properties;
  ch.cleanStart = p.clean;
  ch.username = p.username;
  if (v === 5 && props !== undefined) {
    // [MQTT-3.3.4-7] never more unacknowledged QoS 1/2 PUBLISH than the client's Receive Maximum
    if (props.receiveMaximum !== undefined) ch.sendWindow = Math.min(limits.maxInflight, props.receiveMaximum);
    if (props.maximumPacketSize !== undefined) ch.clientMaxPacketSize = props.maximumPacketSize;
    if (props.topicAliasMaximum !== undefined && props.topicAliasMaximum > 0) {
      ch.outAliasMax = props.topicAliasMaximum;
      ch.outAliases = new Map();
    }
    if (props.requestProblemInformation === 0) ch.requestProblemInfo = false;
  }

  if (ctx.draining) return reject(ch, p, ReasonCode.ServerBusy, 'server_shutdown');
  if (ctx.counters.connected >= limits.maxConnections) {
    ctx.observer.limitHit('max_connections');
    return reject(ch, p, ReasonCode.QuotaExceeded, 'kicked');
  }
  // before authentication, so that a CONNECT flood from one address costs no auth backend calls
  if (ctx.connectRate !== undefined && !ctx.connectRate.admit(ch.conn.remoteAddress, ctx.clock.now())) return refuseConnectRate(ch, p);

  let clientId = p.clientId;
  let assigned = false;
  if (clientId.length === 0) {
    // 3.1 requires 1..23 characters; [MQTT-3.1.3-8] 3.1.1 empty id needs clean session
    if (v === 3 || (v === 4 && !p.clean)) return reject(ch, p, ReasonCode.ClientIdentifierNotValid, 'protocol_error');
    clientId = assignClientId(ctx); // [MQTT-3.1.3-6]
    assigned = true;
  }
  ch.clientId = clientId;

  const will = p.will;
  if (will !== undefined) {
    if (!isValidTopicName(will.topic) || will.topic.length > limits.maxTopicLength || countLevels(will.topic) > limits.maxTopicLevels) {
      return reject(ch, p, ReasonCode.TopicNameInvalid, 'protocol_error');
    }
    // [MQTT-3.1.3-?] Payload Format Indicator 1: the will payload must be UTF-8
    if (will.properties?.payloadFormatIndicator === 1 && !isUtf8(will.payload)) {
      return reject(ch, p, ReasonCode.PayloadFormatInvalid, 'protocol_error');
    }
  }

  const request: AuthRequest = {
    clientId,
    username: p.username,
    password: p.password,
    address: ch.conn.remoteAddress,
    transport: ch.conn.transport,
    protocolVersion: v,
    certificateCommonName: ch.conn.certificateCommonName,
    certificate: ch.conn.certificate,
  };
  ch.authRequest = request;
  const connackProps: Properties = {};
  let grant: AuthGrant = {};
  if (v === 5 && props?.authenticationMethod !== undefined) {
    const outcome = await runEnhancedAuth(ch, props.authenticationMethod, props.authenticationData, request);
    if (outcome === 'closed' || ch.isClosed()) return;
    if (!outcome.ok) return reject(ch, p, outcome.reasonCode, 'auth_failed');
    connackProps.authenticationMethod = props.authenticationMethod;
    if (outcome.data !== undefined) connackProps.authenticationData = outcome.data;
    grant = outcome.grant;
  } else if (ctx.authenticator !== undefined) {
    let result = ctx.authenticator.authenticate(request);
    if (isPromise(result)) {
      ch.conn.pauseReading();
      try {
        result = await result;
      } catch {
        // an authenticator that throws refuses, it does not take the broker down
        result = { ok: false, reasonCode: ReasonCode.UnspecifiedError };
      }
      if (ch.isClosed()) return;
      ch.conn.resumeReading();
    }
    if (!result.ok) return reject(ch, p, result.reasonCode, 'auth_failed');
    grant = result;
  }
  if (grant.expiresAt !== undefined && grant.expiresAt <= ctx.clock.now()) return reject(ch, p, ReasonCode.NotAuthorized, 'auth_failed');
  await accept(ch, p, clientId, assigned, connackProps, grant);
}

function isPromise(value: AuthResult | Promise<AuthResult>): value is Promise<AuthResult> {
  return typeof (value as Promise<AuthResult>).then === 'function';
}

async function accept(ch: Channel, p: ConnectPacket, clientId: string, assigned: boolean, connackProps: Properties, grant: AuthGrant): Promise<void> {
  const ctx = ch.ctx;
  const limits = ctx.limits;
  const v = p.protocolVersion;

  await claimClientId(ctx, clientId); // another node's connection with this id is closed first
  if (ch.isClosed()) return;
  // [MQTT-3.1.4-3] a second connection with the same client id takes over: the old one is closed
  const existing = ctx.sessions.get(clientId);
  const old = existing?.outlet as Channel | undefined;
  if (old !== undefined && old !== ch) old.disconnect('session_taken_over', ReasonCode.SessionTakenOver, true);

  let session = ctx.sessions.get(clientId);
  if (session !== undefined) {
    if (session.expiryTimer !== undefined) ctx.clock.clearTimer(session.expiryTimer);
    session.expiryTimer = undefined;
    if (p.clean) {
      ctx.endSession(session); // [MQTT-3.1.2-4] clean start discards the session (a pending will goes out)
      session = undefined;
    } else {
      cancelWill(ctx, session); // [MQTT-3.1.3-9] reconnected in time: no will
    }
  }
  if (session === undefined && !p.clean && ctx.ports.sessions !== undefined) {
    const snapshot = await ctx.ports.sessions.load(clientId);
    if (ch.isClosed()) return;
    session = ctx.sessions.get(clientId);
    if (session === undefined && snapshot !== undefined) session = restoreSession(ctx, snapshot);
  }
  const sessionPresent = session !== undefined; // [MQTT-3.2.2-2] [MQTT-3.2.2-3]
  const username = grant.username ?? p.username;
  ch.username = username;
  if (session === undefined) {
    session = new Session(ctx, clientId, username, v);
    ctx.sessions.set(clientId, session);
  }

  let requestedExpiry: number;
  if (v === 5) requestedExpiry = p.properties?.sessionExpiryInterval ?? 0;
  else requestedExpiry = p.clean ? 0 : 0xffffffff;
  const expiry = Math.min(requestedExpiry, limits.maxSessionExpirySeconds);
  if (v === 5 && expiry !== requestedExpiry) connackProps.sessionExpiryInterval = expiry;
  ch.connectExpiry = requestedExpiry;
  session.expiryInterval = expiry;
  session.protocolVersion = v;
  session.setIdentity(username, grant.attributes);
  session.disconnectedAt = undefined;

  let keepAlive = p.keepAlive;
  const maxKeepAlive = limits.maxKeepAliveSeconds;
  if (v === 5 && maxKeepAlive > 0 && (keepAlive === 0 || keepAlive > maxKeepAlive)) {
    keepAlive = maxKeepAlive;
    connackProps.serverKeepAlive = keepAlive; // [MQTT-3.2.2-21]
  }
  ch.keepAliveMs = keepAlive * 1000;
  ch.will = p.will;
  ch.session = session;
  durabilityOf(ctx)?.connected(session, p.will); // will and persistent session stored for a survivor

  if (v === 5) {
    connackProps.receiveMaximum = limits.receiveMaximum;
    connackProps.maximumPacketSize = limits.maxPacketSize;
    if (limits.topicAliasMaximum > 0) connackProps.topicAliasMaximum = limits.topicAliasMaximum;
    connackProps.retainAvailable = 1;
    connackProps.wildcardSubscriptionAvailable = 1;
    connackProps.subscriptionIdentifiersAvailable = 1;
    connackProps.sharedSubscriptionAvailable = 1;
    if (assigned) connackProps.assignedClientIdentifier = clientId; // [MQTT-3.2.2-16]
    ch.send({ type: PacketType.CONNACK, sessionPresent, reasonCode: ReasonCode.Success, properties: connackProps });
  } else {
    ch.send({ type: PacketType.CONNACK, sessionPresent: v === 4 && sessionPresent, reasonCode: 0 });
  }

  ch.quota = PublishQuota.create(limits, ctx.userQuotas, username, ctx.clock.now());
  ch.state = ChannelState.Connected;
  session.outlet = ch;
  ctx.counters.connected++;
  ctx.counters.connectionsTotal++;
  ctx.observer.clientConnected({
    clientId,
    username: p.username,
    address: ch.conn.remoteAddress,
    transport: ch.conn.transport,
    protocolVersion: v,
    cleanStart: p.clean,
    sessionPresent,
    keepAlive,
  });
  ch.armKeepAlive();
  ch.armAuthExpiry(grant.expiresAt);
  session.resendInflight();
  session.pump();
  ch.replayHeld();
}

function reject(ch: Channel, p: ConnectPacket, reasonCode: number, cause: DisconnectCause): void {
  if (ch.isClosed()) return;
  ch.ctx.observer.connectRejected({
    clientId: p.clientId.length > 0 ? p.clientId : undefined,
    address: ch.conn.remoteAddress,
    transport: ch.conn.transport,
    reasonCode,
  });
  // [MQTT-3.2.2-6] session present 0 with a non-zero return code
  if (p.protocolVersion === 5) ch.send({ type: PacketType.CONNACK, sessionPresent: false, reasonCode });
  else ch.send({ type: PacketType.CONNACK, sessionPresent: false, reasonCode: connectReturnCodeFor(reasonCode) });
  ch.closeBeforeConnect(cause, `CONNACK 0x${reasonCode.toString(16)}`);
}

/** CONNECT_RATE_PER_ADDRESS exceeded: 5.0 CONNACK 0x9F Connection rate exceeded; 3.1.1 closed (it has no such code). */
function refuseConnectRate(ch: Channel, p: ConnectPacket): void {
  const observer = ch.ctx.observer;
  observer.quotaRefused('connect_rate');
  const clientId = p.clientId.length > 0 ? p.clientId : undefined;
  observer.quotaExceeded({ quota: 'connect_rate', clientId, username: p.username, address: ch.conn.remoteAddress, protocolVersion: p.protocolVersion, outcome: 'refused' });
  if (p.protocolVersion === 5) reject(ch, p, ReasonCode.ConnectionRateExceeded, 'quota_exceeded');
  else ch.closeBeforeConnect('quota_exceeded', 'connection rate exceeded');
}

/**
 * A codec error before the CONNACK. Unsupported protocol level: CONNACK return code 1 in 3.1.1
 * form [MQTT-3.1.2-2], or 0x84 in 5.0 form when the level byte is above 5. Other errors on a
 * known 5.0 connection: CONNACK with the reason code (0x81 malformed, 0x82, 0x95). Otherwise
 * the connection is just closed.
 */
export function rejectUnparsableConnect(ch: Channel, reasonCode: number, firstChunk: Buffer | undefined): void {
  const observer = ch.ctx.observer;
  const info = { clientId: ch.clientId, address: ch.conn.remoteAddress, transport: ch.conn.transport, reasonCode };
  if (reasonCode === ReasonCode.UnsupportedProtocolVersion) {
    const level = peekConnectLevel(firstChunk);
    const frame = level !== undefined && level > 5 ? Buffer.from([0x20, 0x03, 0x00, 0x84, 0x00]) : Buffer.from([0x20, 0x02, 0x00, 0x01]);
    ch.write(frame);
    observer.connectRejected(info);
    return;
  }
  if (ch.parser.protocolVersion === 5) {
    ch.protocolVersion = 5;
    ch.send({ type: PacketType.CONNACK, sessionPresent: false, reasonCode });
    observer.connectRejected(info);
  }
}

