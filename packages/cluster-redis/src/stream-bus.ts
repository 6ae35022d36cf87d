/**
 * DurablePort on Redis (docs/cluster.md, "Durable QoS 1/2" and "Node failure").
 *
 * Inbox: one stream per node, `mqtt:{n:<node>}:inbox`, consumer group `g`. Appends of one
 * event-loop turn to one node become ONE stream entry (field `b`: u32 count, then packed
 * messages), issued back to back on the shared connection (no round trip between them); each
 * caller's promise resolves when its entry's XADD is acknowledged. The owner reads with
 * XREADGROUP BLOCK on a dedicated connection (first its own pending entries, left by a
 * previous run of the same node id, then new ones). When the engine has delivered an entry it
 * returns the snapshots of the persistent sessions that now hold a copy, and one Lua script saves
 * them (each fenced by this node's ownership of the client, session-store.ts) and XACK+XDELs the
 * entry: on a single Redis the entry is either still in the inbox or in the saved sessions. On
 * Redis Cluster the keys live in different slots and the same steps run one by one (a kill
 * between them can repeat a QoS 2 message after a failover).
 *
 * Acknowledged entries are deleted, so everything left in a dead node's inbox is exactly what
 * it had not secured yet: the survivor reads it all with XRANGE (no XAUTOCLAIM needed), hands
 * it to the engine batch by batch with the same save-and-delete step, and deletes the stream.
 * It looks again a few times (drainOrphaned: a lagging node may still append), and the last look
 * seals the inbox: appends are a script that refuses a sealed inbox (APPEND_UNLESS_SEALED), so
 * none is acknowledged where nobody reads; the node back under its id lifts the seal.
 *
 * Failure: an append when the connection is not ready fails at once (0x80); bytes appended and
 * not yet acknowledged are bounded (`maxBacklogBytes`, 0x97 past it). ioredis queues commands
 * while reconnecting; the engine bounds how long a publisher's ack waits (appendTimeoutMs).
 */
import {
  type CleanupState,
  DurableAppendError,
  type DurableBatchHandler,
  type DurableMessage,
  type DurablePort,
  type MovedClient,
  type NodeCleanup,
  type SessionSnapshot,
  type SharedTarget,
  type StoredWill,
} from '@mqtt-broker/core';
import type { Keys } from './keys.js';
import { DELETE_IF_EMPTY, HAS_GROUP } from './lua.js';
import { readMessage, writeMessage } from './message-codec.js';
import { pack, Reader, Writer } from './pack.js';
import { evalScript, isCluster, type RedisClient, sleep } from './redis-client.js';
import { RedisSessionStore, sessionCommands } from './session-store.js';
import { type RedisTimer, timed } from './timing.js';

const GROUP = 'g';
const READ_COUNT = 20;
/** Messages per inbox entry at most (a slow subscriber's queue must be able to take one entry). */
const MAX_ENTRY_MESSAGES = 100;
const DRAIN_COUNT = 100;
/** How long a cleaned-up node's inbox stays sealed (Keys.inboxSeal): far longer than any node lags. */
const SEAL_SECONDS = 24 * 3600;
/** When a cleaned-up node's inbox is looked at again, ms after its drain, unless configured. */
const ORPHAN_CHECKS_MS: readonly number[] = [1000, 5000, 15_000];

/** KEYS: owner hash, epoch counter. ARGV: dead node, new node. Moves the id only if the dead node owns it. */
const ADOPT_CLIENT = `
local cur = redis.call('HGET', KEYS[1], 'node')
if cur ~= ARGV[1] then return false end
local e = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'node', ARGV[2], 'epoch', e)
return e`;

