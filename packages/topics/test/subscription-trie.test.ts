import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MqttProtocolError } from '@mqtt-broker/mqtt-codec';
import fc from 'fast-check';
import { SubscriptionTrie } from '../src/index.js';
import { filterArb, topicArb } from './arbitraries.js';
import { oracleMatches } from './oracle.js';

function matches<K, V>(trie: SubscriptionTrie<K, V>, topic: string): string[] {
  const out: string[] = [];
  trie.match(topic, (value, key, filter) => out.push(`${filter}|${String(key)}|${String(value)}`));
  return out.sort();
}

describe('SubscriptionTrie', () => {
  it('adds, replaces, gets and removes (filter, key) entries', () => {
    const trie = new SubscriptionTrie<string, number>();
    assert.equal(trie.add('a/+', 'c1', 1), true);
    assert.equal(trie.add('a/+', 'c2', 2), true);
    assert.equal(trie.add('a/+', 'c1', 3), false); // replaced
    assert.equal(trie.add('a/#', 'c1', 4), true);
    assert.equal(trie.size, 3);
    assert.equal(trie.filterCount, 2);
    assert.equal(trie.get('a/+', 'c1'), 3);
    assert.equal(trie.get('a/+', 'c3'), undefined);
    assert.equal(trie.get('a/b', 'c1'), undefined);
    assert.equal(trie.hasFilter('a/+'), true);
    assert.equal(trie.hasFilter('a'), false);
    assert.deepEqual(matches(trie, 'a/x'), ['a/#|c1|4', 'a/+|c1|3', 'a/+|c2|2']);
    assert.deepEqual(matches(trie, 'a'), ['a/#|c1|4']);
    assert.equal(trie.remove('a/+', 'c1'), true);
    assert.equal(trie.remove('a/+', 'c1'), false);
    assert.equal(trie.remove('nope', 'c1'), false);
    assert.deepEqual(matches(trie, 'a/x'), ['a/#|c1|4', 'a/+|c2|2']);
    assert.equal(trie.size, 2);
    trie.remove('a/+', 'c2');
    trie.remove('a/#', 'c1');
    assert.equal(trie.size, 0);
    assert.equal(trie.filterCount, 0);
    assert.equal(trie.nodeCount, 0);
    assert.deepEqual(matches(trie, 'a/x'), []);
  });

  it('honours the $ rule [MQTT-4.7.2-1]', () => {
    const trie = new SubscriptionTrie<string, string>();
    trie.add('#', 'all', 'v');
    trie.add('+/monitor/Clients', 'plus', 'v');
    trie.add('$SYS/#', 'sys', 'v');
    trie.add('$SYS/monitor/+', 'sysplus', 'v');
    assert.deepEqual(
      matches(trie, '$SYS/monitor/Clients').map((m) => m.split('|')[1]),
      ['sys', 'sysplus'],
    );
    assert.deepEqual(
      matches(trie, 'x/monitor/Clients').map((m) => m.split('|')[1]),
      ['all', 'plus'],
    );
  });

  it('matches the spec examples: "#" matches the parent level, "+" matches empty levels', () => {
    const trie = new SubscriptionTrie<string, number>();
    trie.add('sport/#', 'k', 1);
    trie.add('sport/+', 'k', 2);
    trie.add('+/+', 'k', 3);
    trie.add('/+', 'k', 4);
    trie.add('+', 'k', 5);
    assert.deepEqual(matches(trie, 'sport'), ['+|k|5', 'sport/#|k|1']);
    assert.deepEqual(matches(trie, 'sport/'), ['+/+|k|3', 'sport/#|k|1', 'sport/+|k|2']);
    assert.deepEqual(matches(trie, '/finance'), ['+/+|k|3', '/+|k|4']);
  });

  it('rejects an invalid filter with 0x8F and leaves the trie unchanged', () => {
    const trie = new SubscriptionTrie<string, number>();
    for (const bad of ['', 'a/#/b', 'a+', 'sport/tennis#']) {
      assert.throws(
        () => trie.add(bad, 'k', 1),
        (err: unknown) => err instanceof MqttProtocolError && err.reasonCode === 0x8f,
      );
    }
    assert.equal(trie.size, 0);
    assert.equal(trie.nodeCount, 0);
  });

  it('allows a reentrant match from inside a visitor', () => {
    const trie = new SubscriptionTrie<string, number>();
    trie.add('a/+/c', 'k1', 1);
    trie.add('x/y/z/w', 'k2', 2);
    const seen: string[] = [];
    trie.match('a/b/c', (_v, key) => {
      seen.push(key);
      trie.match('x/y/z/w', (_v2, key2) => seen.push(key2));
    });
    assert.deepEqual(seen, ['k1', 'k2']);
    // the shared level buffer is not corrupted for the next call
    assert.deepEqual(matches(trie, 'a/q/c'), ['a/+/c|k1|1']);
  });

  it('lists filters and the entries of one filter', () => {
    const trie = new SubscriptionTrie<string, number>();
    trie.add('a/b', 'k1', 1);
    trie.add('a/b', 'k2', 2);
    trie.add('#', 'k1', 3);
    trie.add('a', 'k3', 3);
    assert.deepEqual([...trie.filters()].sort(), ['#', 'a', 'a/b']);
    assert.deepEqual([...trie.entriesOf('a/b')].sort(), [['k1', 1], ['k2', 2]]);
    assert.deepEqual([...trie.entriesOf('zzz')], []);
  });

  it('agrees with a brute-force topicMatches oracle over random filters and topics', () => {
    fc.assert(
      fc.property(fc.uniqueArray(filterArb, { maxLength: 40 }), fc.array(topicArb, { minLength: 1, maxLength: 10 }), (filters, topics) => {
        const trie = new SubscriptionTrie<number, string>();
        filters.forEach((f, i) => {
        trie.add(f, i, f);
      });
        for (const topic of topics) {
          const got: string[] = [];
          trie.match(topic, (value, key, filter) => {
            assert.equal(value, filter);
            assert.equal(filters[key], filter);
            got.push(filter);
          });
          const expected = filters.filter((f) => oracleMatches(f, topic));
          assert.deepEqual(got.sort(), expected.sort());
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('stays equal to a model under random add/remove sequences', () => {
    const op = fc.tuple(fc.boolean(), filterArb, fc.integer({ min: 0, max: 3 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), topicArb, (ops, topic) => {
        const trie = new SubscriptionTrie<number, number>();
        const model = new Map<string, number>(); // `${filter}\u0000${key}` -> value
        ops.forEach(([isAdd, filter, key], i) => {
          const id = `${filter}\u0000${key}`;
          if (isAdd) {
            assert.equal(trie.add(filter, key, i), !model.has(id));
            model.set(id, i);
          } else {
            assert.equal(trie.remove(filter, key), model.delete(id));
          }
        });
        assert.equal(trie.size, model.size);
        assert.equal(trie.filterCount, new Set([...model.keys()].map((id) => id.split('\u0000')[0])).size);
        const got: string[] = [];
        trie.match(topic, (value, key, filter) => got.push(`${filter}\u0000${key}=${value}`));
        const expected = [...model]
          .filter(([id]) => oracleMatches(id.split('\u0000')[0], topic))
          .map(([id, v]) => `${id}=${v}`);
        assert.deepEqual(got.sort(), expected.sort());
        for (const [id, v] of model) {
          const [filter, key] = id.split('\u0000');
          assert.equal(trie.get(filter, Number(key)), v);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('frees every node under add/remove churn (memory does not grow)', () => {
    const trie = new SubscriptionTrie<number, number>();
    trie.add('keep/this', 0, 0);
    const baseline = trie.nodeCount;
    for (let round = 0; round < 50; round++) {
      const filters: string[] = [];
      for (let i = 0; i < 200; i++) filters.push(`r/${round}/${i % 7}/+/${i}/#`, `${i}/x/${round}`, `+/${i}`);
      filters.forEach((f, i) => {
        trie.add(f, i, i);
      });
      assert.ok(trie.nodeCount > baseline);
      filters.forEach((f, i) => {
        assert.equal(trie.remove(f, i), true);
      });
      assert.equal(trie.nodeCount, baseline, `round ${round}`);
      assert.equal(trie.size, 1);
    }
    assert.deepEqual([...trie.filters()], ['keep/this']);
  });
});
