import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MqttProtocolError } from '@mqtt-broker/mqtt-codec';
import fc from 'fast-check';
import { RouteReplica, SplitMap, topicMatches } from '../src/index.js';
import { filterArb, topicArb } from './arbitraries.js';

function nodesFor(replica: RouteReplica, topic: string): string[] {
  const out: string[] = [];
  replica.match(topic, (nodeId) => out.push(nodeId));
  return out.sort();
}

/** The naive reference: every route checked with topicMatches. */
class Reference {
  readonly routes = new Map<string, Set<string>>(); // filter -> nodes
  add(filter: string, node: string): boolean {
    let s = this.routes.get(filter);
    if (s === undefined) this.routes.set(filter, (s = new Set()));
    const fresh = !s.has(node);
    s.add(node);
    return fresh;
  }
  remove(filter: string, node: string): boolean {
    const s = this.routes.get(filter);
    if (s === undefined || !s.delete(node)) return false;
    if (s.size === 0) this.routes.delete(filter);
    return true;
  }
  removeNode(node: string): number {
    let n = 0;
    for (const f of [...this.routes.keys()]) if (this.remove(f, node)) n++;
    return n;
  }
  nodesFor(topic: string): string[] {
    const out = new Set<string>();
    for (const [f, s] of this.routes) if (topicMatches(f, topic)) for (const n of s) out.add(n);
    return [...out].sort();
  }
  get size(): number {
    let n = 0;
    for (const s of this.routes.values()) n += s.size;
    return n;
  }
}

const nodeArb = fc.constantFrom('n0', 'n1', 'n2', 'n3', 'node-with-a-long-id');
/** Literal per-device style filters too, so the exact map and the trie both fill. */
const anyFilterArb = fc.oneof(filterArb, fc.constantFrom('$SYS/x', '$x/a', 'a', 'a/b', 'dev/1/cmd', '#', '+', '+/#', '$x/#', '$x/+'));
const anyTopicArb = fc.oneof(topicArb, fc.constantFrom('$SYS/x', '$x', '$x/a', 'a', 'a/', '/', 'dev/1/cmd'));

type Op =
  | { op: 'add'; filter: string; node: string }
  | { op: 'remove'; filter: string; node: string }
  | { op: 'removeNode'; node: string }
  | { op: 'resync'; keep: string }
  | { op: 'match'; topic: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('add' as const), filter: anyFilterArb, node: nodeArb }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('remove' as const), filter: anyFilterArb, node: nodeArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('removeNode' as const), node: nodeArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('resync' as const), keep: nodeArb }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('match' as const), topic: anyTopicArb }) },
);

