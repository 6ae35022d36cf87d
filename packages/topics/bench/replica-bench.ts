/**
 * Route replica before/after: heap bytes per route and match throughput of the replica a peer
 * node keeps of every node's routes, with 100k and 1M routes (`--sizes` to change), comparing
 * SubscriptionTrie<string, true> keyed by node id (the replica up to 2026-11) with RouteReplica.
 *
 *   npx tsc -b packages/topics && node --expose-gc packages/topics/dist/bench/replica-bench.js [--sizes 100000,1000000]
 *
 * Routes imitate docs/capacity.md's measurement: one filter per device, 80% `dev/<id>/cmd`, 20%
 * `dev/<id>/+/set`, each on one of 10 nodes. Topics are decoded from Buffers on every match (a
 * broker decodes a fresh topic string per PUBLISH, so V8's cached string hash never helps):
 * `dev/<id>/cmd` (hits the literal part), `dev/<id>/x/set` (hits a wildcard filter) and
 * `dev/<id>/telemetry` (matches nothing). Filter strings are built inside the add loop, so the
 * structure owns them as a replica fed from Redis does. Heap is read after forced GCs.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { RouteReplica, SubscriptionTrie } from '../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;

// mulberry32
let seed = 7;
function rand(n: number): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n) | 0;
}

const NODES = Array.from({ length: 10 }, (_, i) => `node-${i}`);
const device = (i: number): string => `dev-${(i * 2654435761) >>> 0}`;
const filterOf = (i: number): string => (i % 5 === 4 ? `dev/${device(i)}/+/set` : `dev/${device(i)}/cmd`);

interface Replica {
  add(filter: string, nodeId: string): void;
  match(topic: string, visit: (nodeId: string) => void): void;
}

function oldReplica(): Replica {
  const trie = new SubscriptionTrie<string, true>();
  return {
    add: (f, n) => trie.add(f, n, true),
    match: (t, visit) => trie.match(t, (_v, n) => visit(n)),
  };
}

function newReplica(): Replica {
  return new RouteReplica();
}

function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

function build(make: () => Replica, count: number): { replica: Replica; bytesPerRoute: number; addMs: number } {
  const before = heapUsed();
  const t0 = performance.now();
  const replica = make();
  for (let i = 0; i < count; i++) replica.add(filterOf(i), NODES[i % NODES.length]);
  const addMs = performance.now() - t0;
  return { replica, bytesPerRoute: (heapUsed() - before) / count, addMs };
}

function topicBuffers(count: number, kind: 'literal' | 'wildcard' | 'miss', n: number): Buffer[] {
  const out: Buffer[] = [];
  while (out.length < n) {
    const i = rand(count);
    if (kind === 'literal' && i % 5 !== 4) out.push(Buffer.from(`dev/${device(i)}/cmd`));
    else if (kind === 'wildcard' && i % 5 === 4) out.push(Buffer.from(`dev/${device(i)}/x/set`));
    else if (kind === 'miss') out.push(Buffer.from(`dev/${device(i)}/telemetry`));
  }
  return out;
}

/** Matches/s of each replica over `topics`, best of 5 rounds, rounds alternating between replicas (shared-CPU noise hits both). */
function throughput(replicas: Replica[], topics: Buffer[]): Array<{ perS: number; hits: number }> {
  let hits = 0;
  const visit = (): void => {
    hits++;
  };
  const run = (replica: Replica): number => {
    hits = 0;
    const t0 = performance.now();
    for (const b of topics) replica.match(b.toString('utf8'), visit);
    return performance.now() - t0;
  };
  for (const r of replicas) run(r); // warm up
  const best = replicas.map(() => Number.POSITIVE_INFINITY);
  const found = replicas.map(() => 0);
  for (let round = 0; round < 5; round++) {
    replicas.forEach((r, i) => {
      best[i] = Math.min(best[i], run(r));
      found[i] = hits / topics.length;
    });
  }
  return replicas.map((_, i) => ({ perS: (topics.length / best[i]) * 1000, hits: found[i] }));
}

function decodeOnly(topics: Buffer[]): number {
  let n = 0;
  const t0 = performance.now();
  for (const b of topics) n += b.toString('utf8').length;
  const ms = performance.now() - t0;
  return n > 0 ? (topics.length / ms) * 1000 : 0;
}

function main(): void {
  const { values } = parseArgs({ options: { sizes: { type: 'string' } } });
  const sizes = (values.sizes ?? '100000,1000000').split(',').map(Number);
  if (gc === undefined) console.log('(run with --expose-gc for heap figures)');
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
  for (const count of sizes) {
    console.log(`\n${fmt(count)} routes (80% dev/<id>/cmd, 20% dev/<id>/+/set, 10 nodes)`);
    const sets = {
      literal: topicBuffers(count, 'literal', 200_000),
      wildcard: topicBuffers(count, 'wildcard', 200_000),
      miss: topicBuffers(count, 'miss', 200_000),
    };
    console.log(`  decoding the topic alone: ${fmt(decodeOnly(sets.literal))} topics/s`);
    const names = ['SubscriptionTrie (before)', 'RouteReplica (after)'];
    const built = [build(oldReplica, count), build(newReplica, count)];
    const lines = built.map((b, i) => [`${names[i].padEnd(26)} heap ${fmt(b.bytesPerRoute)} B/route, add ${fmt(b.addMs)} ms`]);
    for (const [kind, topics] of Object.entries(sets)) {
      const results = throughput(
        built.map((b) => b.replica),
        topics,
      );
      for (let i = 0; i < results.length; i++) lines[i].push(`${kind} ${fmt(results[i].perS)}/s (${results[i].hits.toFixed(2)} hits)`);
    }
    for (const l of lines) console.log(`  ${l.join(', ')}`);
  }
}

main();
