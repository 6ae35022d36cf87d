/**
 * The admin facade: what an operator may see and do on a running broker (list/get/kick clients,
 * list subscriptions, publish as the broker, read/delete retained messages, node status). The
 * gRPC admin API (packages/admin-api) is a thin layer over this interface.
 *
 * Shaped for a cluster: every method is async and every result names its node, so a cluster
 * implementation can ask each node's local facade and merge. Listings are paged by a sort key
 * (client id; topic filter + client id + node; retained topic) and a page token is the last key
 * returned, opaque (base64url). Each node answers "the first N items with a key after the token",
 * so a fan-out merges the nodes' pages with `mergeAdminPages` and gets the same paging.
 *
 * `createAdminFacade(broker)` is the single-node implementation. It reads the engine's own maps
 * (sessions, channels, retained index): a listing page filters and sorts the keys of all
 * sessions and builds records for the page only (about 4 ms per page at 20k sessions here), fine
 * for an operator's tool; nothing here runs on the publish path.
 */
import type { Properties, QoS } from '@mqtt-broker/mqtt-codec';
import { isValidTopicFilter, isValidTopicName } from '@mqtt-broker/topics';
import {
  AdminError,
  type AdminClientDetail,
  type AdminClientInfo,
  type AdminClientQuery,
  type AdminClusterStatus,
  type AdminFacade,
  type AdminKickResult,
  type AdminNodeDetails,
  type AdminPage,
  type AdminPageQuery,
  type AdminPublishRequest,
  type AdminPublishResult,
  type AdminRetainedMessage,
  type AdminRetainedQuery,
  type AdminSubscriptionInfo,
  type AdminSubscriptionQuery,
  DEFAULT_ADMIN_PAGE_SIZE,
  MAX_ADMIN_PAGE_SIZE,
} from './admin-types.js';
import type { Broker } from './api.js';
import { Engine } from './broker.js';
import { Channel, ChannelState } from './channel/channel.js';
import { createMessage, isExpired } from './session/message.js';
import type { Session } from './session/session.js';

export * from './admin-types.js';

/** Administrative action (MQTT 5.0 reason code 0x98). */
const ADMINISTRATIVE_ACTION = 0x98;

// ---- paging ----

