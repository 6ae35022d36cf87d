/**
 * The admin facade of a whole cluster (docs/cluster.md, "Admin API in a cluster"): any node
 * answers for every node. Per-node questions (status, clients, subscriptions, kick) go to every
 * live node at once: this node's own facade is called directly, the others are asked over their
 * node channel (RedisNodeBus `request`/`serveRequests`, one packed request and one packed reply
 * each). The live nodes are the members whose heartbeat key exists, read from Redis per call.
 *
 * Each peer gets `timeoutMs` (default 2 s) to answer; one that does not is reported in
 * ClusterStatus as `unreachable` and left out of listings (the call still succeeds with what the
 * others said). Listings are merged with `mergeAdminPages`: every node returns "the first N after
 * the token" by the same sort key, so paging across the cluster works like on one node.
 *
 * Cluster-wide already, answered locally: Publish (routed to the other nodes like a client's
 * publish), GetRetained (every node keeps a replica of the retained messages), DeleteRetained
 * (deletes in Redis, the others drop it from their replica through the change feed).
 *
 * A persistent session that no node holds (its node drained and the client has not come back)
 * lives only in Redis: GetClient finds it there (node ''), and Kick with discard_session deletes it.
 */
import {
  AdminError,
  type AdminClientDetail,
  type AdminClientInfo,
  type AdminClientQuery,
  type AdminClusterStatus,
  type AdminFacade,
  type AdminKickResult,
  type AdminNodeStatus,
  type AdminPage,
  type AdminPublishRequest,
  type AdminPublishResult,
  type AdminRetainedMessage,
  type AdminRetainedQuery,
  type AdminSubscriptionInfo,
  type AdminSubscriptionQuery,
  adminKeys,
  decodePageToken,
  mergeAdminPages,
  pageSizeOf,
  type SessionSnapshot,
} from '@mqtt-broker/core';
import type { RedisMembership } from './membership.js';
import type { RedisNodeBus } from './node-bus.js';
import { pack, unpack } from './pack.js';
import type { RedisSessionStore } from './session-store.js';

export const DEFAULT_ADMIN_FANOUT_TIMEOUT_MS = 2000;

export interface ClusterAdminOptions {
  nodeId: string;
  /** This node's own facade (createAdminFacade(broker)); also what peers' requests are answered with. */
  local: AdminFacade;
  bus: RedisNodeBus;
  membership: RedisMembership;
  /** Where persistent sessions no node holds are found. */
  sessions?: RedisSessionStore;
  /** How long one peer may take to answer (default 2000 ms). */
  timeoutMs?: number;
  onError?: (error: unknown) => void;
}

/** The per-node operations a peer answers. */
type Op = 'status' | 'listClients' | 'getClient' | 'kickClient' | 'listSubscriptions';

interface Request {
  op: Op;
  args: unknown[];
}

type Reply = { ok: true; value: unknown } | { ok: false; code: string; message: string };

/** What one node said: a value, an error it returned, or nothing in time. */
type NodeAnswer<T> = { nodeId: string; value: T } | { nodeId: string; error: unknown } | { nodeId: string; unreachable: true };

export class ClusterAdminFacade implements AdminFacade {
  private readonly timeoutMs: number;
  private stopServing: (() => void) | undefined;

  constructor(private readonly options: ClusterAdminOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_ADMIN_FANOUT_TIMEOUT_MS;
  }

  /** Starts answering the other nodes' admin requests with the local facade. */
  async serve(): Promise<void> {
    this.stopServing = await this.options.bus.serveRequests((body) => this.answer(body));
  }

  stop(): void {
    this.stopServing?.();
    this.stopServing = undefined;
  }

  async clusterStatus(): Promise<AdminClusterStatus> {
    const answers = await this.ask<AdminClusterStatus>('status', []);
    const nodes: AdminNodeStatus[] = [];
    for (const a of answers) {
      if ('value' in a) nodes.push(...a.value.nodes);
      else {
        if ('error' in a) this.options.onError?.(a.error);
        nodes.push(unreachableNode(a.nodeId));
      }
    }
    return { nodes: nodes.sort((x, y) => (x.nodeId < y.nodeId ? -1 : x.nodeId > y.nodeId ? 1 : 0)) };
  }

