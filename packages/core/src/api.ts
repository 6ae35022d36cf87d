/**
 * The contract between the protocol engine (this package) and the world around it.
 *
 * The transport owns sockets and calls `Broker.accept(connection)` once per accepted client; it
 * then feeds the returned `ConnectionHandler` with bytes and socket events, and carries out what
 * the core asks of the `ClientConnection` (write, close, pause). The service observes the broker
 * through `BrokerObserver` (metrics, logs) and `Broker.stats()` (gauges read on scrape).
 *
 * Why callbacks into an interface instead of returning action lists: the hot path (one PUBLISH
 * fanned out to many subscribers) must not allocate an action object per delivery. The core
 * still does no I/O: tests implement ClientConnection by collecting frames.
 */
import type { ProtocolVersion, QoS, Will } from '@mqtt-broker/mqtt-codec';

/** 'mqttsn': a client of the MQTT-SN gateway (UDP), bridged into the engine as a 3.1.1 connection. */
export type TransportKind = 'tcp' | 'tls' | 'ws' | 'wss' | 'mqttsn';

/** One accepted client socket, as the core sees it. Implemented by the transport. */
export interface ClientConnection {
  readonly transport: TransportKind;
  /** The client's address (after the PROXY protocol header, when enabled). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Subject CN of a verified TLS client certificate, when client certificates are required. */
  readonly certificateCommonName?: string;
  /** Names in a verified TLS client certificate (subject CN and subjectAltName entries). */
  readonly certificate?: CertificateNames;
  /**
   * Queue one complete MQTT frame. Frames written in one event-loop turn are flushed together.
   * Returns false when the socket's send buffer is over its high-water mark: the core stops
   * sending to this client until `ConnectionHandler.onDrain`.
   */
  write(frame: Buffer): boolean;
  /** Bytes queued in the socket and not yet flushed to the kernel. */
  readonly bufferedBytes: number;
  /** Flush what is queued, then close. */
  end(): void;
  /** Close now, dropping what is queued. */
  destroy(): void;
  /** Stop/restart reading from the socket (inbound backpressure, rate limits). */
  pauseReading(): void;
  resumeReading(): void;
}

/** What the transport calls for the events of one connection. Implemented by the core. */
export interface ConnectionHandler {
  onData(chunk: Buffer): void;
  /** The socket's send buffer drained below its high-water mark. */
  onDrain(): void;
  /** The socket closed, for any reason (client, network, or after end()/destroy()). */
  onClose(hadError: boolean): void;
  /**
   * Reading is paused but the transport cannot hold more input (uWebSockets.js cannot stop
   * reading a socket): the handler resumes reading now, or the transport closes the connection.
   */
  onReadOverflow?(): void;
  /**
   * The will of the connected client changes, or is deleted (undefined). MQTT has no packet for
   * this; the MQTT-SN gateway calls it for WILLTOPICUPD / WILLMSGUPD. Ignored before CONNACK.
   */
  replaceWill?(will: Will | undefined): void;
}

/** Why a message was not delivered (label of the dropped-messages metric). */
export type DropReason =
  | 'no_subscribers'
  | 'queue_full'
  | 'expired'
  | 'not_authorized'
  | 'packet_too_large'
  | 'qos0_offline'
  | 'client_slow'
  | 'rate_limited'
  | 'payload_format_invalid';

/** Why a connection ended (label of the disconnects metric, and the log line). */
export type DisconnectCause =
  | 'client_disconnect'
  | 'network'
  | 'keepalive_timeout'
  | 'connect_timeout'
  | 'protocol_error'
  | 'session_taken_over'
  | 'kicked'
  | 'server_shutdown'
  | 'auth_failed'
  /** The credentials' validity ended (e.g. a JWT's exp) and no re-authentication extended it. */
  | 'auth_expired'
  /** Over a per-client or per-user quota (5.0 DISCONNECT 0x96 / 0x97; 3.1.1 after the grace). */
  | 'quota_exceeded';

