import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RetainedIndex } from '../src/index.js';
import { filterArb, topicArb } from './arbitraries.js';
import { oracleMatches } from './oracle.js';

function lookup<V>(index: RetainedIndex<V>, filter: string): string[] {
  const out: string[] = [];
  index.match(filter, (topic, value) => out.push(`${topic}=${String(value)}`));
  return out.sort();
}

describe('RetainedIndex', () => {
  it('sets, replaces, gets and deletes by exact topic', () => {
    const index = new RetainedIndex<string>();
    index.set('a/b', 'one');
    index.set('a/b', 'two');
    index.set('a', 'root');
    assert.equal(index.size, 2);
    assert.equal(index.get('a/b'), 'two');
    assert.equal(index.get('a/c'), undefined);
    assert.deepEqual([...index.entries()].sort(), [['a', 'root'], ['a/b', 'two']]);
    assert.equal(index.delete('a/b'), true);
    assert.equal(index.delete('a/b'), false);
    assert.equal(index.size, 1);
    assert.equal(index.delete('a'), true);
    assert.equal(index.nodeCount, 0);
  });

  it('finds retained messages by wildcard, "#" including the parent level', () => {
    const index = new RetainedIndex<number>();
    for (const [i, t] of ['sport', 'sport/tennis', 'sport/tennis/player1', 'sport/', '/finance', 'other'].entries()) {
      index.set(t, i);
    }
    assert.deepEqual(lookup(index, 'sport/#'), ['sport/=3', 'sport/tennis/player1=2', 'sport/tennis=1', 'sport=0']);
    assert.deepEqual(lookup(index, 'sport/+'), ['sport/=3', 'sport/tennis=1']);
    assert.deepEqual(lookup(index, '+'), ['other=5', 'sport=0']);
    assert.deepEqual(lookup(index, '+/+'), ['/finance=4', 'sport/=3', 'sport/tennis=1']);
    assert.deepEqual(lookup(index, 'sport/tennis/player1'), ['sport/tennis/player1=2']);
    assert.deepEqual(lookup(index, 'nothing/#'), []);
  });

  it('honours the $ rule [MQTT-4.7.2-1]', () => {
    const index = new RetainedIndex<number>();
    index.set('$SYS/broker/uptime', 1);
    index.set('normal/x', 2);
    assert.deepEqual(lookup(index, '#'), ['normal/x=2']);
    assert.deepEqual(lookup(index, '+/broker/uptime'), []);
    assert.deepEqual(lookup(index, '$SYS/#'), ['$SYS/broker/uptime=1']);
    assert.deepEqual(lookup(index, '$SYS/+/uptime'), ['$SYS/broker/uptime=1']);
  });

  it('agrees with a brute-force scan over random topics and filters', () => {
    fc.assert(
      fc.property(fc.array(topicArb, { maxLength: 40 }), fc.array(topicArb, { maxLength: 10 }), fc.array(filterArb, { minLength: 1, maxLength: 10 }), (set, del, filters) => {
        const index = new RetainedIndex<string>();
        const model = new Map<string, string>();
        for (const t of set) {
          index.set(t, `v:${t}`);
          model.set(t, `v:${t}`);
        }
        for (const t of del) assert.equal(index.delete(t), model.delete(t));
        assert.equal(index.size, model.size);
        for (const filter of filters) {
          const expected = [...model].filter(([t]) => oracleMatches(filter, t)).map(([t, v]) => `${t}=${v}`).sort();
          assert.deepEqual(lookup(index, filter), expected);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('frees every node when topics are deleted', () => {
    const index = new RetainedIndex<number>();
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 500; i++) index.set(`t/${round}/${i % 13}/${i}`, i);
      for (let i = 0; i < 500; i++) assert.equal(index.delete(`t/${round}/${i % 13}/${i}`), true);
      assert.equal(index.nodeCount, 0);
      assert.equal(index.size, 0);
    }
  });
});
