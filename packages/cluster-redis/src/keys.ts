/**
 * Every Redis key and channel name, in one place. Keys that must be touched together by one Lua
 * script share a hash tag (`{...}`) so they live in one Redis Cluster slot: one client's keys
 * share `{c:<clientId>}`, the route table and its change stream share `{routes}`, the retained
 * hash and its stream share `{retained}`. Node channels carry the node's own tag, so sharded
 * pub/sub (SSUBSCRIBE/SPUBLISH) keeps each node's traffic on one Redis shard.
 */
export class Keys {
  constructor(readonly prefix = 'mqtt') {}

  /** Hash: `<nodeId>\0<filter>` -> '1'. */
  get routes(): string {
    return `${this.prefix}:{routes}:table`;
  }

  /** Stream of route changes: fields op (a|r|n), node, filter. */
  get routeChanges(): string {
    return `${this.prefix}:{routes}:changes`;
  }

  /** Hash: topic -> encoded StoredMessage. */
  get retained(): string {
    return `${this.prefix}:{retained}:messages`;
  }

  /** Stream of retained changes: fields op (s|d), node, topic, [msg]. */
  get retainedChanges(): string {
    return `${this.prefix}:{retained}:changes`;
  }

  /** String: the packed SessionSnapshot of a persistent session. */
  session(clientId: string): string {
    return `${this.prefix}:{c:${clientId}}:session`;
  }

  /** Set of client ids with a stored session (an index for clientIds()). */
  get sessionIndex(): string {
    return `${this.prefix}:sessions`;
  }

  /** Hash {node, epoch}: the current owner of a client id. */
  owner(clientId: string): string {
    return `${this.prefix}:{c:${clientId}}:owner`;
  }

  /** Counter: the last epoch handed out for a client id (outlives the owner key). */
  epoch(clientId: string): string {
    return `${this.prefix}:{c:${clientId}}:epoch`;
  }

  /** Pub/sub channel of a node: bus frames and control requests/replies. */
  nodeChannel(nodeId: string): string {
    return `${this.prefix}:{n:${nodeId}}:bus`;
  }

  /** String with a TTL: present while the node is alive. */
  heartbeat(nodeId: string): string {
    return `${this.prefix}:{n:${nodeId}}:alive`;
  }

  /** Sorted set nodeId -> last heartbeat (ms): every node ever seen and not yet cleaned up. */
  get members(): string {
    return `${this.prefix}:members`;
  }

  /** SET NX lock: the survivor that cleans up after a dead node. */
  cleanup(nodeId: string): string {
    return `${this.prefix}:{n:${nodeId}}:cleanup`;
  }

  /**
   * String with a TTL, set by the survivor cleaning up after the node once its persistent sessions
   * are restored there (clients waiting for the node stop waiting); deleted when the node starts.
   */
  adopted(nodeId: string): string {
    return `${this.prefix}:{n:${nodeId}}:adopted`;
  }

  /** Stream (consumer group `g`): durable QoS 1/2 batches for a node (stream-bus.ts). */
  inbox(nodeId: string): string {
    return `${this.prefix}:{n:${nodeId}}:inbox`;
  }

  /**
   * String (TTL): set once a dead node's inbox was drained for the last time; appends to the
   * inbox are refused while it exists, so no acknowledged message lands where nobody reads.
   * Deleted by the node when it reads its inbox again under the same id.
   */
  inboxSeal(nodeId: string): string {
    return `${this.prefix}:{n:${nodeId}}:sealed`;
  }

  /** String (JSON, short TTL): the tombstones a leaving node left for the survivor (MovedClient[]). */
  moved(nodeId: string): string {
    return `${this.prefix}:{n:${nodeId}}:moved`;
  }

  /** Hash clientId -> packed will: wills of the clients connected to a node. */
  wills(nodeId: string): string {
    return `${this.prefix}:{n:${nodeId}}:wills`;
  }

  /** Set of client ids: the persistent sessions a node holds (adopted by a survivor when it dies). */
  nodeSessions(nodeId: string): string {
    return `${this.prefix}:{n:${nodeId}}:sessions`;
  }

  /** String (60 s TTL): the survivor holding an adopted session whose client was already reconnecting elsewhere. */
  holder(clientId: string): string {
    return `${this.prefix}:{c:${clientId}}:holder`;
  }
}

/** The field of the routes hash for (filter, node); the NUL cannot occur in either. */
export function routeField(filter: string, nodeId: string): string {
  return `${nodeId}\u0000${filter}`;
}

export function parseRouteField(field: string): { filter: string; nodeId: string } {
  const i = field.indexOf('\u0000');
  return { nodeId: field.slice(0, i), filter: field.slice(i + 1) };
}