/**
 * The quotas (label of the quota refusals metric): inbound messages and bytes per second of one
 * connection and of all connections of one user name on this node, CONNECTs per second per
 * source address.
 */
export type QuotaName = 'messages' | 'bytes' | 'user_messages' | 'user_bytes' | 'connect_rate';

/** A client went over a quota (one log line). */
export interface QuotaExceededInfo {
  quota: QuotaName;
  clientId: string | undefined;
  username: string | undefined;
  address: string;
  protocolVersion: ProtocolVersion;
  /**
   * disconnected: 5.0 DISCONNECT 0x96 / 0x97 (or 3.1.1 closed, after its grace); grace: a 3.1.1
   * client's messages are dropped from now on while it stays over; refused: a CONNECT.
   */
  outcome: 'disconnected' | 'grace' | 'refused';
}

/** Names of configurable limits (label of the limit-hit metric). */
export type LimitName =
  | 'max_connections'
  | 'max_packet_size'
  | 'max_inflight'
  | 'max_queued_messages'
  | 'max_topic_length'
  | 'max_topic_levels'
  | 'max_subscriptions'
  | 'publish_rate';

export interface ClientEventInfo {
  clientId: string;
  username: string | undefined;
  address: string;
  transport: TransportKind;
  protocolVersion: ProtocolVersion;
}

/**
 * Everything the service turns into metrics and log lines. All methods are called synchronously
 * on the hot path: implementations must be cheap (increment a counter, log at most one line).
 */
export interface BrokerObserver {
  connectionOpened(transport: TransportKind): void;
  clientConnected(info: ClientEventInfo & { cleanStart: boolean; sessionPresent: boolean; keepAlive: number }): void;
  /** A CONNECT was refused; `reasonCode` is the 5.0 code (the 3.1.1 return code is derived). */
  connectRejected(info: { clientId: string | undefined; address: string; transport: TransportKind; reasonCode: number }): void;
  clientDisconnected(info: ClientEventInfo & { cause: DisconnectCause; reasonCode: number }): void;
  /** A connection closed before a CONNECT was accepted (connect timeout, garbage, scanner). */
  connectionClosedBeforeConnect(info: { address: string; transport: TransportKind; cause: DisconnectCause; detail: string }): void;
  /** A protocol violation by a client: the spec's reason code and the rule id when known. */
  protocolViolation(info: { clientId: string | undefined; address: string; reasonCode: number; message: string }): void;
  /**
   * One parsed packet. `bytes`: the bytes of each received chunk are attributed to the first
   * packet parsed from it (0 for the others), so the sum over packets is the bytes received.
   */
  packetReceived(packetType: number, bytes: number): void;
  packetSent(packetType: number, bytes: number): void;
  messagePublished(qos: QoS): void;
  messageDelivered(qos: QoS): void;
  messageDropped(qos: QoS, reason: DropReason): void;
  limitHit(limit: LimitName): void;
  /** One PUBLISH or CONNECT refused over a quota (every one: a counter, no log line). */
  quotaRefused(quota: QuotaName): void;
  /** Once per time a client goes over a quota, and per refused CONNECT: the log line. */
  quotaExceeded(info: QuotaExceededInfo): void;
}

/** Gauges, read when metrics are scraped. */
export interface BrokerStats {
  connectedClients: number;
  sessionsOnline: number;
  sessionsOffline: number;
  subscriptions: number;
  sharedSubscriptions: number;
  retainedMessages: number;
  inflightMessages: number;
  queuedMessages: number;
}

/** What an authenticator learns about a connecting client. */
export interface AuthRequest {
  clientId: string;
  username: string | undefined;
  password: Buffer | undefined;
  address: string;
  transport: TransportKind;
  protocolVersion: ProtocolVersion;
  certificateCommonName: string | undefined;
  /** Names in the verified client certificate, when the listener asked for one. */
  certificate: CertificateNames | undefined;
}

/** What a verified X.509 client certificate says about its holder. */
export interface CertificateNames {
  readonly commonName: string | undefined;
  /** subjectAltName DNS entries. */
  readonly dnsNames: readonly string[];
  /** subjectAltName URI entries. */
  readonly uris: readonly string[];
}

