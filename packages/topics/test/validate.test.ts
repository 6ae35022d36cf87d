import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MqttProtocolError } from '@mqtt-broker/mqtt-codec';
import fc from 'fast-check';
import { countLevels, isValidTopicFilter, isValidTopicName, parseSharedFilter, topicMatches } from '../src/index.js';
import { filterArb, topicArb } from './arbitraries.js';
import { oracleMatches } from './oracle.js';

describe('isValidTopicFilter (spec 4.7.1 examples)', () => {
  const table: [string, boolean][] = [
    ['sport/tennis/player1/#', true],
    ['sport/#', true],
    ['#', true],
    ['sport/tennis/#', true],
    ['sport/tennis#', false],
    ['sport/tennis/#/ranking', false],
    ['+', true],
    ['+/tennis/#', true],
    ['sport+', false],
    ['sport/+/player1', true],
    ['/+', true],
    ['+/+', true],
    ['/', true],
    ['//', true],
    ['+/', true],
    ['a/+b', false],
    ['a/b+/c', false],
    ['##', false],
    ['#/', false],
    ['+#', false],
    ['', false],
    ['a\u0000b', false],
    ['$SYS/#', true],
    ['a/\ud800', false],
    ['a/\udc00x', false],
    ['a/\ud83d\ude00', true],
  ];
  for (const [filter, valid] of table) {
    it(`${JSON.stringify(filter)} is ${valid ? 'valid' : 'invalid'}`, () => {
      assert.equal(isValidTopicFilter(filter), valid);
    });
  }
  it('limits the UTF-8 length to 65535 bytes [MQTT-4.7.3-3]', () => {
    assert.equal(isValidTopicFilter('a'.repeat(65535)), true);
    assert.equal(isValidTopicFilter('a'.repeat(65536)), false);
    assert.equal(isValidTopicFilter('é'.repeat(32767)), true); // 65534 bytes
    assert.equal(isValidTopicFilter('é'.repeat(32768)), false); // 65536 bytes
  });
});

describe('isValidTopicName', () => {
  const table: [string, boolean][] = [
    ['sport/tennis/player1', true],
    ['/', true],
    ['/finance', true],
    ['ACCOUNTS', true],
    ['with space', true],
    ['$SYS/broker', true],
    ['', false], // [MQTT-4.7.3-1]
    ['a/+', false],
    ['a/#', false],
    ['+', false],
    ['a+b', false],
    ['a\u0000', false], // [MQTT-4.7.3-2]
    ['\udc00', false],
    ['\ud800', false],
  ];
  for (const [topic, valid] of table) {
    it(`${JSON.stringify(topic)} is ${valid ? 'valid' : 'invalid'}`, () => {
      assert.equal(isValidTopicName(topic), valid);
    });
  }
  it('limits the UTF-8 length to 65535 bytes [MQTT-4.7.3-3]', () => {
    assert.equal(isValidTopicName('€'.repeat(21845)), true); // 65535 bytes
    assert.equal(isValidTopicName(`${'€'.repeat(21845)}a`), false);
  });
});

describe('countLevels', () => {
  it('counts separators plus one', () => {
    assert.equal(countLevels('a'), 1);
    assert.equal(countLevels('/'), 2);
    assert.equal(countLevels('a//b'), 3);
    assert.equal(countLevels('sport/tennis/player1/#'), 4);
  });
});

describe('topicMatches (spec 4.7 examples)', () => {
  const table: [string, string, boolean][] = [
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/#', 'sport', true],
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player2', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['#', 'anything/at/all', true],
    ['#', '/', true],
    ['ACCOUNTS', 'Accounts', false],
    ['a/b', 'a/b/', false],
    ['a/b/', 'a/b', false],
    ['a//b', 'a//b', true],
    ['a/+/b', 'a//b', true],
    // [MQTT-4.7.2-1] the '$' rule
    ['#', '$SYS/monitor/Clients', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['$SYS/#', '$SYS/monitor/Clients', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
    ['$SYS', '$SYS', true],
    ['+', '$SYS', false],
    ['a/#', 'a/$b', true],
    ['a/+', 'a/$b', true],
  ];
  for (const [filter, topic, expected] of table) {
    it(`${filter} ${expected ? 'matches' : 'does not match'} ${topic}`, () => {
      assert.equal(topicMatches(filter, topic), expected);
    });
  }
  it('agrees with the brute-force oracle on random filters and topics', () => {
    fc.assert(
      fc.property(filterArb, topicArb, (filter, topic) => {
        assert.equal(topicMatches(filter, topic), oracleMatches(filter, topic));
      }),
      { numRuns: 20000 },
    );
  });
});

describe('parseSharedFilter (spec 4.8.2)', () => {
  it('returns undefined for a filter that is not shared', () => {
    assert.equal(parseSharedFilter('a/b'), undefined);
    assert.equal(parseSharedFilter('$share'), undefined);
    assert.equal(parseSharedFilter('$SYS/#'), undefined);
    assert.equal(parseSharedFilter('$sharex/g/a'), undefined);
  });
  it('splits group and filter', () => {
    assert.deepEqual(parseSharedFilter('$share/consumer1/sport/tennis/+'), { group: 'consumer1', filter: 'sport/tennis/+' });
    assert.deepEqual(parseSharedFilter('$share/g/#'), { group: 'g', filter: '#' });
    assert.deepEqual(parseSharedFilter('$share/g//'), { group: 'g', filter: '/' });
    assert.deepEqual(parseSharedFilter('$share/g/$SYS/x'), { group: 'g', filter: '$SYS/x' });
  });
  const malformed = ['$share/', '$share//a', '$share/g', '$share/g/', '$share/g+/a', '$share/#/a', '$share/+/a', '$share/g/a/#/b', '$share/g/a+'];
  for (const filter of malformed) {
    it(`rejects ${JSON.stringify(filter)} with 0x8F`, () => {
      assert.throws(
        () => parseSharedFilter(filter),
        (err: unknown) => err instanceof MqttProtocolError && err.reasonCode === 0x8f,
      );
    });
  }
});
