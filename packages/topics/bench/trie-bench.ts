/**
 * Match throughput of SubscriptionTrie with 10k and 100k filters, run with
 * `node packages/topics/dist/bench/trie-bench.js` after `tsc -b packages/topics`.
 *
 * The filter set imitates a fleet: 100 devices per site, 90% exact per-device filters, 8% per-device
 * 'site/S/device/D/+', 1.5% 'site/S/+/D/telemetry', 0.5% 'site/S/#'. Topics are device telemetry
 * topics of random devices, each matching about one filter. For
 * reference it also times a linear scan with topicMatches (10k only) and, when installed (it comes
 * with aedes), qlobber, the matcher Aedes uses.
 */
import { performance } from 'node:perf_hooks';
import { RetainedIndex, SubscriptionTrie, topicMatches } from '../src/index.js';

interface Qlobber {
  add(topic: string, value: unknown): void;
  match(topic: string): unknown[];
}
type QlobberCtor = new (options: { separator: string; wildcard_one: string; wildcard_some: string; match_empty_levels: boolean }) => Qlobber;

// mulberry32: a small deterministic PRNG (an LCG's low bits are too regular for `% n`).
let seed = 42;
function rand(n: number): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n | 0;
}

/** Devices are spread over sites, 100 per site; each filter is one subscriber's. */
function makeFilters(count: number): string[] {
  const sites = Math.max(1, Math.floor(count / 100));
  const filters: string[] = [];
  for (let i = 0; i < count; i++) {
    const device = rand(count);
    const site = device % sites;
    const r = rand(1000);
    if (r < 900) filters.push(`site/${site}/device/${device}/telemetry`);
    else if (r < 980) filters.push(`site/${site}/device/${device}/+`);
    else if (r < 995) filters.push(`site/${site}/+/${device}/telemetry`);
    else filters.push(`site/${site}/#`);
  }
  return filters;
}

function makeTopics(filterCount: number, count: number): string[] {
  const sites = Math.max(1, Math.floor(filterCount / 100));
  const topics: string[] = [];
  for (let i = 0; i < count; i++) {
    const device = rand(filterCount);
    topics.push(`site/${device % sites}/device/${device}/telemetry`);
  }
  return topics;
}

function time(label: string, ops: number, fn: () => number): void {
  fn(); // warm up
  const start = performance.now();
  const visits = fn();
  const ms = performance.now() - start;
  const rate = Math.round((ops / ms) * 1000);
  console.log(`${label.padEnd(44)} ${rate.toLocaleString('en-US').padStart(12)} matches/s  (${(visits / ops).toFixed(2)} hits/match)`);
}

async function loadQlobber(): Promise<QlobberCtor | undefined> {
  try {
    const name = 'qlobber';
    const mod = (await import(name)) as { Qlobber: QlobberCtor };
    return mod.Qlobber;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const Q = await loadQlobber();
  for (const count of [10_000, 100_000]) {
    const filters = makeFilters(count);
    const topics = makeTopics(count, 200_000);
    const trie = new SubscriptionTrie<number, number>();
    const t0 = performance.now();
    filters.forEach((f, i) => {
        trie.add(f, i, i);
      });
    const addMs = performance.now() - t0;
    console.log(`\n${count.toLocaleString('en-US')} filters (${trie.filterCount} distinct, ${trie.nodeCount} nodes), added in ${addMs.toFixed(0)} ms`);
    let hits = 0;
    const visit = (): void => {
      hits++;
    };
    time('SubscriptionTrie.match', topics.length, () => {
      hits = 0;
      for (const t of topics) trie.match(t, visit);
      return hits;
    });
    if (count <= 10_000) {
      const few = topics.slice(0, 2_000);
      time('linear scan with topicMatches', few.length, () => {
        let n = 0;
        for (const t of few) for (const f of filters) if (topicMatches(f, t)) n++;
        return n;
      });
    }
    if (Q !== undefined) {
      const q = new Q({ separator: '/', wildcard_one: '+', wildcard_some: '#', match_empty_levels: true });
      for (let i = 0; i < filters.length; i++) q.add(filters[i], i);
      time('qlobber (Aedes) match', topics.length, () => {
        let n = 0;
        for (const t of topics) n += q.match(t).length;
        return n;
      });
    }
  }

  const retained = new RetainedIndex<number>();
  for (let i = 0; i < 100_000; i++) retained.set(`site/${i % 100}/device/${i}/status`, i);
  const queries = ['site/7/device/+/status', 'site/+/device/4242/status', 'site/9/#'];
  for (const q of queries) {
    time(`RetainedIndex.match(${q}) over 100k`, 1_000, () => {
      let n = 0;
      for (let i = 0; i < 1_000; i++) retained.match(q, () => n++);
      return n;
    });
  }
}

await main();
