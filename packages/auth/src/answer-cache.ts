/**
 * Answers of an authentication / authorization service kept for a while (HTTP_AUTH_CACHE_SECONDS),
 * allow and deny alike, keyed by everything the answer depended on. Bounded: past `maxEntries` the
 * oldest entry goes (a flood of distinct clients cannot grow it without end).
 */
export class AnswerCache<A> {
  readonly #entries = new Map<string, { answer: A; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): A | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.now()) return entry.answer;
    this.#entries.delete(key);
    return undefined;
  }

  /** The answer, removed: for an answer fetched to be used once. */
  take(key: string): A | undefined {
    const answer = this.get(key);
    this.#entries.delete(key);
    return answer;
  }

  set(key: string, answer: A): void {
    if (this.ttlMs <= 0) return;
    this.#entries.delete(key);
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { answer, expiresAt: this.now() + this.ttlMs });
  }

  get size(): number {
    return this.#entries.size;
  }
}