export interface RedisDurableOptions {
  nodeId: string;
  maxBacklogBytes?: number;
  appendTimeoutMs?: number;
  cleanupWaitMs?: number;
  /** Grace of a will whose connection a drain closed (DurablePort.drainWillGraceMs); default 30 s. */
  drainWillGraceMs?: number;
  /** Told when drainOrphaned found messages (a publishing node appended after the drain). */
  onOrphaned?: (deadNodeId: string, messages: number) => void;
  /** Told when an append was refused because the destination's inbox is sealed (this node routed to a cleaned-up node). */
  onSealed?: (deadNodeId: string, messages: number) => void;
  /**
   * When a cleaned-up node's inbox is looked at again after its drain, ms after it; the last look
   * seals it (DurablePort.orphanChecksMs). Default 1 s, 5 s, 15 s.
   */
  orphanChecksMs?: readonly number[];
  blockMs?: number;
  onError?: (error: unknown) => void;
  /** Told how long each XADD and save-and-ack took (Redis latency metric, op 'stream'). */
  timer?: RedisTimer;
  /**
   * The node's fenced session store (RedisPorts.sessions): the saves of an entry's
   * save-and-acknowledge are fenced like its own and refusals reported through it. Unset: a store
   * fenced by `nodeId` alone (no registration epochs, nobody told).
   */
  sessions?: RedisSessionStore;
  /**
   * Cleans up after a node now if its heartbeat is gone (RedisMembership.cleanUp): asked by a
   * connecting client's claim waiting for that node (DurablePort.cleanUpNow).
   */
  cleanUpNow?: (nodeId: string) => Promise<void>;
}

export interface RedisDurableStats {
  /** XADD commands (one per destination node per event-loop turn). */
  xadds: number;
  messagesAppended: number;
  appendsRefused: number;
  /** XREADGROUP calls that returned entries, and entries/messages consumed. */
  reads: number;
  entriesConsumed: number;
  messagesConsumed: number;
  /** Transactions that saved sessions and acknowledged an entry. */
  commits: number;
  sessionsSaved: number;
  /** Dead nodes cleaned up by this node, and what it did for them. */
  nodesCleaned: number;
  willsPublished: number;
  sessionsAdopted: number;
  messagesClaimed: number;
  /** Messages found in a cleaned-up node's inbox after its drain (drainOrphaned). */
  orphanedMessages: number;
  /** Messages refused because their destination's inbox was sealed (also in appendsRefused). */
  messagesSealedOut: number;
  /** Messages appended per destination node / consumed per sending node. */
  sentByPeer: Map<string, number>;
  receivedByPeer: Map<string, number>;
}

interface PendingEntry {
  writer: Writer;
  count: number;
  /**
   * What every append of this entry returns: one promise per entry, not per message (at QoS 1
   * the per-message promises and their handlers were a tenth of a publishing node's CPU).
   */
  done: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function newEntry(): PendingEntry {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // an append nobody waits for (a will, an admin publish) must not be an unhandled rejection;
  // whoever waits still sees the failure
  done.catch(() => undefined);
  const writer = new Writer(1024);
  writer.u32(0); // message count, set when sent
  return { writer, count: 0, done, resolve, reject };
}

type XReadGroupReply = Array<[Buffer, Array<[Buffer, Buffer[] | null]>]> | null;

export class RedisDurable implements DurablePort {
  readonly stats: RedisDurableStats = {
    xadds: 0,
    messagesAppended: 0,
    appendsRefused: 0,
    reads: 0,
    entriesConsumed: 0,
    messagesConsumed: 0,
    commits: 0,
    sessionsSaved: 0,
    nodesCleaned: 0,
    willsPublished: 0,
    sessionsAdopted: 0,
    messagesClaimed: 0,
    orphanedMessages: 0,
    messagesSealedOut: 0,
    sentByPeer: new Map(),
    receivedByPeer: new Map(),
  };
  readonly appendTimeoutMs: number;
  readonly cleanupWaitMs: number;
  readonly drainWillGraceMs: number | undefined;
  private readonly pending = new Map<string, PendingEntry>();
  /** Full entries of this turn, sent before the open ones. */
  private readonly full: Array<[string, PendingEntry]> = [];
  private flushScheduled = false;
  private backlogBytes = 0;
  private readonly maxBacklogBytes: number;
  private readonly cluster: boolean;
  private deadHandler: ((deadNodeId: string) => Promise<NodeCleanup>) | undefined = undefined;
  private readers: RedisClient[] = [];
  private readonly sessions: RedisSessionStore;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
    private readonly options: RedisDurableOptions,
  ) {
    this.maxBacklogBytes = options.maxBacklogBytes ?? 64 * 1024 * 1024;
    this.appendTimeoutMs = options.appendTimeoutMs ?? 5000;
    this.cleanupWaitMs = options.cleanupWaitMs ?? 20_000;
    this.drainWillGraceMs = options.drainWillGraceMs;
    this.cluster = isCluster(client);
    this.sessions = options.sessions ?? new RedisSessionStore(client, keys, { nodeId: options.nodeId });
  }

