/**
 * The HTTP auth hook's authorization side: each PUBLISH topic and SUBSCRIBE filter is POSTed to
 * the authorization URL as JSON {clientid, username, action: "publish" | "subscribe", topic, qos,
 * retain} before the broker acts on it (Authorizer.prepare: the client's packets wait, in order,
 * while the answer is fetched). allow / deny decide (5.0: PUBACK / SUBACK 0x87; 3.1.1: the
 * PUBLISH is dropped, the filter gets 0x80); ignore hands the question to the `inner` authorizer
 * (the token's claim ACL or ACL_FILE; with neither, allowed). Verdicts are cached by every field
 * of the body. Delivery (canRead) is the inner authorizer's alone: the hook is asked about
 * subscriptions, not about each message.
 *
 * No verdict (down, slow past the timeout, busy, garbage): `closed` denies; `next` hands the
 * question to the inner authorizer as for ignore. A will is checked when it is published, with no
 * chance to wait for the service: it is published only on a cached verdict (else as no verdict).
 */
import type { AuthorizationRequest, Authorizer, ClientIdentity, PublishFacts } from '@mqtt-broker/core';
import { AnswerCache } from './answer-cache.js';
import { type HookOutcome, type HookVerdict, type HttpHook, isVerdict } from './http-hook.js';
import type { HttpFailMode } from './http-method.js';

export interface HttpAuthorizerOptions {
  hook: HttpHook;
  url: string;
  failMode: HttpFailMode;
  cache: AnswerCache<HookVerdict>;
  /** Decides what the hook ignores (and, with failMode `next`, what it could not answer), and every delivery. */
  inner: Authorizer | undefined;
  onCacheHit?: () => void;
}

/** Answers fetched for a held packet wait this long, at most, for the packet to be handled again. */
const FRESH_MS = 30_000;
const MAX_FRESH = 10_000;

export function createHttpAuthorizer(options: HttpAuthorizerOptions): Authorizer {
  const { hook, url, failMode, cache, inner } = options;
  const fresh = new AnswerCache<HookOutcome>(FRESH_MS, MAX_FRESH);
  const fetching = new Map<string, Promise<void>>();

  const body = (client: ClientIdentity, request: AuthorizationRequest) => ({
    clientid: client.clientId,
    username: client.username ?? null,
    action: request.action,
    topic: request.topic,
    qos: request.qos,
    retain: request.action === 'publish' ? request.retain : false,
  });
  const keyOf = (client: ClientIdentity, request: AuthorizationRequest): string => JSON.stringify(Object.values(body(client, request)));

  const fallback = (client: ClientIdentity, request: AuthorizationRequest): boolean => {
    if (request.action === 'publish') return inner?.canPublish?.(client, request.topic, request) ?? true;
    return inner?.canSubscribe?.(client, request.topic, request.qos) ?? true;
  };

  const decide = (client: ClientIdentity, request: AuthorizationRequest): boolean => {
    const key = keyOf(client, request);
    const outcome = cache.get(key) ?? fresh.take(key);
    if (outcome === 'allow') return true;
    if (outcome === 'deny') return false;
    if (outcome === 'ignore' || failMode === 'next') return fallback(client, request);
    return false;
  };

  return {
    prepare(client: ClientIdentity, request: AuthorizationRequest): Promise<void> | undefined {
      const key = keyOf(client, request);
      if (cache.get(key) !== undefined) {
        options.onCacheHit?.();
        return undefined;
      }
      if (fresh.get(key) !== undefined) return undefined;
      let pending = fetching.get(key);
      if (pending === undefined) {
        pending = hook.post(url, body(client, request), 'authorization').then((outcome) => {
          fetching.delete(key);
          fresh.set(key, outcome);
          if (isVerdict(outcome)) cache.set(key, outcome);
        });
        fetching.set(key, pending);
      }
      return pending;
    },
    canPublish(client: ClientIdentity, topic: string, message?: PublishFacts): boolean {
      return decide(client, { action: 'publish', topic, qos: message?.qos ?? 0, retain: message?.retain ?? false });
    },
    canSubscribe(client: ClientIdentity, topicFilter: string, qos?: PublishFacts['qos']): boolean {
      return decide(client, { action: 'subscribe', topic: topicFilter, qos: qos ?? 0 });
    },
    ...(inner?.canRead !== undefined ? { canRead: inner.canRead.bind(inner) } : {}),
  };
}
