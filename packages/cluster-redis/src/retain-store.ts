/**
 * RetainStore on Redis: a hash topic -> encoded message plus a change stream (written together
 * by one Lua script), so every node can keep its RetainedIndex current by tailing the stream
 * (`watch`) instead of scanning Redis on a wildcard subscribe.
 */
import type { RetainChange, RetainStore, StoredMessage } from '@mqtt-broker/core';
import type { Keys } from './keys.js';
import { DELETE_RETAINED, LAST_ID, SET_RETAINED } from './lua.js';
import { decodeMessage, encodeMessage } from './message-codec.js';
import { evalScript, onReconnect, type RedisClient } from './redis-client.js';
import { StreamTail } from './stream-tail.js';
import { type RedisTimer, timed } from './timing.js';

export interface RetainStoreOptions {
  streamMaxLen?: number;
  onError?: (error: unknown) => void;
  /** Told how long each retained-message command took. */
  timer?: RedisTimer;
}

export class RedisRetainStore implements RetainStore {
  private readonly maxLen: number;
  private readonly tails = new Set<StreamTail>();

  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
    private readonly nodeId: string,
    private readonly options: RetainStoreOptions = {},
  ) {
    this.maxLen = options.streamMaxLen ?? 10_000;
  }

  async set(topic: string, message: StoredMessage): Promise<void> {
    await this.timed(evalScript(this.client, SET_RETAINED, [this.keys.retained, this.keys.retainedChanges], [topic, encodeMessage(message), this.nodeId, this.maxLen]));
  }

  async delete(topic: string): Promise<void> {
    await this.timed(evalScript(this.client, DELETE_RETAINED, [this.keys.retained, this.keys.retainedChanges], [topic, this.nodeId, this.maxLen]));
  }

  async get(topic: string): Promise<StoredMessage | undefined> {
    const raw = await this.timed(this.client.hgetBuffer(this.keys.retained, topic));
    return raw === null ? undefined : decodeMessage(raw);
  }

  async loadAll(): Promise<StoredMessage[]> {
    const all = await this.timed(this.client.hgetallBuffer(this.keys.retained));
    return Object.values(all).map((raw) => decodeMessage(raw));
  }

  watch(listener: (change: RetainChange) => void, onResync?: (messages: StoredMessage[]) => void): () => void {
    const startId = evalScript(this.client, LAST_ID, [this.keys.retainedChanges], []) as Promise<string>;
    const tail = new StreamTail({
      reader: this.client.duplicate(),
      key: this.keys.retainedChanges,
      startId,
      onEntry: (_id, f) => {
        const op = f.get('op')?.toString();
        const topic = f.get('topic')?.toString() ?? '';
        const nodeId = f.get('node')?.toString() ?? '';
        const msg = f.get('msg');
        if (op === 's' && msg !== undefined) listener({ op: 'set', topic, nodeId, message: decodeMessage(msg) });
        else if (op === 'd') listener({ op: 'delete', topic, nodeId });
      },
      resync: async () => {
        // the id first, then the hash: replaying changes after the id onto the newer hash converges
        const id = (await evalScript(this.client, LAST_ID, [this.keys.retainedChanges], [])) as string;
        const all = await this.loadAll();
        if (onResync !== undefined) onResync(all);
        else for (const message of all) listener({ op: 'set', topic: message.topic, nodeId: '', message });
        return id;
      },
      onError: this.options.onError,
    });
    this.tails.add(tail);
    this.watchReconnects();
    return () => {
      if (this.tails.delete(tail)) tail.stop().catch(() => {});
    };
  }

  private timed<T>(p: Promise<T>): Promise<T> {
    return timed(this.options.timer, 'retained', p);
  }

  private watchingReconnects = false;

  /** After a reconnect Redis may have restarted empty: every watcher resyncs (and the engine re-writes its state). */
  private watchReconnects(): void {
    if (this.watchingReconnects) return;
    this.watchingReconnects = true;
    onReconnect(this.client, () => {
      for (const t of this.tails) t.requestResync();
    });
  }

  async close(): Promise<void> {
    const tails = [...this.tails];
    this.tails.clear();
    await Promise.all(tails.map((t) => t.stop()));
  }
}
