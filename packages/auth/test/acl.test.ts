import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Acl, AclParseError, covers, createAclAuthorizer, meet } from '../src/index.js';
import { topicMatches } from '@mqtt-broker/topics';

const ACL = `
# anonymous clients
topic read public/#
topic readwrite anon/+/in

user alice
topic readwrite alice/#
topic deny alice/secret/#
topic read  shared/docs/#
topic write shared/drop

user bob
topic bob/#
topic read $SYS/#
topic deny #

user carol
topic read #

pattern readwrite dev/%c/#
pattern read users/%u/inbox
pattern write users/%u/outbox/%c
pattern deny dev/%c/locked
`;

const acl = Acl.parse(ACL);
const auth = createAclAuthorizer(acl);
const anon = { clientId: 'anon1', username: undefined };
const alice = { clientId: 'alice-phone', username: 'alice' };
const bob = { clientId: 'bob1', username: 'bob' };
const carol = { clientId: 'carol1', username: 'carol' };
const dave = { clientId: 'dave1', username: 'dave' }; // no section: patterns only

describe('Acl semantics (mosquitto acl_file)', () => {
  const table: [string, { clientId: string; username: string | undefined }, 'read' | 'write', string, boolean][] = [
    ['anonymous section applies to clients without user name', anon, 'read', 'public/news', true],
    ['anonymous read-only rule does not grant write', anon, 'write', 'public/news', false],
    ['anonymous readwrite with +', anon, 'write', 'anon/x/in', true],
    ['anonymous section does not apply to named users', dave, 'read', 'public/news', false],
    ['user readwrite', alice, 'write', 'alice/notes', true],
    ['user readwrite covers the parent level', alice, 'read', 'alice', true],
    ['deny wins over an earlier grant', alice, 'read', 'alice/secret/diary', false],
    ['deny covers the parent level too', alice, 'write', 'alice/secret', false],
    ['read-only rule', alice, 'write', 'shared/docs/a', false],
    ['read-only rule grants read', alice, 'read', 'shared/docs/a', true],
    ['write-only rule', alice, 'read', 'shared/drop', false],
    ['write-only rule grants write', alice, 'write', 'shared/drop', true],
    ['other users rules do not apply', alice, 'read', 'bob/x', false],
    ['deny # denies everything for bob, even his own readwrite', bob, 'write', 'bob/x', false],
    ['a deny # does not cover $SYS', bob, 'read', '$SYS/broker/uptime', true],
    ['read # does not grant $SYS', carol, 'read', '$SYS/broker/uptime', false],
    ['read # grants everything else', carol, 'read', 'a/b/c', true],
    ['pattern %c', dave, 'write', 'dev/dave1/temp', true],
    ['pattern %c for another client', dave, 'write', 'dev/other/temp', false],
    ['pattern %u', dave, 'read', 'users/dave/inbox', true],
    ['pattern %u and %c together', dave, 'write', 'users/dave/outbox/dave1', true],
    ['pattern %u does not apply without a user name', anon, 'read', 'users//inbox', false],
    ['pattern %c applies to anonymous clients', anon, 'write', 'dev/anon1/x', true],
    ['pattern deny', dave, 'write', 'dev/dave1/locked', false],
    ['user grants are checked before pattern denies', alice, 'write', 'alice/x', true],
    ['user denies are checked before pattern grants', alice, 'write', 'alice/secret', false],
    ['patterns apply after the user section', alice, 'write', 'dev/alice-phone/t', true],
    ['client id with + gets no pattern access', { clientId: 'x+y', username: 'dave' }, 'write', 'dev/x+y/t', false],
    ['user name with # gets no pattern access', { clientId: 'c', username: 'd#' }, 'write', 'dev/c/t', false],
    ['client id with / does not match %c patterns', { clientId: 'dave1/sub', username: 'dave' }, 'write', 'dev/dave1/sub/t', false],
    ['user name with / does not match %u patterns', { clientId: 'c', username: 'dave/x' }, 'read', 'users/dave/x/inbox', false],
    ['nothing matches: denied', dave, 'read', 'elsewhere', false],
  ];
  for (const [name, client, access, topic, expected] of table) {
    it(`${name}: ${access} ${topic} -> ${expected ? 'allowed' : 'denied'}`, () => {
      const got = access === 'read' ? auth.canRead!(client, topic) : auth.canPublish!(client, topic);
      assert.equal(got, expected);
    });
  }

  it('never lets clients publish to $SYS or $share topics', () => {
    const all = createAclAuthorizer(Acl.parse('topic readwrite #\ntopic readwrite $SYS/#\ntopic readwrite $share/#\n'));
    assert.equal(all.canPublish!(anon, '$SYS/x'), false);
    assert.equal(all.canPublish!(anon, '$share/g/x'), false);
    assert.equal(all.canRead!(anon, '$SYS/x'), true);
    assert.equal(all.canPublish!(anon, 'x'), true);
  });

  it('an empty file denies everything', () => {
    const none = createAclAuthorizer(Acl.parse('# nothing\n'));
    assert.equal(none.canPublish!(alice, 'a'), false);
    assert.equal(none.canRead!(alice, 'a'), false);
    assert.equal(none.canSubscribe!(alice, '#'), false);
  });
});

