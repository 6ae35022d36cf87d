/**
 * Adds, changes or deletes one user in a password file, as `mosquitto_passwd [-c] -b FILE USER
 * PASS` and `mosquitto_passwd -D FILE USER` do: the user's line is replaced in place (or appended),
 * every other line is kept byte for byte, and the new line is `user:$7$101$<salt>$<hash>`. The
 * file is written to a temporary sibling and renamed over the original, so a reader (mosquitto,
 * or our own SIGHUP reload) never sees a half-written file. A new file is created with mode 0600.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { DEFAULT_ITERATIONS, formatPasswordHash, hashPassword } from './password-hash.js';
import { splitEntry } from './password-file.js';

export interface WritePasswordOptions {
  /** PBKDF2 iterations (mosquitto_passwd's default is 101). */
  iterations?: number;
}

function validateUser(user: string): void {
  if (user.length === 0) throw new RangeError('user name must not be empty');
  if (user.includes(':')) throw new RangeError("user name must not contain ':'");
  if (/[\r\n]/.test(user)) throw new RangeError('user name must not contain a line break');
  if (user !== user.trim()) throw new RangeError('user name must not start or end with white space');
}

async function readLines(file: string): Promise<{ lines: string[]; mode: number }> {
  try {
    const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return { lines, mode: info.mode & 0o777 };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], mode: 0o600 };
    throw err;
  }
}

async function replaceFile(file: string, lines: string[], mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const text = lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  try {
    await writeFile(tmp, text, { mode });
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

function isLineOf(line: string, user: string): boolean {
  if (line.startsWith('#')) return false;
  return splitEntry(line)?.user === user;
}

/** Adds the user or changes their password. */
export async function writePasswordEntry(file: string, user: string, password: string | Buffer, options: WritePasswordOptions = {}): Promise<void> {
  validateUser(user);
  const hash = await hashPassword(password, options.iterations ?? DEFAULT_ITERATIONS);
  const entry = `${user}:${formatPasswordHash(hash)}`;
  const { lines, mode } = await readLines(file);
  let replaced = false;
  const out: string[] = [];
  for (const line of lines) {
    if (isLineOf(line, user)) {
      if (!replaced) out.push(entry);
      replaced = true;
    } else {
      out.push(line);
    }
  }
  if (!replaced) out.push(entry);
  await replaceFile(file, out, mode);
}

/** Removes the user; returns false when they were not in the file. */
export async function deletePasswordEntry(file: string, user: string): Promise<boolean> {
  const { lines, mode } = await readLines(file);
  const out = lines.filter((line) => !isLineOf(line, user));
  if (out.length === lines.length) return false;
  await replaceFile(file, out, mode);
  return true;
}