/** Plain data (what JSON holds): attribute values are stored and sent to other nodes. */
export type AttributeValue = string | number | boolean | null | readonly AttributeValue[] | { readonly [key: string]: AttributeValue };

/**
 * Facts an authenticator established about a client and hands to the authorizer (for example
 * the topic rules carried in a JWT's claims). Opaque to the core, but plain data: they are saved
 * with a persistent session (SessionSnapshot.identity), so a node that restores the session before
 * its device reconnects (adoption after a node died, a takeover) authorizes it the same way.
 */
export type AuthAttributes = Readonly<Record<string, AttributeValue>>;

/** The identity a client acts as after authentication, seen by the authorizer. */
export interface ClientIdentity {
  clientId: string;
  username: string | undefined;
  attributes?: AuthAttributes;
}

/** What an accepting authenticator may say beyond "yes". */
export interface AuthGrant {
  /**
   * The user name the client acts as from now on (authorization, logs), replacing the CONNECT's:
   * the name a certificate or a token vouches for. Absent: the CONNECT's user name.
   */
  username?: string;
  attributes?: AuthAttributes;
  /**
   * When the credentials stop being valid (ms since the epoch): the connection is closed then
   * (5.0: DISCONNECT 0xA0 Maximum connect time) unless a re-authentication extends it.
   */
  expiresAt?: number;
}

export type AuthResult =
  | ({ ok: true } & AuthGrant)
  /** reasonCode: 5.0 code, e.g. 0x86 bad user name or password, 0x87 not authorized. */
  | { ok: false; reasonCode: number };

/** One step of MQTT 5 enhanced authentication (AUTH packets). */
export type EnhancedAuthStep =
  | ({ done: true; ok: true; data?: Buffer } & AuthGrant)
  | { done: true; ok: false; reasonCode: number }
  | { done: false; data: Buffer };

/** Pluggable authentication. Plain CONNECT auth is required; enhanced auth is optional. */
export interface Authenticator {
  authenticate(request: AuthRequest): AuthResult | Promise<AuthResult>;
  /** Methods this authenticator can run in AUTH exchanges (5.0 Authentication Method). */
  readonly enhancedMethods?: readonly string[];
  /** First step of an enhanced exchange: called with the CONNECT's Authentication Data. */
  startEnhanced?(method: string, data: Buffer | undefined, request: AuthRequest): EnhancedAuthStep | Promise<EnhancedAuthStep>;
  /** Next step: called with the client's AUTH packet data (0x18 continue). */
  continueEnhanced?(method: string, data: Buffer | undefined, request: AuthRequest): EnhancedAuthStep | Promise<EnhancedAuthStep>;
}

/**
 * Pluggable authorization, synchronous because it runs on the hot path. A missing method means
 * "allowed". `canRead` is checked per delivered message (so a wildcard subscription never leaks
 * topics the client may not read), `canSubscribe` per filter in a SUBSCRIBE.
 */
export interface Authorizer {
  canPublish?(client: ClientIdentity, topic: string, message?: PublishFacts): boolean;
  canSubscribe?(client: ClientIdentity, topicFilter: string, qos?: QoS): boolean;
  canRead?(client: ClientIdentity, topic: string): boolean;
  /**
   * Optional, for an authorizer that asks a remote service (an HTTP hook): a promise when the
   * answer to this PUBLISH or SUBSCRIBE filter is not known yet, undefined when it is. The client's
   * packets are then held, in order, with reading paused, until the promise settles; the packet is
   * then handled again and canPublish / canSubscribe answer from what was fetched.
   */
  prepare?(client: ClientIdentity, request: AuthorizationRequest): Promise<void> | undefined;
}

/** What a PUBLISH asks beyond its topic (an authorization hook may decide on them). */
export interface PublishFacts {
  qos: QoS;
  retain: boolean;
}

export type AuthorizationRequest = ({ action: 'publish'; topic: string } & PublishFacts) | { action: 'subscribe'; topic: string; qos: QoS };