  available(): boolean {
    return this.client.status === 'ready';
  }

  append(nodeId: string, dm: DurableMessage): Promise<void> {
    if (!this.available()) {
      this.stats.appendsRefused++;
      return Promise.reject(new DurableAppendError(0x80, 'Redis is not connected'));
    }
    if (this.backlogBytes > this.maxBacklogBytes) {
      this.stats.appendsRefused++;
      return Promise.reject(new DurableAppendError(0x97, 'durable forwarding backlog over its bound'));
    }
    let entry = this.pending.get(nodeId);
    if (entry === undefined) {
      entry = newEntry();
      this.pending.set(nodeId, entry);
    }
    const { target, forClient, id, hops, local } = dm;
    const w = entry.writer;
    w.u8((target !== undefined ? 1 : 0) | (forClient !== undefined ? 2 : 0) | (id !== undefined ? 4 : 0) | (hops !== undefined ? 8 : 0) | (local === true ? 16 : 0));
    if (target !== undefined) {
      w.str(target.group);
      w.str(target.filter);
      w.u8(target.hops);
    }
    if (forClient !== undefined) w.str(forClient);
    if (id !== undefined) w.str(id);
    if (hops !== undefined) w.u8(hops);
    writeMessage(w, dm.message);
    entry.count++;
    if (entry.count >= MAX_ENTRY_MESSAGES) {
      this.full.push([nodeId, entry]);
      this.pending.delete(nodeId);
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return entry.done;
  }

  private flush(): void {
    this.flushScheduled = false;
    const entries = [...this.full, ...this.pending];
    this.full.length = 0;
    for (const [nodeId, entry] of entries) {
      const frame = entry.writer.finish();
      frame.writeUInt32BE(entry.count, 0);
      const size = frame.length;
      this.backlogBytes += size;
      this.stats.xadds++;
      this.stats.messagesAppended += entry.count;
      this.stats.sentByPeer.set(nodeId, (this.stats.sentByPeer.get(nodeId) ?? 0) + entry.count);
      timed(this.options.timer, 'stream', sessionCommands(this.client).appendUnlessSealed(this.keys.inbox(nodeId), this.keys.inboxSeal(nodeId), frame, this.options.nodeId)).then(
        (id) => {
          this.backlogBytes -= size;
          if (id !== null) {
            entry.resolve();
            return;
          }
          this.stats.appendsRefused++;
          this.stats.messagesSealedOut += entry.count;
          this.options.onSealed?.(nodeId, entry.count);
          entry.reject(new DurableAppendError(0x80, `node ${nodeId} was cleaned up: its inbox is sealed`));
        },
        (err: unknown) => {
          this.backlogBytes -= size;
          entry.reject(new DurableAppendError(0x80, `XADD failed: ${String(err)}`));
        },
      );
    }
    this.pending.clear();
  }

  async consume(nodeId: string, handler: DurableBatchHandler, gate?: () => Promise<void>): Promise<() => Promise<void>> {
    const key = this.keys.inbox(nodeId);
    await this.ensureGroup(key);
    const reader = this.client.duplicate() as RedisClient;
    reader.on('error', (e: unknown) => this.options.onError?.(e));
    this.readers.push(reader);
    let running = true;
    const loop = async (): Promise<void> => {
      let from = '0'; // own pending entries first (a previous run of this node id)
      while (running) {
        try {
          const args: Array<string | number> = ['GROUP', GROUP, nodeId, 'COUNT', READ_COUNT];
          if (from === '>') args.push('BLOCK', this.options.blockMs ?? 1000);
          args.push('STREAMS', key, from);
          const reply = (await (reader as unknown as { xreadgroupBuffer(...a: Array<string | number>): Promise<XReadGroupReply> }).xreadgroupBuffer(...args)) as XReadGroupReply;
          const entries = reply?.[0]?.[1] ?? [];
          if (entries.length === 0) {
            from = '>';
            continue;
          }
          this.stats.reads++;
          if (from !== '>') from = entries[entries.length - 1][0].toString();
          for (const [id, fields] of entries) {
            if (gate !== undefined) await gate();
            if (!running) return;
            const batch = fields === null ? [] : decodeEntry(fields);
            this.stats.entriesConsumed++;
            this.stats.messagesConsumed += batch.length;
            const from = fields === null ? '' : senderOf(fields);
            this.stats.receivedByPeer.set(from, (this.stats.receivedByPeer.get(from) ?? 0) + batch.length);
            const snapshots = batch.length === 0 ? [] : handler(batch);
            this.commit(key, [id.toString()], snapshots, true).catch((e: unknown) => this.options.onError?.(e));
          }
        } catch (e) {
          if (!running) return;
          if (String(e).includes('NOGROUP')) await this.ensureGroup(key).catch(() => {});
          else this.options.onError?.(e);
          await sleep(200);
        }
      }
    };
    const done = loop();
    return async () => {
      running = false;
      reader.disconnect();
      await done;
    };
  }

  /** Creates this node's inbox and group, then lifts a seal left by a cleanup of an earlier run of the same id. */
  private async ensureGroup(key: string): Promise<void> {
    try {
      await this.client.xgroup('CREATE', key, GROUP, '0', 'MKSTREAM');
    } catch (e) {
      if (!String(e).includes('BUSYGROUP')) throw e;
    }
    // after the group: a last look that runs meanwhile sees the group and does not seal again
    await this.client.del(this.keys.inboxSeal(this.options.nodeId));
  }

  /**
   * Saves the snapshots and acknowledges + deletes the entry. A single Redis: one script
   * (COMMIT_ENTRY, atomic like the MULTI it replaced), each save fenced by this node's ownership of
   * the client (session-store.ts); a refused save is reported there and the entry is still
   * acknowledged (the copy belongs to the session's owner, which got it too or from the dead
   * node's drain). Redis Cluster: other slots, the fenced saves then XACK and XDEL, not atomic.
   */
  private async commit(key: string, ids: string[], snapshots: SessionSnapshot[], ack: boolean): Promise<void> {
    this.stats.commits++;
    this.stats.sessionsSaved += snapshots.length;
    const store = this.sessions;
    if (this.cluster) {
      for (const s of snapshots) await store.save(s);
      if (ack) await this.client.xack(key, GROUP, ...ids);
      await this.client.xdel(key, ...ids);
      return;
    }
    const k = this.keys;
    const keys: Array<string | number> = [2 + 4 * snapshots.length, key, k.sessionIndex];
    const args: Array<string | Buffer> = [GROUP, ids.join(','), ack ? '1' : '0', this.options.nodeId];
    for (const s of snapshots) {
      const c = s.clientId;
      keys.push(k.owner(c), k.holder(c), k.epoch(c), k.session(c));
      args.push(store.fenceArgs(c)[1], c, pack(s));
    }
    const refused = await timed(this.options.timer, 'stream', sessionCommands(this.client).commitEntry(...keys, ...args));
    const denied = new Set<string>();
    for (let i = 0; i + 2 < refused.length; i += 3) {
      const c = String(refused[i]);
      denied.add(c);
      store.refused(c, 'save', refused[i + 1], refused[i + 2]);
    }
    for (const s of snapshots) if (!denied.has(s.clientId)) store.written(s.clientId);
  }

  /**
   * Pages of up to DRAIN_COUNT entries, each page's deliveries saved and its entries deleted by
   * one commit (the last snapshot of each session it touched): one save per session per page,
   * where one per entry made draining a backlog into an offline session quadratic (its whole
   * queue saved again for every entry; 2,500 one-message entries took ~10 s). A page stops early
   * when `held` says a local session is congested, and the next one waits for it to drain.
   */
  async drain(deadNodeId: string, handler: DurableBatchHandler, keep = false, held?: () => Promise<void> | undefined): Promise<number> {
    return this.drainInbox(deadNodeId, handler, keep ? 'keep' : 'delete', held);
  }

  get orphanChecksMs(): readonly number[] {
    return this.options.orphanChecksMs ?? ORPHAN_CHECKS_MS;
  }

  async drainOrphaned(deadNodeId: string, handler: DurableBatchHandler, last: boolean): Promise<number> {
    const key = this.keys.inbox(deadNodeId);
    if (Number(await evalScript(this.client, HAS_GROUP, [key], [])) === 1) return 0; // read by its node again
    const messages = await this.drainInbox(deadNodeId, handler, last ? 'sealed' : 'orphaned');
    this.stats.orphanedMessages += messages;
    if (messages > 0) this.options.onOrphaned?.(deadNodeId, messages);
    return messages;
  }

  /**
   * `end`: keep the inbox; delete it once empty; delete it once empty unless its node reads it
   * again; the same, and seal it (the last look: appends are refused from then on).
   */
  private async drainInbox(deadNodeId: string, handler: DurableBatchHandler, end: 'keep' | 'delete' | 'orphaned' | 'sealed', held?: () => Promise<void> | undefined): Promise<number> {
    const key = this.keys.inbox(deadNodeId);
    let from = '-';
    let messages = 0;
    for (;;) {
      await held?.();
      const entries = (await this.client.xrangeBuffer(key, from, '+', 'COUNT', DRAIN_COUNT)) as Array<[Buffer, Buffer[]]>;
      if (entries.length === 0) {
        if (end === 'keep' || Number(await evalScript(this.client, DELETE_IF_EMPTY, [key, this.keys.inboxSeal(deadNodeId)], [end === 'delete' ? '0' : '1', end === 'sealed' ? SEAL_SECONDS : '0'])) === 1) break;
        from = '-'; // appended since the read: drained before the inbox goes (what is left is unread: read entries are deleted)
        continue;
      }
      const ids: string[] = [];
      const touched = new Map<string, SessionSnapshot>();
      for (const [id, fields] of entries) {
        const batch = decodeEntry(fields);
        messages += batch.length;
        if (batch.length > 0) for (const snapshot of handler(batch)) touched.set(snapshot.clientId, snapshot);
        ids.push(id.toString());
        if (held?.() !== undefined) break;
      }
      await this.commit(key, ids, [...touched.values()], false);
      from = `(${ids[ids.length - 1]}`;
    }
    this.stats.messagesClaimed += messages;
    return messages;
  }

  async cleanUpNow(nodeId: string): Promise<void> {
    await this.options.cleanUpNow?.(nodeId);
  }

  /** Packed: client id, delay, message, then (added later, so older values still read) due time and user name. */
  async setWill(nodeId: string, will: StoredWill): Promise<void> {
    const w = new Writer(96 + will.message.payload.length);
    w.str(will.clientId);
    w.f64(will.delaySeconds);
    writeMessage(w, will.message);
    w.f64(will.dueAt ?? 0);
    w.u8(will.username !== undefined ? 1 : 0);
    if (will.username !== undefined) w.str(will.username);
    await this.client.hset(this.keys.wills(nodeId), will.clientId, w.finish());
  }

  async deleteWill(nodeId: string, clientId: string): Promise<void> {
    await this.client.hdel(this.keys.wills(nodeId), clientId);
  }

  async takeWills(nodeId: string): Promise<StoredWill[]> {
    const key = this.keys.wills(nodeId);
    // one transaction (one key): a will set meanwhile is either taken here or left in the hash
    const replies = await this.client.multi().hgetallBuffer(key).del(key).exec();
    const [err, all] = replies?.[0] ?? [null, {}];
    if (err !== null) throw err;
    return Object.values(all as Record<string, Buffer>).map(readWill);
  }

  async indexSession(nodeId: string, clientId: string): Promise<void> {
    await this.client.sadd(this.keys.nodeSessions(nodeId), clientId);
  }

  async unindexSession(nodeId: string, clientId: string): Promise<void> {
    await this.client.srem(this.keys.nodeSessions(nodeId), clientId);
  }

  indexedSessions(nodeId: string): Promise<string[]> {
    return this.client.smembers(this.keys.nodeSessions(nodeId));
  }

  async adoptClient(clientId: string, deadNodeId: string, nodeId: string): Promise<{ nodeId: string; epoch: number } | undefined> {
    const r = await this.client.eval(ADOPT_CLIENT, 2, this.keys.owner(clientId), this.keys.epoch(clientId), deadNodeId, nodeId);
    return r === null || r === undefined ? undefined : { nodeId, epoch: Number(r) };
  }

  async setMoved(nodeId: string, moved: MovedClient[]): Promise<void> {
    if (moved.length > 0) await this.client.set(this.keys.moved(nodeId), JSON.stringify(moved), 'PX', 60_000);
  }

  async takeMoved(nodeId: string): Promise<MovedClient[]> {
    const raw = await this.client.get(this.keys.moved(nodeId));
    if (raw === null) return [];
    await this.client.del(this.keys.moved(nodeId));
    return JSON.parse(raw) as MovedClient[];
  }

  async setHolder(clientId: string, nodeId: string): Promise<void> {
    await this.client.set(this.keys.holder(clientId), nodeId, 'PX', 60_000);
  }

  async holder(clientId: string): Promise<string | undefined> {
    return (await this.client.get(this.keys.holder(clientId))) ?? undefined;
  }

  /** One round trip: heartbeat, member entry, adoption mark. */
  async cleanupState(nodeId: string): Promise<CleanupState> {
    const [alive, member, adopted] = await Promise.all([
      this.client.exists(this.keys.heartbeat(nodeId)),
      this.client.zscore(this.keys.members, nodeId),
      this.client.exists(this.keys.adopted(nodeId)),
    ]);
    if (alive === 1) return 'alive';
    if (member === null) return 'cleaned';
    return adopted === 1 ? 'adopted' : 'dead';
  }

  async markAdopted(deadNodeId: string): Promise<void> {
    await this.client.set(this.keys.adopted(deadNodeId), this.options.nodeId, 'PX', 60_000);
  }

  onNodeDead(handler: (deadNodeId: string) => Promise<NodeCleanup>): void {
    this.deadHandler = handler;
  }

  /** Membership's onNodeDead: this node won the dead node's cleanup. */
  async nodeDead(deadNodeId: string): Promise<void> {
    if (this.deadHandler === undefined) return;
    const r = await this.deadHandler(deadNodeId);
    this.stats.nodesCleaned++;
    this.stats.willsPublished += r.wills;
    this.stats.sessionsAdopted += r.adopted;
  }

  /**
   * Graceful stop, before the node leaves the cluster: the wills still waiting (Will Delay
   * Interval, drain grace: a due time) stay for the survivor that cleans up after this node,
   * which publishes each when due unless its client came back (docs/cluster.md "Drain"); a will
   * without one (its connection was alive: there should be none after the drain) is deleted.
   */
  async leave(): Promise<void> {
    const key = this.keys.wills(this.options.nodeId);
    const all = await this.client.hgetallBuffer(key);
    const stale = Object.entries(all)
      .filter(([, raw]) => (readWill(raw).dueAt ?? 0) === 0)
      .map(([clientId]) => clientId);
    if (stale.length > 0) await this.client.hdel(key, ...stale);
  }

  async close(): Promise<void> {
    if (this.flushScheduled) this.flush();
    for (const r of this.readers) r.disconnect();
    this.readers = [];
  }
}

function readWill(raw: Buffer): StoredWill {
  const r = new Reader(raw);
  const clientId = r.str();
  const delaySeconds = r.f64();
  const will: StoredWill = { clientId, delaySeconds, message: readMessage(r) };
  if (r.done) return will; // stored by a version without due time and user name
  will.dueAt = r.f64();
  if (r.u8() === 1) will.username = r.str();
  return will;
}

function senderOf(fields: Buffer[]): string {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i].toString() === 'n') return fields[i + 1].toString();
  return '';
}