describe('canSubscribe: granted when some topic matching the filter could be read', () => {
  const table: [string, { clientId: string; username: string | undefined }, string, boolean][] = [
    ['exact read rule', anon, 'public/news', true],
    ['wider filter than the rule', anon, 'public/#', true],
    ['filter wider than any rule still intersects', anon, '#', true],
    ['+ intersects', anon, '+/news', true],
    ['nothing readable', anon, 'private/#', false],
    ['write-only rule does not make a filter readable', alice, 'shared/drop', false],
    ['fully denied filter', alice, 'alice/secret/#', false],
    ['partly denied filter', alice, 'alice/#', true],
    ['bob: deny # covers every non-$ filter', bob, 'bob/#', false],
    ['bob: $SYS readable', bob, '$SYS/#', true],
    ['carol: # does not reach $SYS', carol, '$SYS/#', false],
    ['carol: # grants +', carol, '+/x', true],
    ['pattern %u', dave, 'users/+/inbox', true],
    ['pattern %u for another user is not readable', dave, 'users/erin/inbox', false],
    ['pattern %c readable', dave, 'dev/dave1/#', true],
    ['pattern deny covers the filter', dave, 'dev/dave1/locked', false],
    ['shared subscription: the inner filter is checked', anon, '$share/g/public/#', true],
    ['shared subscription, unreadable inner filter', anon, '$share/g/private/x', false],
    ['malformed shared subscription', anon, '$share//public/#', false],
  ];
  for (const [name, client, filter, expected] of table) {
    it(`${name}: ${filter} -> ${expected}`, () => {
      assert.equal(auth.canSubscribe!(client, filter), expected);
    });
  }
});

describe('acl_file parsing', () => {
  it('rejects what mosquitto rejects', () => {
    for (const bad of ['topic', 'topic sometimes a/b', 'user', 'pattern read a/#/b', 'frobnicate x', ' # indented comment', 'topic read a+']) {
      assert.throws(() => Acl.parse(`${bad}\n`), AclParseError, bad);
    }
  });
  it('accepts a single-word topic line, extra spaces and CRLF', () => {
    const parsed = createAclAuthorizer(Acl.parse('topic read\r\ntopic  write   a b  \r\n\r\nuser   x y\r\ntopic z\r\n'));
    assert.equal(parsed.canPublish!(anon, 'read'), true, '"topic read" is the topic "read", readwrite');
    assert.equal(parsed.canPublish!(anon, 'a b'), true);
    assert.equal(parsed.canRead!({ clientId: 'c', username: 'x y' }, 'z'), true);
  });
});

describe('filter algebra (meet, covers) against brute force', () => {
  const level = fc.constantFrom('a', 'b', '$s', '');
  const topicArb = fc
    .array(level, { minLength: 1, maxLength: 4 })
    .map((l) => l.join('/'))
    .filter((t) => t.length > 0);
  const filterArb = fc
    .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 4 }), fc.boolean())
    .map(([l, hash]) => (hash ? [...l.slice(0, -1), '#'] : l).join('/'))
    .filter((f) => f.length > 0);
  const topics: string[] = [];
  for (const a of ['a', 'b', '$s', '']) {
    topics.push(a);
    for (const b of ['a', 'b', '']) {
      topics.push(`${a}/${b}`);
      for (const c of ['a', '']) {
        topics.push(`${a}/${b}/${c}`);
        topics.push(`${a}/${b}/${c}/a`, `${a}/${b}/${c}/a/b`);
      }
    }
  }
  it('meet(a, b) matches exactly the topics both match', () => {
    fc.assert(
      fc.property(filterArb, filterArb, topicArb, (a, b, t) => {
        const m = meet(a, b);
        const both = topicMatches(a, t) && topicMatches(b, t);
        if (m === undefined) assert.equal(both, false);
        else assert.equal(topicMatches(m, t), both, `meet(${a}, ${b}) = ${m} on ${t}`);
      }),
      { numRuns: 20000 },
    );
  });
  it('meet is undefined only when no topic matches both', () => {
    fc.assert(
      fc.property(filterArb, filterArb, (a, b) => {
        if (meet(a, b) !== undefined) return;
        assert.ok(!topics.some((t) => topicMatches(a, t) && topicMatches(b, t)), `${a} ${b}`);
      }),
      { numRuns: 5000 },
    );
  });
  it('covers(o, i) implies every topic of i is a topic of o, and is exact on the sample', () => {
    fc.assert(
      fc.property(filterArb, filterArb, (o, i) => {
        const inner = topics.filter((t) => topicMatches(i, t));
        const bruteForce = inner.every((t) => topicMatches(o, t));
        if (covers(o, i)) assert.ok(bruteForce, `covers(${o}, ${i})`);
      }),
      { numRuns: 20000 },
    );
  });
});
