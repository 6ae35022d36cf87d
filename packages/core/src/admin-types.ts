/**
 * The admin facade's contract (see admin.ts): the operations, their results and AdminError.
 * Every result names its node so that a cluster implementation can merge node answers.
 */
import type { ProtocolVersion, QoS, UserProperty } from '@mqtt-broker/mqtt-codec';
import type { TransportKind } from './api.js';

/** What went wrong, as a code (the gRPC layer maps it to a status; never match on the message). */
export type AdminErrorCode = 'not_found' | 'invalid_argument';

export class AdminError extends Error {
  readonly code: AdminErrorCode;
  constructor(code: AdminErrorCode, message: string) {
    super(message);
    this.name = 'AdminError';
    this.code = code;
  }
}

export interface AdminNodeStatus {
  nodeId: string;
  version: string;
  /** Epoch ms. */
  startedAt: number;
  uptimeSeconds: number;
  connections: number;
  /** Sessions held by the node, online and offline. */
  sessions: number;
  subscriptions: number;
  sharedSubscriptions: number;
  retained: number;
  inflight: number;
  queued: number;
  /** Node.js version the node runs, e.g. 'v24.11.0' (given by the service: AdminNodeDetails). */
  runtime?: string;
  /** Engine of its WebSocket listeners, 'uws' or 'ws'; absent without any. */
  websocketEngine?: string;
  /** Cluster: the node is live (heartbeat) but did not answer in time; the counts are then 0. */
  unreachable?: boolean;
}

/** What the core does not know of its node and the status reports: the service passes it in. */
export interface AdminNodeDetails {
  runtime?: string;
  websocketEngine?: string;
}

export interface AdminClusterStatus {
  nodes: AdminNodeStatus[];
}

export interface AdminClientInfo {
  clientId: string;
  node: string;
  connected: boolean;
  username: string | undefined;
  /** `address:port` of the connection; undefined while offline. */
  address: string | undefined;
  transport: TransportKind | undefined;
  protocolVersion: ProtocolVersion;
  /** Epoch ms the current connection was accepted; undefined while offline. */
  connectedSince: number | undefined;
  /** Epoch ms the last connection ended; undefined while connected. */
  disconnectedAt: number | undefined;
  /** Clean Start (3.1.1: Clean Session) of the current connection; false for offline sessions. */
  cleanStart: boolean;
  /** Session Expiry Interval in seconds (0xFFFFFFFF = never; a 3.1.1 clean=0 session is that). */
  sessionExpirySeconds: number;
  keepAliveSeconds: number | undefined;
  subscriptions: number;
  inflight: number;
  queued: number;
}

export interface AdminSubscriptionInfo {
  clientId: string;
  node: string;
  /** As subscribed, with any `$share/{group}/` prefix. */
  topicFilter: string;
  shareGroup: string | undefined;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionId: number | undefined;
}

export interface AdminClientDetail {
  client: AdminClientInfo;
  subscriptions: AdminSubscriptionInfo[];
}

export interface AdminRetainedMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  userProperties: UserProperty[];
  contentType: string | undefined;
  /** Epoch ms; undefined when it never expires. */
  expiresAt: number | undefined;
  node: string;
}

export interface AdminPage<T> {
  items: T[];
  /** Give it back for the next page; '' when this is the last page. */
  nextPageToken: string;
}

export interface AdminPageQuery {
  /** 1..MAX_ADMIN_PAGE_SIZE; 0 or undefined: DEFAULT_ADMIN_PAGE_SIZE. */
  pageSize?: number;
  pageToken?: string;
}

export interface AdminClientQuery extends AdminPageQuery {
  /** Only client ids starting with this. */
  prefix?: string;
}

export interface AdminSubscriptionQuery extends AdminPageQuery {
  /** Only topic filters (as subscribed) starting with this. */
  prefix?: string;
  /** Only this client's subscriptions. */
  clientId?: string;
}

export interface AdminRetainedQuery extends AdminPageQuery {
  /** One exact topic (no wildcards)... */
  topic?: string;
  /** ...or every retained topic matching a filter. */
  filter?: string;
}

export interface AdminPublishRequest {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  userProperties?: UserProperty[];
  contentType?: string;
  /** Message Expiry Interval, seconds; 0 or undefined: none. */
  messageExpirySeconds?: number;
}

export interface AdminPublishResult {
  /** Subscriptions (local sessions, shared groups, remote nodes) the message was routed to. */
  matched: number;
}

export interface AdminKickResult {
  node: string;
  /** A live connection was closed (5.0: DISCONNECT 0x98 Administrative action). */
  disconnected: boolean;
  /** The session was ended too (subscriptions and queued messages dropped). */
  sessionDiscarded: boolean;
}

/** What the admin API serves. Async and node-tagged so that a cluster implementation can fan out. */
export interface AdminFacade {
  clusterStatus(): Promise<AdminClusterStatus>;
  listClients(query?: AdminClientQuery): Promise<AdminPage<AdminClientInfo>>;
  /** Throws AdminError('not_found') when no node holds a session for the id. */
  getClient(clientId: string): Promise<AdminClientDetail>;
  /** Throws AdminError('not_found') when there is neither a connection nor a session. */
  kickClient(clientId: string, options?: { discardSession?: boolean }): Promise<AdminKickResult>;
  listSubscriptions(query?: AdminSubscriptionQuery): Promise<AdminPage<AdminSubscriptionInfo>>;
  /** Publishes as the broker itself (no authorizer, no publisher client id). */
  publish(request: AdminPublishRequest): Promise<AdminPublishResult>;
  getRetained(query: AdminRetainedQuery): Promise<AdminPage<AdminRetainedMessage>>;
  /** Returns whether a retained message was there. */
  deleteRetained(topic: string): Promise<{ deleted: boolean }>;
}

export const DEFAULT_ADMIN_PAGE_SIZE = 100;
export const MAX_ADMIN_PAGE_SIZE = 1000;
