/**
 * SessionStore on Redis: one string per session (the packed snapshot) plus an index set of ids.
 *
 * Fencing (docs/cluster.md, "Fencing"): a store made with a `nodeId` writes a session only while
 * that node may (the FENCE Lua function in lua.ts: it owns the client id in the registry, or hands
 * the session over to the owner, or holds it for the owner after adopting it from a dead node), so
 * a node that was paused or partitioned while its client moved elsewhere cannot overwrite the new
 * owner's snapshot when it resumes. A refused save or delete resolves (the caller's own state is
 * what is stale, not Redis); it is counted (`fencedWrites`) and told to the `onFenced` listeners:
 * the engine drops its copy of the session, the service logs the first refusal per client. The
 * inbox's save-and-acknowledge (stream-bus.ts) fences through the same script and reports here.
 *
 * Cost: a save is one EVALSHA on a single Redis (snapshot and index in one script; it was SET +
 * SADD), two commands on Redis Cluster (the index is another slot). The load by the owner is one
 * EVALSHA too (it closes the handover window: the previous owner's permit and a survivor's holder
 * hint go). A store without `nodeId` (operator tools, tests) writes unconditionally: `unfenced()`.
 */
import type { SessionSnapshot, SessionStore } from '@mqtt-broker/core';
import type { Keys } from './keys.js';
import { APPEND_UNLESS_SEALED, COMMIT_ENTRY, FENCED_DELETE, FENCED_SAVE, LOAD_SESSION } from './lua.js';
import { pack, unpack } from './pack.js';
import { isCluster, type RedisClient } from './redis-client.js';
import { type RedisTimer, timed } from './timing.js';

/** A write this node was refused because another node owns the client id now. */
export interface FencedWrite {
  clientId: string;
  op: 'save' | 'delete';
  /** The owner Redis named (undefined: no owner, but a newer registration came and went). */
  owner: { nodeId: string; epoch: number } | undefined;
  /** True for the first refusal of this client since this node last wrote it (log once per client). */
  first: boolean;
}

export interface SessionStoreOptions {
  /** Told how long each session command took. */
  timer?: RedisTimer;
  /** This node: writes are fenced by client ownership. Unset: unconditional writes. */
  nodeId?: string;
  /** The epoch this node registered `clientId` at, if it holds a registration (RedisClientRegistry.epochOf). */
  epochOf?: (clientId: string) => number | undefined;
}

type FenceReply = [number, string | null, string | null];

interface SessionCommands {
  fencedSave(...args: Array<string | number | Buffer>): Promise<FenceReply>;
  fencedDelete(...args: Array<string | number | Buffer>): Promise<FenceReply>;
  loadSessionBuffer(...args: Array<string | number | Buffer>): Promise<Buffer | null>;
  commitEntry(...args: Array<string | number | Buffer>): Promise<Array<string | null>>;
  appendUnlessSealed(inbox: string, seal: string, body: Buffer, nodeId: string): Promise<string | null>;
}

const defined = new WeakSet<RedisClient>();

/** The fenced session scripts as ioredis commands (EVALSHA once loaded on a connection; EVAL the first time). */
export function sessionCommands(client: RedisClient): SessionCommands {
  if (!defined.has(client)) {
    client.defineCommand('fencedSave', { lua: FENCED_SAVE });
    client.defineCommand('fencedDelete', { lua: FENCED_DELETE });
    client.defineCommand('loadSession', { lua: LOAD_SESSION, numberOfKeys: 3 });
    client.defineCommand('commitEntry', { lua: COMMIT_ENTRY });
    client.defineCommand('appendUnlessSealed', { lua: APPEND_UNLESS_SEALED, numberOfKeys: 2 });
    defined.add(client);
  }
  return client as unknown as SessionCommands;
}

/** Most client ids remembered as "refusal logged" (then the set starts over: a few repeated log lines). */
const MAX_LOGGED = 10_000;

