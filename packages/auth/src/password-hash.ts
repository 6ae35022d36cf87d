/**
 * Password hashes in the formats mosquitto_passwd writes and mosquitto reads (2.0):
 *   $7$<iterations>$<base64 salt>$<base64 hash>  PBKDF2-HMAC-SHA512, 12-byte salt, 64-byte hash
 *   $6$<base64 salt>$<base64 hash>               SHA-512(password || salt), older mosquitto_passwd
 * mosquitto rejects a line whose salt does not decode to 12 bytes or whose hash does not decode to
 * 64 bytes; so do we. PBKDF2 runs on libuv's thread pool (crypto.pbkdf2), never on the event loop.
 * The password is compared as bytes up to its first NUL, as mosquitto's strlen() does.
 */
import { createHash, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export const DEFAULT_ITERATIONS = 101;
const SALT_BYTES = 12;
const HASH_BYTES = 64;

export type PasswordHash =
  | { kind: 'pbkdf2-sha512'; iterations: number; salt: Buffer; hash: Buffer }
  | { kind: 'sha512'; salt: Buffer; hash: Buffer };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(text: string, bytes: number): Buffer | undefined {
  if (!BASE64.test(text)) return undefined;
  const buf = Buffer.from(text, 'base64');
  return buf.length === bytes ? buf : undefined;
}

/** Parses the part after `user:`; undefined when it is not a hash mosquitto would accept. */
export function parsePasswordHash(text: string): PasswordHash | undefined {
  const parts = text.split('$');
  // parts[0] is the empty string before the leading '$'
  if (parts[0] !== '') return undefined;
  if (parts[1] === '7' && parts.length === 5) {
    if (!/^[0-9]+$/.test(parts[2])) return undefined;
    const iterations = Number(parts[2]);
    if (!Number.isSafeInteger(iterations) || iterations < 1) return undefined;
    const salt = decodeBase64(parts[3], SALT_BYTES);
    const hash = decodeBase64(parts[4], HASH_BYTES);
    if (salt === undefined || hash === undefined) return undefined;
    return { kind: 'pbkdf2-sha512', iterations, salt, hash };
  }
  if (parts[1] === '6' && parts.length === 4) {
    const salt = decodeBase64(parts[2], SALT_BYTES);
    const hash = decodeBase64(parts[3], HASH_BYTES);
    if (salt === undefined || hash === undefined) return undefined;
    return { kind: 'sha512', salt, hash };
  }
  return undefined;
}

export function formatPasswordHash(h: PasswordHash): string {
  if (h.kind === 'pbkdf2-sha512') return `$7$${h.iterations}$${h.salt.toString('base64')}$${h.hash.toString('base64')}`;
  return `$6$${h.salt.toString('base64')}$${h.hash.toString('base64')}`;
}

/** The bytes mosquitto hashes: up to the first NUL. */
export function passwordBytes(password: Buffer | string): Buffer {
  const buf = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  const nul = buf.indexOf(0);
  return nul === -1 ? buf : buf.subarray(0, nul);
}

async function digest(h: PasswordHash, password: Buffer): Promise<Buffer> {
  if (h.kind === 'pbkdf2-sha512') return pbkdf2Async(password, h.salt, h.iterations, HASH_BYTES, 'sha512');
  return createHash('sha512').update(password).update(h.salt).digest();
}

/** A new $7$ hash with a random 12-byte salt, as mosquitto_passwd makes it. */
export async function hashPassword(password: Buffer | string, iterations = DEFAULT_ITERATIONS): Promise<PasswordHash> {
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new RangeError('iterations must be a positive integer');
  const salt = randomBytes(SALT_BYTES);
  const hash = await pbkdf2Async(passwordBytes(password), salt, iterations, HASH_BYTES, 'sha512');
  return { kind: 'pbkdf2-sha512', iterations, salt, hash };
}

export async function verifyPasswordHash(h: PasswordHash, password: Buffer | string): Promise<boolean> {
  const computed = await digest(h, passwordBytes(password));
  return computed.length === h.hash.length && timingSafeEqual(computed, h.hash);
}
