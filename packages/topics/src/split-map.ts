/**
 * A string-keyed map that never hits V8's Map size limit.
 *
 * V8 throws "Map maximum size exceeded" when one Map reaches 2^24 (16,777,216) entries. SplitMap
 * keeps its entries in a chain of Maps of at most `limit` entries each (default 2^23, so a part's
 * backing store never needs the doubling that would cross the limit): a lookup tries the parts in
 * order and stops at the first hit. A key lives in exactly one part. V8 caches a string's hash in
 * the string, so probing a second part with the same key does not hash it again; below `limit`
 * entries there is one part and a lookup is one Map.get.
 *
 * The chain is used rather than hashing keys to parts because a JavaScript string hash on the
 * match path would cost a loop over the key on every lookup, for every map size.
 */

/** Entries per part before a new part is started; below V8's 2^24 Map limit with room to spare. */
export const SPLIT_MAP_LIMIT = 1 << 23;

export class SplitMap<V> {
  #parts: Array<Map<string, V>>;
  #size = 0;
  readonly #limit: number;

  /** `limit` is settable so tests can exercise several parts with few entries. */
  constructor(limit: number = SPLIT_MAP_LIMIT) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('SplitMap limit must be a positive integer');
    this.#limit = limit;
    this.#parts = [new Map()];
  }

  get size(): number {
    return this.#size;
  }

  /** Number of underlying Maps (memory accounting and tests). */
  get partCount(): number {
    return this.#parts.length;
  }

  /** Entries in each underlying Map. */
  get partSizes(): number[] {
    return this.#parts.map((p) => p.size);
  }

  get(key: string): V | undefined {
    const parts = this.#parts;
    const v = parts[0].get(key);
    if (v !== undefined || parts.length === 1) return v;
    for (let i = 1; i < parts.length; i++) {
      const w = parts[i].get(key);
      if (w !== undefined) return w;
    }
    return undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Sets `key` (values must not be undefined: undefined means "absent" here). */
  set(key: string, value: V): void {
    const parts = this.#parts;
    for (const part of parts) {
      if (part.has(key)) {
        part.set(key, value);
        return;
      }
    }
    let target: Map<string, V> | undefined;
    for (const part of parts) {
      if (part.size < this.#limit) {
        target = part;
        break;
      }
    }
    if (target === undefined) {
      target = new Map();
      parts.push(target);
    }
    target.set(key, value);
    this.#size++;
  }

  delete(key: string): boolean {
    const parts = this.#parts;
    for (let i = 0; i < parts.length; i++) {
      if (parts[i].delete(key)) {
        this.#size--;
        // drop a part that emptied (never the first), so a shrunk map probes fewer parts
        if (parts[i].size === 0 && i > 0) parts.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  clear(): void {
    this.#parts = [new Map()];
    this.#size = 0;
  }

  *entries(): IterableIterator<[string, V]> {
    for (const part of this.#parts) yield* part.entries();
  }

  *keys(): IterableIterator<string> {
    for (const part of this.#parts) yield* part.keys();
  }

  *values(): IterableIterator<V> {
    for (const part of this.#parts) yield* part.values();
  }
}
