/**
 * Bearer-token check of the admin API. Every call must carry gRPC metadata
 * `authorization: Bearer <token>`. Both sides are hashed (SHA-256) before a timingSafeEqual, so
 * the comparison takes the same time whatever the presented token and its length are.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';

export const AUTHORIZATION_KEY = 'authorization';

/** What a call presented: a token, nothing, or something that is not `Bearer <token>`. */
export type AuthResult = 'ok' | 'missing' | 'invalid';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export function bearer(token: string): string {
  return `Bearer ${token}`;
}

/** A checker for one expected token: `check(call.metadata)`. */
export function tokenChecker(expected: string): (metadata: Metadata) => AuthResult {
  const want = digest(expected);
  return (metadata) => {
    const values = metadata.get(AUTHORIZATION_KEY);
    if (values.length === 0) return 'missing';
    const value = values[0];
    if (values.length !== 1 || typeof value !== 'string') return 'invalid';
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(value);
    if (m === null) return 'invalid';
    return timingSafeEqual(digest(m[1] ?? ''), want) ? 'ok' : 'invalid';
  };
}