/**
 * Entry field `b`: u32 count, then per message u8 flags (1: shared target group, filter, u8 hops;
 * 2: for one client, client id; 4: message id; 8: u8 hops; 16: local copy, no field), those
 * fields, and the packed message.
 */
function decodeEntry(fields: Buffer[]): DurableMessage[] {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i].toString() !== 'b') continue;
    const r = new Reader(fields[i + 1]);
    const n = r.u32();
    const out: DurableMessage[] = new Array(n);
    for (let k = 0; k < n; k++) {
      const flags = r.u8();
      const target: SharedTarget | undefined = (flags & 1) !== 0 ? { group: r.str(), filter: r.str(), hops: r.u8() } : undefined;
      const forClient = (flags & 2) !== 0 ? r.str() : undefined;
      const id = (flags & 4) !== 0 ? r.str() : undefined;
      const hops = (flags & 8) !== 0 ? r.u8() : undefined;
      const dm: DurableMessage = { message: readMessage(r) };
      if (hops !== undefined) dm.hops = hops;
      if (target !== undefined) dm.target = target;
      if (forClient !== undefined) dm.forClient = forClient;
      if (id !== undefined) dm.id = id;
      if ((flags & 16) !== 0) dm.local = true;
      out[k] = dm;
    }
    return out;
  }
  return [];
}