  async listClients(query?: AdminClientQuery): Promise<AdminPage<AdminClientInfo>> {
    const size = checkPaging(query);
    const pages = this.values(await this.ask<AdminPage<AdminClientInfo>>('listClients', [query]));
    return mergeAdminPages(pages, adminKeys.client, size);
  }

  async getClient(clientId: string): Promise<AdminClientDetail> {
    const found = this.values(await this.ask<AdminClientDetail>('getClient', [clientId]));
    const best = found.find((d) => d.client.connected) ?? found[0];
    if (best !== undefined) return best;
    const stored = await this.storedSession(clientId);
    if (stored !== undefined) return storedDetail(stored);
    throw new AdminError('not_found', `no client ${JSON.stringify(clientId)} on any node`);
  }

  async kickClient(clientId: string, options?: { discardSession?: boolean }): Promise<AdminKickResult> {
    // every node that holds a session for the id acts (normally one; a kick where there is none is a no-op there)
    const results = this.values(await this.ask<AdminKickResult>('kickClient', [clientId, options ?? {}]));
    const best = results.find((r) => r.disconnected) ?? results.find((r) => r.sessionDiscarded) ?? results[0];
    if (best !== undefined) return best;
    if (options?.discardSession === true && this.options.sessions !== undefined && (await this.storedSession(clientId)) !== undefined) {
      await this.options.sessions.delete(clientId);
      return { node: '', disconnected: false, sessionDiscarded: true };
    }
    throw new AdminError('not_found', `no client ${JSON.stringify(clientId)} on any node`);
  }

  async listSubscriptions(query?: AdminSubscriptionQuery): Promise<AdminPage<AdminSubscriptionInfo>> {
    const size = checkPaging(query);
    const pages = this.values(await this.ask<AdminPage<AdminSubscriptionInfo>>('listSubscriptions', [query]));
    return mergeAdminPages(pages, adminKeys.subscription, size);
  }

  publish(request: AdminPublishRequest): Promise<AdminPublishResult> {
    return this.options.local.publish(request);
  }

  getRetained(query: AdminRetainedQuery): Promise<AdminPage<AdminRetainedMessage>> {
    return this.options.local.getRetained(query);
  }

  deleteRetained(topic: string): Promise<{ deleted: boolean }> {
    return this.options.local.deleteRetained(topic);
  }

  // ---- fan-out ----

  /** Asks every live node (this one directly) and waits for all answers or timeouts. */
  private async ask<T>(op: Op, args: unknown[]): Promise<Array<NodeAnswer<T>>> {
    const self = this.options.nodeId;
    let nodes: string[];
    try {
      nodes = await this.options.membership.liveNodes();
    } catch (e) {
      // Redis unreachable: the peers cannot be asked either; answer for this node (and say so in the log)
      this.options.onError?.(e);
      nodes = [self];
    }
    const body = pack({ op, args } satisfies Request);
    return Promise.all(
      nodes.map(async (nodeId): Promise<NodeAnswer<T>> => {
        if (nodeId === self) {
          try {
            return { nodeId, value: (await this.run(op, args)) as T };
          } catch (error) {
            return { nodeId, error };
          }
        }
        const raw = await this.options.bus.request(nodeId, body, this.timeoutMs).catch((e: unknown) => {
          this.options.onError?.(e);
          return undefined;
        });
        if (raw === undefined) return { nodeId, unreachable: true };
        const reply = unpack(raw) as Reply;
        if (reply.ok) return { nodeId, value: reply.value as T };
        return { nodeId, error: reply.code === 'not_found' || reply.code === 'invalid_argument' ? new AdminError(reply.code, reply.message) : new Error(reply.message) };
      }),
    );
  }