describe('RouteReplica', () => {
  it('answers the node set of every matching route, each node once', () => {
    const r = new RouteReplica();
    assert.equal(r.add('dev/1/cmd', 'a'), true);
    assert.equal(r.add('dev/1/cmd', 'a'), false);
    assert.equal(r.add('dev/1/cmd', 'b'), true);
    assert.equal(r.add('dev/+/cmd', 'a'), true);
    assert.equal(r.add('dev/#', 'c'), true);
    assert.equal(r.add('#', 'd'), true);
    assert.equal(r.size, 5);
    assert.equal(r.filterCount, 4);
    assert.equal(r.nodeCount, 4);
    assert.deepEqual(nodesFor(r, 'dev/1/cmd'), ['a', 'b', 'c', 'd']);
    assert.deepEqual(nodesFor(r, 'dev/2/cmd'), ['a', 'c', 'd']);
    assert.deepEqual(nodesFor(r, 'dev'), ['c', 'd']); // "dev/#" matches its parent level [MQTT-4.7.1-1]
    assert.deepEqual(nodesFor(r, '$SYS/dev'), []); // [MQTT-4.7.2-1]
    assert.equal(r.has('dev/1/cmd', 'b'), true);
    assert.equal(r.has('dev/+/cmd', 'b'), false);
    assert.equal(r.remove('dev/1/cmd', 'b'), true);
    assert.equal(r.remove('dev/1/cmd', 'b'), false);
    assert.equal(r.remove('x', 'nobody'), false);
    assert.deepEqual(nodesFor(r, 'dev/1/cmd'), ['a', 'c', 'd']);
    assert.equal(r.removeNode('a'), 2);
    assert.deepEqual(nodesFor(r, 'dev/1/cmd'), ['c', 'd']);
    assert.equal(r.nodeCount, 2);
    assert.deepEqual([...r.routes()].map(([f, n]) => `${f}|${n}`).sort(), ['#|d', 'dev/#|c']);
    r.remove('#', 'd');
    r.remove('dev/#', 'c');
    assert.equal(r.size, 0);
    assert.equal(r.filterCount, 0);
    assert.equal(r.nodeCount, 0);
    assert.deepEqual(nodesFor(r, 'dev/1/cmd'), []);
  });

  it('rejects an invalid filter with 0x8F', () => {
    const r = new RouteReplica();
    for (const bad of ['a/#/b', 'a+', '', 'a/b#']) {
      assert.throws(
        () => r.add(bad, 'n'),
        (e: unknown) => e instanceof MqttProtocolError && e.reasonCode === 0x8f,
      );
    }
    assert.equal(r.size, 0);
    assert.equal(r.nodeCount, 0);
  });

  it('matches literal $-topics exactly and keeps wildcards off them', () => {
    const r = new RouteReplica();
    r.add('$SYS/broker/load', 'lit');
    r.add('$SYS/#', 'sys');
    r.add('#', 'all');
    r.add('+/broker/load', 'plus');
    assert.deepEqual(nodesFor(r, '$SYS/broker/load'), ['lit', 'sys']);
    assert.deepEqual(nodesFor(r, 'x/broker/load'), ['all', 'plus']);
  });

  for (const mapLimit of [undefined, 1, 3]) {
    it(`equals the naive reference over random add/remove/removeNode/resync sequences (mapLimit ${mapLimit ?? 'default'})`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
          let r = new RouteReplica({ mapLimit });
          const ref = new Reference();
          for (const o of ops) {
            if (o.op === 'add') assert.equal(r.add(o.filter, o.node), ref.add(o.filter, o.node));
            else if (o.op === 'remove') assert.equal(r.remove(o.filter, o.node), ref.remove(o.filter, o.node));
            else if (o.op === 'removeNode') assert.equal(r.removeNode(o.node), ref.removeNode(o.node));
            else if (o.op === 'resync') {
              // cluster-link's resync: a new replica from a snapshot (here: the routes of all but one node)
              const snapshot = [...r.routes()].filter(([, n]) => n !== o.keep);
              ref.removeNode(o.keep);
              r = new RouteReplica({ mapLimit });
              for (const [f, n] of snapshot) r.add(f, n);
            } else assert.deepEqual(nodesFor(r, o.topic), ref.nodesFor(o.topic), o.topic);
            assert.equal(r.size, ref.size);
            assert.equal(r.filterCount, ref.routes.size);
          }
          for (const [f, s] of ref.routes) for (const n of s) assert.equal(r.has(f, n), true);
          assert.deepEqual(
            [...r.routes()].map(([f, n]) => `${f}\u0000${n}`).sort(),
            [...ref.routes].flatMap(([f, s]) => [...s].map((n) => `${f}\u0000${n}`)).sort(),
          );
        }),
        { numRuns: 300 },
      );
    });
  }

  it('matches every topic against a fixed filter set like the reference (random topics incl. $ and empty levels)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(anyFilterArb, nodeArb), { maxLength: 60 }), fc.array(anyTopicArb, { maxLength: 30 }), (routes, topics) => {
        const r = new RouteReplica({ mapLimit: 2 });
        const ref = new Reference();
        for (const [f, n] of routes) {
          r.add(f, n);
          ref.add(f, n);
        }
        for (const t of topics) assert.deepEqual(nodesFor(r, t), ref.nodesFor(t), t);
      }),
      { numRuns: 300 },
    );
  });

  it('reuses a node index after the node lost its last route, without leaking the old id', () => {
    const r = new RouteReplica();
    r.add('a', 'old');
    r.remove('a', 'old');
    r.add('b', 'new');
    assert.deepEqual(nodesFor(r, 'a'), []);
    assert.deepEqual(nodesFor(r, 'b'), ['new']);
    assert.equal(r.has('b', 'old'), false);
  });

  it('holds 20x its per-Map limit of literal filters and literal trie children under one parent (the V8 Map limit, scaled down)', () => {
    const limit = 1_000;
    const n = 20 * limit;
    const r = new RouteReplica({ mapLimit: limit });
    for (let i = 0; i < n; i++) {
      r.add(`dev/${i}/cmd`, `node-${i % 7}`);
      r.add(`dev/${i}/+/set`, `node-${(i + 1) % 7}`);
    }
    assert.equal(r.size, 2 * n);
    for (let i = 0; i < n; i += 997) {
      assert.deepEqual(nodesFor(r, `dev/${i}/cmd`), [`node-${i % 7}`]);
      assert.deepEqual(nodesFor(r, `dev/${i}/x/set`), [`node-${(i + 1) % 7}`]);
    }
    assert.deepEqual(nodesFor(r, `dev/${n}/cmd`), []);
    for (let i = 0; i < n; i++) {
      assert.equal(r.remove(`dev/${i}/cmd`, `node-${i % 7}`), true);
      assert.equal(r.remove(`dev/${i}/+/set`, `node-${(i + 1) % 7}`), true);
    }
    assert.equal(r.size, 0);
    assert.equal(r.nodeCount, 0);
  });
});

describe('SplitMap', () => {
  it('never puts more than `limit` entries in one Map and behaves like a Map', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.constantFrom('set', 'delete', 'get'), fc.integer({ min: 0, max: 30 }), fc.integer()), { maxLength: 200 }),
        (limit, ops) => {
          const m = new SplitMap<number>(limit);
          const ref = new Map<string, number>();
          for (const [op, k, v] of ops) {
            const key = `k${k}`;
            if (op === 'set') {
              m.set(key, v);
              ref.set(key, v);
            } else if (op === 'delete') assert.equal(m.delete(key), ref.delete(key));
            else assert.equal(m.get(key), ref.get(key));
            assert.equal(m.size, ref.size);
            assert.ok(m.partSizes.every((n) => n <= limit));
            assert.equal(m.partSizes.reduce((a, b) => a + b, 0), ref.size);
          }
          assert.deepEqual([...m.entries()].sort(), [...ref.entries()].sort());
        },
      ),
      { numRuns: 300 },
    );
  });

  it('starts a new part at the limit', () => {
    const m = new SplitMap<number>(10);
    for (let i = 0; i < 95; i++) m.set(String(i), i);
    assert.equal(m.partCount, 10);
    assert.equal(m.size, 95);
    for (let i = 0; i < 95; i++) assert.equal(m.get(String(i)), i);
    assert.throws(() => new SplitMap(0), RangeError);
  });
});
