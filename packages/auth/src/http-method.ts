/**
 * The HTTP auth hook as a method of the chain (AUTH_CHAIN=...,http): every CONNECT is POSTed to
 * the authentication URL as JSON {clientid, username, password, peerhost, protocol, transport}
 * (http-hook.ts reads the verdict). allow -> accepted; deny -> 0x86 Bad user name or password;
 * ignore -> the next method of the chain is asked. Verdicts are cached (allow and deny; the key is
 * every field of the body, the password as its SHA-256).
 *
 * No verdict (the service is down, slow past the timeout, busy, or answers garbage) is decided by
 * `failMode`:
 *   closed -> refused with 0x88 Server unavailable (3.1.1: 3), the default;
 *   next   -> the hook does not know the client: the next method decides, and when none does, the
 *             chain's rules apply (a user name -> 0x86, none -> ALLOW_ANONYMOUS). There is no
 *             "open" (accept anyone while the hook is down): that would let in every client the
 *             service exists to refuse.
 */
import { createHash } from 'node:crypto';
import type { AuthRequest } from '@mqtt-broker/core';
import type { AnswerCache } from './answer-cache.js';
import { type AuthMethod, BAD_USER_NAME_OR_PASSWORD, type MethodDecision, SERVER_UNAVAILABLE } from './auth-method.js';
import { type HookVerdict, type HttpHook, isVerdict } from './http-hook.js';

export const HTTP_FAIL_MODES = ['closed', 'next'] as const;
export type HttpFailMode = (typeof HTTP_FAIL_MODES)[number];

export interface HttpMethodOptions {
  hook: HttpHook;
  url: string;
  failMode: HttpFailMode;
  cache: AnswerCache<HookVerdict>;
  /** A verdict answered from the cache, for metrics. */
  onCacheHit?: () => void;
}

const PROTOCOL = { 3: 'MQTT 3.1', 4: 'MQTT 3.1.1', 5: 'MQTT 5.0' } as const;

export function authenticationBody(request: AuthRequest): Record<string, string | null> {
  return {
    clientid: request.clientId,
    username: request.username ?? null,
    password: request.password === undefined ? null : request.password.toString('utf8'),
    peerhost: request.address,
    protocol: PROTOCOL[request.protocolVersion],
    transport: request.transport,
  };
}

function cacheKey(request: AuthRequest): string {
  const password = request.password === undefined ? '' : createHash('sha256').update(request.password).digest('hex');
  return JSON.stringify([request.clientId, request.username ?? null, password, request.address, request.protocolVersion, request.transport]);
}

function decisionOf(verdict: HookVerdict): MethodDecision | undefined {
  if (verdict === 'allow') return { ok: true };
  if (verdict === 'deny') return { ok: false, reasonCode: BAD_USER_NAME_OR_PASSWORD, reason: 'http_denied' };
  return undefined;
}

export function createHttpMethod(options: HttpMethodOptions): AuthMethod {
  return {
    name: 'http',
    checksCredentials: true,
    async authenticate(request: AuthRequest): Promise<MethodDecision | undefined> {
      const key = cacheKey(request);
      const cached = options.cache.get(key);
      if (cached !== undefined) {
        options.onCacheHit?.();
        return decisionOf(cached);
      }
      const outcome = await options.hook.post(options.url, authenticationBody(request), 'authentication');
      if (isVerdict(outcome)) {
        options.cache.set(key, outcome);
        return decisionOf(outcome);
      }
      if (options.failMode === 'next') return undefined;
      return { ok: false, reasonCode: SERVER_UNAVAILABLE, reason: `http_${outcome}` };
    },
  };
}