  /**
   * The values of the nodes that answered. An invalid argument is the caller's mistake (every
   * node would say so): thrown. not_found is one node's "not here". Other failures are logged.
   */
  private values<T>(answers: Array<NodeAnswer<T>>): T[] {
    const out: T[] = [];
    for (const a of answers) {
      if ('value' in a) out.push(a.value);
      else if ('error' in a) {
        if (a.error instanceof AdminError && a.error.code === 'invalid_argument') throw a.error;
        if (!(a.error instanceof AdminError)) this.options.onError?.(a.error);
      }
    }
    return out;
  }

  /** Runs one per-node operation on this node's facade. */
  private run(op: Op, args: unknown[]): Promise<unknown> {
    const local = this.options.local;
    switch (op) {
      case 'status':
        return local.clusterStatus();
      case 'listClients':
        return local.listClients(args[0] as AdminClientQuery | undefined);
      case 'getClient':
        return local.getClient(String(args[0]));
      case 'kickClient':
        return local.kickClient(String(args[0]), args[1] as { discardSession?: boolean });
      case 'listSubscriptions':
        return local.listSubscriptions(args[0] as AdminSubscriptionQuery | undefined);
      default:
        return Promise.reject(new AdminError('invalid_argument', `unknown admin operation ${String(op)}`));
    }
  }

  /** A peer's request: run it here, reply with the value or the error's code. */
  private async answer(body: Buffer): Promise<Buffer> {
    let reply: Reply;
    try {
      const request = unpack(body) as Request;
      reply = { ok: true, value: await this.run(request.op, request.args) };
    } catch (e) {
      reply = { ok: false, code: e instanceof AdminError ? e.code : 'internal', message: e instanceof Error ? e.message : String(e) };
    }
    return pack(reply);
  }

  private async storedSession(clientId: string): Promise<SessionSnapshot | undefined> {
    const store = this.options.sessions;
    if (store === undefined) return undefined;
    const s = await store.load(clientId);
    if (s === undefined) return undefined;
    const expired = s.expiryIntervalSeconds !== 0xffffffff && s.disconnectedAt !== undefined && s.disconnectedAt + s.expiryIntervalSeconds * 1000 <= Date.now();
    return expired ? undefined : s;
  }
}

function checkPaging(query: { pageSize?: number; pageToken?: string } | undefined): number {
  decodePageToken(query?.pageToken); // a bad token is refused here, before anyone is asked
  return pageSizeOf(query);
}

function unreachableNode(nodeId: string): AdminNodeStatus {
  return {
    nodeId,
    version: '',
    startedAt: 0,
    uptimeSeconds: 0,
    connections: 0,
    sessions: 0,
    subscriptions: 0,
    sharedSubscriptions: 0,
    retained: 0,
    inflight: 0,
    queued: 0,
    unreachable: true,
  };
}

/** A session stored in Redis only (no node holds it), as the admin API shows a client. */
function storedDetail(s: SessionSnapshot): AdminClientDetail {
  const client: AdminClientInfo = {
    clientId: s.clientId,
    node: '',
    connected: false,
    username: undefined,
    address: undefined,
    transport: undefined,
    protocolVersion: s.protocolVersion,
    connectedSince: undefined,
    disconnectedAt: s.disconnectedAt,
    cleanStart: false,
    sessionExpirySeconds: s.expiryIntervalSeconds,
    keepAliveSeconds: undefined,
    subscriptions: s.subscriptions.length,
    inflight: s.inflight.length,
    queued: s.queued.length,
  };
  const subscriptions: AdminSubscriptionInfo[] = s.subscriptions.map((sub) => {
    const share = /^\$share\/([^/]+)\//.exec(sub.topicFilter);
    return {
      clientId: s.clientId,
      node: '',
      topicFilter: sub.topicFilter,
      shareGroup: share?.[1],
      qos: sub.qos,
      noLocal: sub.noLocal,
      retainAsPublished: sub.retainAsPublished,
      retainHandling: sub.retainHandling,
      subscriptionId: sub.subscriptionIdentifier,
    };
  });
  return { client, subscriptions: subscriptions.sort((a, b) => (a.topicFilter < b.topicFilter ? -1 : a.topicFilter > b.topicFilter ? 1 : 0)) };
}