/** The protocol engine as the transport and the service see it. */
export interface Broker {
  accept(connection: ClientConnection): ConnectionHandler;
  stats(): BrokerStats;
  /** Replace the authenticator/authorizer (SIGHUP reloads the password and ACL files). */
  setAuth(auth: { authenticator?: Authenticator; authorizer?: Authorizer }): void;
  /**
   * Graceful drain: stop accepting CONNECTs (CONNACK 0x89 / 3 server unavailable), then
   * disconnect connected clients spread over `durationMs` (5.0: DISCONNECT 0x8B, with a
   * Server Reference when given), persist sessions, resolve when done.
   */
  drain(durationMs: number, serverReference?: string): Promise<void>;
  /** Close everything now and stop timers. */
  close(): Promise<void>;
}

/** Limits, each configurable from the service's config; each one counted by `limitHit` when hit. */
export interface BrokerLimits {
  /** Connected clients at most; further CONNECTs get 0x97 quota exceeded (3.1.1: 3 unavailable). */
  maxConnections: number;
  /** Largest packet accepted from a client (bytes), advertised as Maximum Packet Size. */
  maxPacketSize: number;
  /** Outgoing QoS 1/2 messages in flight per client (capped further by its Receive Maximum). */
  maxInflight: number;
  /** Incoming QoS 1/2 in flight per client, advertised as our Receive Maximum. */
  receiveMaximum: number;
  /** Messages queued per session (offline, or online behind its in-flight window). */
  maxQueuedMessages: number;
  /** Which message is dropped when a session's queue is full. */
  queueOverflow: 'drop_oldest' | 'drop_newest';
  maxTopicLength: number;
  maxTopicLevels: number;
  maxSubscriptionsPerClient: number;
  /**
   * PUBLISH packets per second per client; 0 = unlimited. Excess: reading paused (backpressure).
   * The soft limit that shapes a client; the quotas below are the hard ones that refuse it.
   */
  publishRatePerClient: number;
  /** Inbound PUBLISH per second per connection; 0 = none. Over: 5.0 DISCONNECT 0x96, 3.1.1 grace then closed. */
  quotaMessagesPerSecond: number;
  /** Inbound topic + payload bytes per second per connection; 0 = none. Over: 5.0 DISCONNECT 0x97, 3.1.1 as above. */
  quotaBytesPerSecond: number;
  /** Like quotaMessagesPerSecond, shared by all connections of one user name on this node. */
  quotaUserMessagesPerSecond: number;
  /** Like quotaBytesPerSecond, shared by all connections of one user name on this node. */
  quotaUserBytesPerSecond: number;
  /** Burst of every quota bucket, in seconds of its rate (the bucket holds rate x this). */
  quotaBurstSeconds: number;
  /** Seconds a 3.1.1 client may stay over a quota (its messages dropped) before it is closed. */
  quotaGraceSeconds: number;
  /** CONNECTs per second per source address; 0 = unlimited. Over: 5.0 CONNACK 0x9F, 3.1.1 closed. */
  connectRatePerAddress: number;
  /** Topic Alias Maximum advertised to clients (0 disables inbound aliases). */
  topicAliasMaximum: number;
  /** Seconds a socket may stay silent before its CONNECT arrives. */
  connectTimeoutSeconds: number;
  /** Upper bound for session expiry intervals, seconds (0xFFFFFFFF = never expire). */
  maxSessionExpirySeconds: number;
  /** Keep alive the server imposes when a client asks for more (or 0); 0 = accept the client's. */
  maxKeepAliveSeconds: number;
}

export interface BrokerOptions {
  /** Name of this node ($SYS topics, server-assigned client ids, cluster node id). */
  nodeId: string;
  /** Product version for $SYS/broker/version. */
  version: string;
  limits?: Partial<BrokerLimits>;
  observer?: BrokerObserver;
  authenticator?: Authenticator;
  authorizer?: Authorizer;
  /** $SYS/broker/... publishing interval in seconds; 0 disables. */
  sysIntervalSeconds?: number;
}
