/**
 * The admin.proto messages as TypeScript sees them after @grpc/proto-loader (camelCase fields,
 * numbers for 64-bit integers, Buffers for bytes, defaults filled in). Kept by hand next to the
 * .proto; the tests round-trip every message through the real loader.
 */

export interface NodeStatus {
  id: string;
  version: string;
  uptimeSeconds: number;
  startedAtMs: number;
  connections: number;
  sessions: number;
  subscriptions: number;
  sharedSubscriptions: number;
  retained: number;
  inflight: number;
  queued: number;
  unreachable: boolean;
  runtime: string;
  websocketEngine: string;
}

export type ClusterStatusRequest = Record<string, never>;

export interface ClusterStatusResponse {
  nodes: NodeStatus[];
}

export interface Client {
  clientId: string;
  node: string;
  connected: boolean;
  username: string;
  address: string;
  transport: string;
  protocolVersion: number;
  connectedSinceMs: number;
  disconnectedAtMs: number;
  cleanStart: boolean;
  sessionExpirySeconds: number;
  keepAliveSeconds: number;
  subscriptions: number;
  inflight: number;
  queued: number;
}

export interface Subscription {
  clientId: string;
  node: string;
  topicFilter: string;
  shareGroup: string;
  qos: number;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: number;
  subscriptionId: number;
}

export interface ListClientsRequest {
  pageSize?: number;
  pageToken?: string;
  clientIdPrefix?: string;
}

export interface ListClientsResponse {
  clients: Client[];
  nextPageToken: string;
}

export interface GetClientRequest {
  clientId: string;
}

export interface GetClientResponse {
  client: Client;
  subscriptions: Subscription[];
}

export interface KickClientRequest {
  clientId: string;
  discardSession?: boolean;
}

export interface KickClientResponse {
  node: string;
  disconnected: boolean;
  sessionDiscarded: boolean;
}

export interface ListSubscriptionsRequest {
  pageSize?: number;
  pageToken?: string;
  topicFilterPrefix?: string;
  clientId?: string;
}

export interface ListSubscriptionsResponse {
  subscriptions: Subscription[];
  nextPageToken: string;
}

export interface UserProperty {
  key: string;
  value: string;
}

export interface PublishRequest {
  topic: string;
  payload: Buffer;
  qos?: number;
  retain?: boolean;
  userProperties?: UserProperty[];
  contentType?: string;
  messageExpirySeconds?: number;
}

export interface PublishResponse {
  matched: number;
}

export interface RetainedMessage {
  topic: string;
  payload: Buffer;
  qos: number;
  userProperties: UserProperty[];
  contentType: string;
  expiresAtMs: number;
  node: string;
}

export interface GetRetainedRequest {
  topic?: string;
  filter?: string;
  pageSize?: number;
  pageToken?: string;
}

export interface GetRetainedResponse {
  messages: RetainedMessage[];
  nextPageToken: string;
}

export interface DeleteRetainedRequest {
  topic: string;
}

export interface DeleteRetainedResponse {
  deleted: boolean;
}

/** Every RPC of the Admin service: its request and response. */
export interface AdminRpcs {
  ClusterStatus: [ClusterStatusRequest, ClusterStatusResponse];
  ListClients: [ListClientsRequest, ListClientsResponse];
  GetClient: [GetClientRequest, GetClientResponse];
  KickClient: [KickClientRequest, KickClientResponse];
  ListSubscriptions: [ListSubscriptionsRequest, ListSubscriptionsResponse];
  Publish: [PublishRequest, PublishResponse];
  GetRetained: [GetRetainedRequest, GetRetainedResponse];
  DeleteRetained: [DeleteRetainedRequest, DeleteRetainedResponse];
}

export type AdminRpcName = keyof AdminRpcs;
