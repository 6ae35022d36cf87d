/**
 * A Mosquitto password file, parsed the way mosquitto 2.0 parses it: lines starting with '#' and
 * lines without ':' are skipped; `user:hash` is split at ':' and both parts trimmed; a line whose
 * hash mosquitto would not decode is dropped (and listed in `invalidLines`).
 *
 * Verifying runs PBKDF2 (async, thread pool). To survive a reconnect storm, successful
 * verifications are cached per (user, SHA-256 of the password) in a bounded LRU owned by this
 * PasswordFile; a reload builds a new PasswordFile, so the cache starts empty. Concurrent
 * verifications of the same (user, password) share one PBKDF2 run.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type PasswordHash, parsePasswordHash, passwordBytes, verifyPasswordHash } from './password-hash.js';

export interface PasswordFileOptions {
  /** Successful verifications remembered (default 10,000). 0 disables the cache. */
  cacheSize?: number;
}

export class PasswordFile {
  readonly path: string | undefined;
  /** 1-based numbers of lines that looked like entries but carried no valid hash. */
  readonly invalidLines: readonly number[];
  readonly #users: Map<string, PasswordHash>;
  readonly #cacheSize: number;
  readonly #verified = new Map<string, true>();
  readonly #pending = new Map<string, Promise<boolean>>();

  private constructor(users: Map<string, PasswordHash>, invalidLines: number[], path: string | undefined, options: PasswordFileOptions) {
    this.#users = users;
    this.invalidLines = invalidLines;
    this.path = path;
    this.#cacheSize = options.cacheSize ?? 10_000;
  }

  static parse(text: string, path?: string, options: PasswordFileOptions = {}): PasswordFile {
    const users = new Map<string, PasswordHash>();
    const invalid: number[] = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (line.startsWith('#')) continue;
      const parsed = splitEntry(line);
      if (parsed === undefined) continue;
      const hash = parsePasswordHash(parsed.hash);
      if (hash === undefined) {
        invalid.push(i + 1);
        continue;
      }
      users.set(parsed.user, hash);
    }
    return new PasswordFile(users, invalid, path, options);
  }

  get size(): number {
    return this.#users.size;
  }

  has(user: string): boolean {
    return this.#users.has(user);
  }

  users(): IterableIterator<string> {
    return this.#users.keys();
  }

  /** Number of cached successful verifications (for tests and metrics). */
  get cachedVerifications(): number {
    return this.#verified.size;
  }

  async verify(user: string, password: Buffer | string): Promise<boolean> {
    const hash = this.#users.get(user);
    if (hash === undefined) return false;
    const bytes = passwordBytes(password);
    if (this.#cacheSize === 0) return verifyPasswordHash(hash, bytes);
    const key = `${user}\u0000${createHash('sha256').update(bytes).digest('base64')}`;
    if (this.#verified.has(key)) {
      // refresh LRU position
      this.#verified.delete(key);
      this.#verified.set(key, true);
      return true;
    }
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = verifyPasswordHash(hash, bytes).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    const ok = await pending;
    if (ok && !this.#verified.has(key)) {
      if (this.#verified.size >= this.#cacheSize) {
        const oldest = this.#verified.keys().next().value;
        if (oldest !== undefined) this.#verified.delete(oldest);
      }
      this.#verified.set(key, true);
    }
    return ok;
  }

  clearCache(): void {
    this.#verified.clear();
  }
}

/** `user:hash` as mosquitto's strtok(":") reads it; undefined for lines it skips. */
export function splitEntry(line: string): { user: string; hash: string } | undefined {
  if (line.indexOf(':') === -1) return undefined;
  const tokens = line.split(':').filter((t) => t.length > 0);
  if (tokens.length < 2) return undefined;
  const user = tokens[0].trim();
  const hash = tokens[1].trim();
  if (user.length === 0 || hash.length === 0) return undefined;
  return { user, hash };
}

export async function loadPasswordFile(path: string, options: PasswordFileOptions = {}): Promise<PasswordFile> {
  const text = await readFile(path, 'utf8');
  return PasswordFile.parse(text, path, options);
}
