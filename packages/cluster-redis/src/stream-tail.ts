/**
 * Tails a change stream (routes, retained messages) on a dedicated connection with
 * XREAD BLOCK, from an id taken on the shared command connection at watch() time (so every
 * change written after watch() through the same client is seen).
 *
 * Falling behind: streams are trimmed (MAXLEN ~). After each non-empty read the tail asks
 * XINFO STREAM (Redis 7) whether entries were trimmed and the first one left is newer than the
 * position read from; then changes may have been missed, and `resync()` is called: it takes a fresh consistent
 * snapshot and returns the stream id it corresponds to, and the tail continues from there.
 * Connection errors (Redis down, restarted) are retried every 200 ms until stopped.
 */
import type { RedisClient } from './redis-client.js';
import { sleep } from './redis-client.js';

export type StreamFields = Map<string, Buffer>;

export interface StreamTailOptions {
  reader: RedisClient;
  key: string;
  startId: Promise<string>;
  onEntry: (id: string, fields: StreamFields) => void;
  /** Take a snapshot, hand it to the listener, return the id it was taken at. */
  resync: () => Promise<string>;
  onError?: (error: unknown) => void;
  blockMs?: number;
}

/** Compares two stream ids ("ms-seq"). */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-');
  const [bm, bs] = b.split('-');
  const d = Number(am) - Number(bm);
  return d !== 0 ? d : Number(as ?? 0) - Number(bs ?? 0);
}

type XReadReply = Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;

export class StreamTail {
  private running = true;
  private resyncRequested = false;
  private readonly done: Promise<void>;

  constructor(private readonly o: StreamTailOptions) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    const { reader, key } = this.o;
    let id: string;
    try {
      id = await this.o.startId;
    } catch (e) {
      this.o.onError?.(e);
      id = '$';
    }
    while (this.running) {
      try {
        if (id === '$') id = await this.lastId();
        if (this.resyncRequested) {
          this.resyncRequested = false;
          id = await this.o.resync();
        }
        const reply = (await reader.xreadBuffer('COUNT', 1000, 'BLOCK', this.o.blockMs ?? 1000, 'STREAMS', key, id)) as XReadReply;
        if (!this.running) break;
        if (reply === null || reply.length === 0) continue;
        const entries = reply[0][1];
        if (entries.length === 0) continue;
        if (await this.trimmedAfter(id)) {
          id = await this.o.resync();
          continue;
        }
        for (const [rawId, list] of entries) {
          const fields: StreamFields = new Map();
          for (let i = 0; i + 1 < list.length; i += 2) fields.set(list[i].toString(), list[i + 1]);
          id = rawId.toString();
          this.o.onEntry(id, fields);
        }
      } catch (e) {
        if (!this.running) break;
        this.o.onError?.(e);
        await sleep(200);
      }
    }
  }

  private async lastId(): Promise<string> {
    const last = (await this.o.reader.xrevrange(this.o.key, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
    return last.length > 0 ? last[0][0] : '0-0';
  }

  /**
   * True when entries after `id` may have been trimmed away: the stream has lost entries
   * (entries-added > length) and its first remaining entry is newer than `id`. Conservative: it
   * may also answer true when exactly the entries up to `id` were trimmed (a harmless resync).
   */
  private async trimmedAfter(id: string): Promise<boolean> {
    const info = (await this.o.reader.call('XINFO', 'STREAM', this.o.key)) as unknown[];
    const field = new Map<string, unknown>();
    for (let i = 0; i + 1 < info.length; i += 2) field.set(String(info[i]), info[i + 1]);
    const added = Number(field.get('entries-added') ?? 0);
    const length = Number(field.get('length') ?? 0);
    const first = String(field.get('recorded-first-entry-id') ?? '0-0');
    return added > length && compareIds(first, id) > 0;
  }

  /** Resynchronise before the next read (the server may have lost its data, e.g. a restart). */
  requestResync(): void {
    this.resyncRequested = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.o.reader.disconnect();
    await this.done;
  }
}
