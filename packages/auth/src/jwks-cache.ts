/**
 * A JWKS URL's key set, fetched with undici and kept:
 * - fetched on first use (or by `prefetch` at start), refreshed in the background once older
 *   than `maxAgeMs`, and refreshed at once when a token names a `kid` the set does not have
 *   (key rotation), at most once per `cooldownMs` so a flood of made-up kids cannot hammer the URL;
 * - served stale while the URL is down: a failed refresh keeps the last good set. Only when no set
 *   was ever fetched does `getKey` throw JwksUnavailableError (the CONNECT gets 0x88).
 * At most one fetch runs at a time; concurrent CONNECTs wait for the same one.
 */
import { type CryptoKey, createLocalJWKSet, errors, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import { request } from 'undici';

/** No key set could be fetched yet (the URL is down, slow or answers garbage). */
export class JwksUnavailableError extends Error {
  constructor(url: string, cause: unknown) {
    super(`JWKS ${url} unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'JwksUnavailableError';
  }
}

export interface JwksCacheOptions {
  url: string;
  /** A set older than this is refreshed in the background (default 5 min). */
  maxAgeMs?: number;
  /** Least time between two fetches triggered by unknown kids or failures (default 5 s). */
  cooldownMs?: number;
  /** One fetch at most (default 3 s). */
  timeoutMs?: number;
  /** Every failed fetch (the set in use, if any, stays). */
  onFetchError?: (error: Error) => void;
  now?: () => number;
}

const MAX_JWKS_BYTES = 1024 * 1024;
type LocalSet = ReturnType<typeof createLocalJWKSet>;

export class JwksCache {
  readonly url: string;
  readonly #maxAgeMs: number;
  readonly #cooldownMs: number;
  readonly #timeoutMs: number;
  readonly #onFetchError: ((error: Error) => void) | undefined;
  readonly #now: () => number;
  #set: LocalSet | undefined;
  #fetchedAt = 0;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #lastError: unknown;
  #fetching: Promise<void> | undefined;

  constructor(options: JwksCacheOptions) {
    this.url = options.url;
    this.#maxAgeMs = options.maxAgeMs ?? 300_000;
    this.#cooldownMs = options.cooldownMs ?? 5_000;
    this.#timeoutMs = options.timeoutMs ?? 3_000;
    this.#onFetchError = options.onFetchError;
    this.#now = options.now ?? Date.now;
  }

  /** Whether a key set is held (possibly stale). */
  get loaded(): boolean {
    return this.#set !== undefined;
  }

  /** Fetch now (at start); failures are reported, not thrown. */
  prefetch(): Promise<void> {
    return this.#refresh();
  }

  /** jose's key resolver: the key for this token's header. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    const now = this.#now();
    if (this.#set === undefined) {
      if (now - this.#attemptedAt >= this.#cooldownMs || this.#fetching !== undefined) await this.#refresh();
      if (this.#set === undefined) throw new JwksUnavailableError(this.url, this.#lastError);
    } else if (now - this.#fetchedAt >= this.#maxAgeMs && now - this.#attemptedAt >= this.#cooldownMs) {
      void this.#refresh();
    }
    const set: LocalSet = this.#set;
    try {
      return await set(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey) || this.#now() - this.#attemptedAt < this.#cooldownMs) throw err;
      await this.#refresh();
      return await (this.#set ?? set)(header, token);
    }
  };

  #refresh(): Promise<void> {
    this.#fetching ??= this.#fetch().finally(() => {
      this.#fetching = undefined;
    });
    return this.#fetching;
  }

  async #fetch(): Promise<void> {
    this.#attemptedAt = this.#now();
    try {
      const response = await request(this.url, { method: 'GET', headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.#timeoutMs) });
      const text = await response.body.text();
      if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`);
      if (text.length > MAX_JWKS_BYTES) throw new Error('key set too large');
      const parsed = JSON.parse(text) as JSONWebKeySet;
      if (typeof parsed !== 'object' || parsed === null || !Array.isArray(parsed.keys)) throw new Error('not a JWK set (no "keys" list)');
      this.#set = createLocalJWKSet(parsed);
      this.#fetchedAt = this.#now();
      this.#lastError = undefined;
    } catch (err) {
      this.#lastError = err;
      this.#onFetchError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
