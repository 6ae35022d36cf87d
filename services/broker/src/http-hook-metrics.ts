/**
 * The HTTP auth hook's metrics: requests by kind (authentication, authorization) and outcome
 * (allow, deny, ignore, timeout, unavailable, bad_answer, busy), their latency, and verdicts
 * reused from the cache. prom-client is called directly: one request to the hook costs far more
 * than a label lookup, and a cached verdict is one per CONNECT, PUBLISH topic or SUBSCRIBE filter.
 */
import type { HookOutcome } from '@mqtt-broker/auth';
import { Counter, Histogram, type Registry } from 'prom-client';

/** Seconds: 1 ms .. 10 s (HTTP_AUTH_TIMEOUT_MS is at most 60 s, by default 2 s). */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface HttpHookMetrics {
  request(kind: string, outcome: HookOutcome, seconds: number): void;
  cacheHit(kind: string): void;
}

export function registerHttpHookMetrics(registry: Registry): HttpHookMetrics {
  const registers = [registry];
  const requests = new Counter({ name: 'mqtt_auth_http_requests_total', help: 'Requests to the HTTP auth hook, by kind and outcome', labelNames: ['kind', 'outcome'], registers });
  const latency = new Histogram({ name: 'mqtt_auth_http_request_duration_seconds', help: 'HTTP auth hook requests, waiting for a free slot included', labelNames: ['kind'], buckets: BUCKETS, registers });
  const hits = new Counter({ name: 'mqtt_auth_http_cache_hits_total', help: 'HTTP auth hook verdicts reused from the cache, by kind', labelNames: ['kind'], registers });
  return {
    request(kind, outcome, seconds) {
      requests.labels(kind, outcome).inc();
      latency.labels(kind).observe(seconds);
    },
    cacheHit: (kind) => hits.labels(kind).inc(),
  };
}