export function encodePageToken(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodePageToken(token: string | undefined): string | undefined {
  if (token === undefined || token === '') return undefined;
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new AdminError('invalid_argument', 'page_token is not a token returned by this API');
  return Buffer.from(token, 'base64url').toString('utf8');
}

export function pageSizeOf(query: AdminPageQuery | undefined): number {
  const size = query?.pageSize ?? 0;
  if (!Number.isInteger(size) || size < 0) throw new AdminError('invalid_argument', 'page_size must be a non-negative integer');
  if (size === 0) return DEFAULT_ADMIN_PAGE_SIZE;
  return Math.min(size, MAX_ADMIN_PAGE_SIZE);
}

function clientKey(clientId: string, node: string): string {
  return `${clientId}\u0000${node}`;
}

/** The paging sort keys: a cluster facade merges node pages by the same keys. */
export const adminKeys = {
  client: (c: AdminClientInfo): string => clientKey(c.clientId, c.node),
  subscription: (s: AdminSubscriptionInfo): string => `${s.topicFilter}\u0000${s.clientId}\u0000${s.node}`,
  retained: (r: AdminRetainedMessage): string => r.topic,
};

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Sorts candidates by key, keeps those after the token, cuts one page; `build` runs only for the
 * page's items (listing 20k sessions costs a sort of their keys, not 20k client records).
 */
function pageOf<S, T>(candidates: S[], keyOf: (source: S) => string, build: (source: S) => T, query: AdminPageQuery | undefined): AdminPage<T> {
  const size = pageSizeOf(query);
  const after = decodePageToken(query?.pageToken);
  const keyed: Array<{ source: S; key: string }> = [];
  for (const source of candidates) {
    const key = keyOf(source);
    if (after === undefined || key > after) keyed.push({ source, key });
  }
  keyed.sort((a, b) => compareKeys(a.key, b.key));
  const page = keyed.slice(0, size);
  const more = keyed.length > size;
  return { items: page.map((k) => build(k.source)), nextPageToken: more ? encodePageToken(page[page.length - 1].key) : '' };
}

/**
 * Merges the pages that several nodes returned for one query (each sorted by `keyOf`, each
 * after the same token) into one page of `pageSize`. Items with equal keys (a retained message
 * every node holds) appear once.
 */
export function mergeAdminPages<T>(pages: AdminPage<T>[], keyOf: (item: T) => string, pageSize: number): AdminPage<T> {
  const byKey = new Map<string, T>();
  for (const page of pages) for (const item of page.items) if (!byKey.has(keyOf(item))) byKey.set(keyOf(item), item);
  const keys = [...byKey.keys()].sort(compareKeys);
  const size = Math.max(1, pageSize);
  const items = keys.slice(0, size);
  const more = keys.length > size || pages.some((p) => p.nextPageToken !== '');
  return { items: items.map((k) => byKey.get(k)!), nextPageToken: more && items.length > 0 ? encodePageToken(items[items.length - 1]) : '' };
}

// ---- the single-node facade ----

/** The admin facade of one broker from `createBroker` (this node's clients and state). */
export function createAdminFacade(broker: Broker, details: AdminNodeDetails = {}): AdminFacade {
  if (!(broker instanceof Engine)) throw new TypeError('createAdminFacade needs a broker made by createBroker()');
  return new LocalAdminFacade(broker, details);
}

class LocalAdminFacade implements AdminFacade {
  constructor(
    private readonly engine: Engine,
    private readonly details: AdminNodeDetails,
  ) {}

  async clusterStatus(): Promise<AdminClusterStatus> {
    const e = this.engine;
    const stats = e.stats();
    const now = e.clock.now();
    return {
      nodes: [
        {
          nodeId: e.nodeId,
          version: e.version,
          startedAt: e.startedAt,
          uptimeSeconds: Math.max(0, Math.floor((now - e.startedAt) / 1000)),
          connections: stats.connectedClients,
          sessions: e.sessions.size,
          subscriptions: stats.subscriptions,
          sharedSubscriptions: stats.sharedSubscriptions,
          retained: stats.retainedMessages,
          inflight: stats.inflightMessages,
          queued: stats.queuedMessages,
          ...this.details,
        },
      ],
    };
  }

  async listClients(query?: AdminClientQuery): Promise<AdminPage<AdminClientInfo>> {
    const prefix = query?.prefix ?? '';
    const node = this.engine.nodeId;
    const found: Session[] = [];
    for (const session of this.engine.sessions.values()) if (session.clientId.startsWith(prefix)) found.push(session);
    return pageOf(found, (s) => clientKey(s.clientId, node), (s) => this.clientInfo(s), query);
  }

  async getClient(clientId: string): Promise<AdminClientDetail> {
    const session = this.session(clientId);
    return { client: this.clientInfo(session), subscriptions: this.subscriptionsOf(session) };
  }

  async kickClient(clientId: string, options?: { discardSession?: boolean }): Promise<AdminKickResult> {
    const session = this.session(clientId);
    const channel = this.channelOf(session);
    let disconnected = false;
    if (channel !== undefined && channel.state === ChannelState.Connected) {
      // The server closes the connection: the will is published as for any server-side close
      // [MQTT-3.1.2-8]; 3.1.1 clients just see the socket close.
      channel.disconnect('kicked', ADMINISTRATIVE_ACTION, true, 'disconnected by an administrator');
      disconnected = true;
    }
    let sessionDiscarded = false;
    if (options?.discardSession === true && !session.ended) {
      this.engine.endSession(session);
      sessionDiscarded = true;
    }
    return { node: this.engine.nodeId, disconnected, sessionDiscarded };
  }

  async listSubscriptions(query?: AdminSubscriptionQuery): Promise<AdminPage<AdminSubscriptionInfo>> {
    const prefix = query?.prefix ?? '';
    const found: AdminSubscriptionInfo[] = [];
    const sessions = query?.clientId !== undefined ? [this.engine.sessions.get(query.clientId)] : this.engine.sessions.values();
    for (const session of sessions) {
      if (session === undefined) continue;
      for (const s of this.subscriptionsOf(session)) if (s.topicFilter.startsWith(prefix)) found.push(s);
    }
    return pageOf(found, adminKeys.subscription, (s) => s, query);
  }

  async publish(request: AdminPublishRequest): Promise<AdminPublishResult> {
    const e = this.engine;
    if (!isValidTopicName(request.topic)) throw new AdminError('invalid_argument', 'topic is not a valid topic name (empty, wildcards, or NUL)');
    if (request.qos !== 0 && request.qos !== 1 && request.qos !== 2) throw new AdminError('invalid_argument', 'qos must be 0, 1 or 2');
    const expiry = request.messageExpirySeconds ?? 0;
    if (!Number.isInteger(expiry) || expiry < 0 || expiry > 0xffffffff) throw new AdminError('invalid_argument', 'message expiry must be 0..4294967295 seconds');
    const properties: Properties = {};
    if (request.userProperties !== undefined && request.userProperties.length > 0) properties.userProperties = request.userProperties;
    if (request.contentType !== undefined && request.contentType !== '') properties.contentType = request.contentType;
    if (expiry > 0) properties.messageExpiryInterval = expiry;
    const payload = Buffer.from(request.payload); // owned: never a view into a gRPC buffer
    const message = createMessage(request.topic, payload, request.qos, request.retain, Object.keys(properties).length > 0 ? properties : undefined, undefined, e.clock.now());
    message.owned = true;
    e.observer.messagePublished(message.qos);
    const matched = e.publishInternal(message);
    if (matched === 0) e.observer.messageDropped(message.qos, 'no_subscribers');
    return { matched };
  }

  async getRetained(query: AdminRetainedQuery): Promise<AdminPage<AdminRetainedMessage>> {
    const e = this.engine;
    const now = e.clock.now();
    const found: AdminRetainedMessage[] = [];
    if (query.topic !== undefined && query.topic !== '') {
      if (!isValidTopicName(query.topic)) throw new AdminError('invalid_argument', 'topic is not a valid topic name');
      const m = e.retained.get(query.topic);
      if (m === undefined || isExpired(m, now)) throw new AdminError('not_found', `no retained message on ${query.topic}`);
      found.push(this.retainedInfo(m.topic, m.payload, m.qos, m.properties, m.expiresAt));
    } else {
      const filter = query.filter ?? '';
      if (!isValidTopicFilter(filter)) throw new AdminError('invalid_argument', 'give a topic or a valid topic filter');
      e.retained.match(filter, now, (m) => found.push(this.retainedInfo(m.topic, m.payload, m.qos, m.properties, m.expiresAt)));
    }
    return pageOf(found, adminKeys.retained, (m) => m, query);
  }

  async deleteRetained(topic: string): Promise<{ deleted: boolean }> {
    if (!isValidTopicName(topic)) throw new AdminError('invalid_argument', 'topic is not a valid topic name');
    const retained = this.engine.retained;
    const deleted = retained.get(topic) !== undefined;
    if (deleted) retained.delete(topic); // [MQTT-3.3.1-6] the same effect as a retained PUBLISH with an empty payload
    return { deleted };
  }

  // ---- helpers ----

  private session(clientId: string): Session {
    const session = this.engine.sessions.get(clientId);
    if (session === undefined || session.ended) throw new AdminError('not_found', `no client ${JSON.stringify(clientId)} on node ${this.engine.nodeId}`);
    return session;
  }

  private channelOf(session: Session): Channel | undefined {
    const out = session.outlet;
    return out instanceof Channel ? out : undefined;
  }

  private clientInfo(session: Session): AdminClientInfo {
    const channel = this.channelOf(session);
    const live = channel !== undefined && channel.state === ChannelState.Connected;
    return {
      clientId: session.clientId,
      node: this.engine.nodeId,
      connected: live,
      username: session.identity.username,
      address: live ? formatAddress(channel.conn.remoteAddress, channel.conn.remotePort) : undefined,
      transport: live ? channel.conn.transport : undefined,
      protocolVersion: session.protocolVersion,
      connectedSince: live ? this.engine.acceptedAt.get(channel) : undefined,
      disconnectedAt: live ? undefined : session.disconnectedAt,
      cleanStart: live ? channel.cleanStart : false,
      sessionExpirySeconds: session.expiryInterval,
      keepAliveSeconds: live ? Math.round(channel.keepAliveMs / 1000) : undefined,
      subscriptions: session.subscriptions.size,
      inflight: session.inflight.size,
      queued: session.queue.length,
    };
  }

  private subscriptionsOf(session: Session): AdminSubscriptionInfo[] {
    const out: AdminSubscriptionInfo[] = [];
    for (const e of session.subscriptions.values()) {
      out.push({
        clientId: session.clientId,
        node: this.engine.nodeId,
        topicFilter: e.topicFilter,
        shareGroup: e.group?.name,
        qos: e.qos,
        noLocal: e.noLocal,
        retainAsPublished: e.retainAsPublished,
        retainHandling: e.retainHandling,
        subscriptionId: e.subscriptionIds?.[0],
      });
    }
    return out.sort((a, b) => compareKeys(a.topicFilter, b.topicFilter));
  }

  private retainedInfo(topic: string, payload: Buffer, qos: QoS, properties: Properties | undefined, expiresAt: number): AdminRetainedMessage {
    return {
      topic,
      payload,
      qos,
      userProperties: properties?.userProperties ?? [],
      contentType: properties?.contentType,
      expiresAt: expiresAt === 0 ? undefined : expiresAt,
      node: this.engine.nodeId,
    };
  }
}

function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