export class RedisSessionStore implements SessionStore {
  /** Saves and deletes refused by the fence (the metric mqtt_cluster_fenced_writes_total). */
  fencedWrites = 0;
  private readonly listeners: Array<(clientId: string, write: FencedWrite) => void> = [];
  private readonly logged = new Set<string>();
  private readonly cluster: boolean;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
    private readonly options: SessionStoreOptions = {},
  ) {
    this.cluster = isCluster(client);
  }

  /** The node whose ownership fences the writes, if any. */
  get nodeId(): string | undefined {
    return this.options.nodeId;
  }

  /** The same store without fencing (operator actions: discarding a session no node holds). */
  unfenced(): RedisSessionStore {
    return new RedisSessionStore(this.client, this.keys, { timer: this.options.timer });
  }

  onFenced(listener: (clientId: string, write: FencedWrite) => void): void {
    this.listeners.push(listener);
  }

  async load(clientId: string): Promise<SessionSnapshot | undefined> {
    const nodeId = this.options.nodeId;
    const k = this.keys;
    const raw =
      nodeId === undefined
        ? await timed(this.options.timer, 'session', this.client.getBuffer(k.session(clientId)))
        : await timed(this.options.timer, 'session', sessionCommands(this.client).loadSessionBuffer(k.owner(clientId), k.holder(clientId), k.session(clientId), nodeId));
    return raw === null ? undefined : (unpack(raw) as SessionSnapshot);
  }

  async save(snapshot: SessionSnapshot): Promise<void> {
    const clientId = snapshot.clientId;
    const nodeId = this.options.nodeId;
    if (nodeId === undefined) {
      // two slots in Redis Cluster (session key, index): two commands, the session first
      await timed(this.options.timer, 'session', this.client.set(this.keys.session(clientId), pack(snapshot)));
      await timed(this.options.timer, 'session', this.client.sadd(this.keys.sessionIndex, clientId));
      return;
    }
    const reply = await timed(this.options.timer, 'session', sessionCommands(this.client).fencedSave(...this.fenceKeys(clientId), ...this.fenceArgs(clientId), pack(snapshot)));
    if (reply[0] !== 1) return this.refused(clientId, 'save', reply[1], reply[2]);
    this.written(clientId);
    if (this.cluster) await timed(this.options.timer, 'session', this.client.sadd(this.keys.sessionIndex, clientId));
  }

  async delete(clientId: string): Promise<void> {
    if (this.options.nodeId === undefined) {
      await timed(this.options.timer, 'session', this.client.del(this.keys.session(clientId)));
      await timed(this.options.timer, 'session', this.client.srem(this.keys.sessionIndex, clientId));
      return;
    }
    const reply = await timed(this.options.timer, 'session', sessionCommands(this.client).fencedDelete(...this.fenceKeys(clientId), ...this.fenceArgs(clientId)));
    if (reply[0] !== 1) return this.refused(clientId, 'delete', reply[1], reply[2]);
    this.written(clientId);
    if (this.cluster) await timed(this.options.timer, 'session', this.client.srem(this.keys.sessionIndex, clientId));
  }

  async clientIds(): Promise<string[]> {
    return this.client.smembers(this.keys.sessionIndex);
  }

  /** numkeys and KEYS of FENCED_SAVE / FENCED_DELETE (the index only on a single Redis: another slot). */
  private fenceKeys(clientId: string): Array<string | number> {
    const k = this.keys;
    const keys: Array<string | number> = [this.cluster ? 4 : 5, k.owner(clientId), k.holder(clientId), k.epoch(clientId), k.session(clientId)];
    if (!this.cluster) keys.push(k.sessionIndex);
    return keys;
  }

  /** ARGV before the snapshot: node, writer epoch or '', client id. */
  fenceArgs(clientId: string): [string, string, string] {
    const epoch = this.options.epochOf?.(clientId);
    return [this.options.nodeId ?? '', epoch === undefined ? '' : String(epoch), clientId];
  }

  /** A write of `clientId` by this node landed: a later refusal is logged again. */
  written(clientId: string): void {
    if (this.logged.size > 0) this.logged.delete(clientId);
  }

  /** A write was refused (here or in the inbox's save-and-acknowledge): count it and tell the listeners. */
  refused(clientId: string, op: 'save' | 'delete', ownerNode: string | null, ownerEpoch: string | null): void {
    this.fencedWrites++;
    const first = !this.logged.has(clientId);
    if (first) {
      if (this.logged.size >= MAX_LOGGED) this.logged.clear();
      this.logged.add(clientId);
    }
    const owner = ownerNode === null || ownerNode === '' ? undefined : { nodeId: ownerNode, epoch: Number(ownerEpoch) };
    const write: FencedWrite = { clientId, op, owner, first };
    for (const l of this.listeners) l(clientId, write);
  }
}
