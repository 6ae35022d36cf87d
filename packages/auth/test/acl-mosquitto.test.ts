/**
 * Differential test: the same acl_file loaded by the real mosquitto (2.0) and by our Acl. For a set
 * of client identities and topics we observe what mosquitto lets through, for writes (a watcher with
 * `readwrite #` sees which publishes arrive) and for reads (each identity subscribes to '#' and we
 * see which of the admin's publishes it receives), and compare with canPublish / canRead.
 * Publishes are QoS 1 and every stream ends with a sentinel message, so no fixed sleeps.
 * Not compared: identities containing '/' (deliberately stricter here, see acl.ts) and SUBACKs
 * (mosquitto grants every subscription, see authorizer.ts).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Acl, createAclAuthorizer } from '../src/index.js';
import { mosquittoPub, type RunningMosquitto, startMosquitto, tempDir } from './helpers.js';

const ACL = `topic read public/#
topic readwrite anon/+/in

user alice
topic readwrite alice/#
topic deny alice/secret/#
topic read shared/docs/#
topic write shared/drop

user bob
topic readwrite bob/#
topic deny bob/private

user carol
topic read #

user admin
topic readwrite #

pattern readwrite dev/%c/#
pattern read users/%u/inbox
pattern deny dev/%c/locked
pattern read sentinel/%c
`;

interface Who {
  clientId: string;
  username: string | undefined;
}
const identities: Who[] = [
  { clientId: 'anon1', username: undefined },
  { clientId: 'alice1', username: 'alice' },
  { clientId: 'bob1', username: 'bob' },
  { clientId: 'carol1', username: 'carol' },
  { clientId: 'dave1', username: 'dave' },
  { clientId: 'x+y', username: 'dave' },
  { clientId: 'e1', username: 'e#' },
];
const topics = [
  'public/news',
  'anon/x/in',
  'alice/notes',
  'alice/secret/diary',
  'shared/docs/a',
  'shared/drop',
  'bob/x',
  'bob/private',
  'dev/dave1/temp',
  'dev/dave1/locked',
  'dev/anon1/t',
  'dev/xy/t',
  'users/dave/inbox',
  'users/alice/inbox',
  'elsewhere',
];

function authArgs(who: Who): string[] {
  return ['-i', who.clientId, ...(who.username === undefined ? [] : ['-u', who.username])];
}

/** mosquitto_sub on '#', printing "topic payload" lines; resolves `ready` on SUBACK. */
function subscriber(port: number, who: Who): { ready: Promise<void>; until: (sentinel: string) => Promise<string[]>; child: ChildProcess } {
  // stdbuf: mosquitto_sub block-buffers stdout when it is a pipe
  const child = spawn('stdbuf', ['-oL', 'mosquitto_sub', '-h', '127.0.0.1', '-p', String(port), ...authArgs(who), '-t', '#', '-q', '1', '-v', '-d', '-W', '20'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let buffer = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl = buffer.indexOf('\n');
    while (nl !== -1) {
      lines.push(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf('\n');
    }
    for (const w of waiters.splice(0)) w();
  });
  const waitFor = (pred: () => boolean, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout waiting for ${what}; got ${lines.join(' | ')}`)), 10_000);
      const check = (): void => {
        if (pred()) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  return {
    child,
    ready: waitFor(() => lines.some((l) => l.includes('received SUBACK')), 'SUBACK'),
    async until(sentinel: string) {
      await waitFor(() => lines.some((l) => l.startsWith(`${sentinel} `)), sentinel);
      child.kill();
      return lines.filter((l) => !l.startsWith('Client ') && !l.startsWith('Subscribed') && !l.startsWith('sentinel/')).map((l) => l.split(' ')[0]);
    },
  };
}

const children: ChildProcess[] = [];
let broker: RunningMosquitto;
let cleanup: () => Promise<void>;
const auth = createAclAuthorizer(Acl.parse(ACL));
const admin: Who = { clientId: 'admin1', username: 'admin' };
const adminPublisher: Who = { clientId: 'admin-pub', username: 'admin' };

before(async () => {
  const tmp = await tempDir();
  cleanup = tmp.cleanup;
  const aclFile = join(tmp.dir, 'acl');
  await writeFile(aclFile, ACL);
  broker = await startMosquitto(tmp.dir, ['allow_anonymous true', `acl_file ${aclFile}`]);
});
after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill();
  await broker?.stop();
  await cleanup?.();
});

describe('ACL decisions agree with the real mosquitto', { timeout: 60_000 }, () => {
  it('publish (write) outcomes', async () => {
    const watcher = subscriber(broker.port, admin);
    await watcher.ready;
    const expected: string[] = [];
    for (const who of identities) {
      for (const topic of topics) {
        const r = await mosquittoPub(broker.port, [...authArgs(who), '-q', '1', '-t', topic, '-m', `${who.clientId}`]);
        assert.equal(r.code, 0, r.output);
        if (auth.canPublish!(who, topic)) expected.push(`${topic} ${who.clientId}`);
      }
    }
    await mosquittoPub(broker.port, [...authArgs(adminPublisher), '-q', '1', '-t', `sentinel/${admin.clientId}`, '-m', 'end']);
    const got = await watcher.until(`sentinel/${admin.clientId}`);
    assert.ok(expected.length >= 5 && expected.length < identities.length * topics.length, 'a mix of allowed and denied');
    assert.deepEqual(got.length, expected.length, `got ${got.length} messages, expected ${expected.length}`);
    assert.deepEqual(got.sort(), expected.map((e) => e.split(' ')[0]).sort());
  });

  it('delivery (read) outcomes', async () => {
    const readers = identities.filter((w) => !w.clientId.includes('+') && !(w.username ?? '').includes('#'));
    const subs = readers.map((who) => ({ who, sub: subscriber(broker.port, who) }));
    await Promise.all(subs.map((s) => s.sub.ready));
    for (const topic of topics) {
      const r = await mosquittoPub(broker.port, [...authArgs(adminPublisher), '-q', '1', '-t', topic, '-m', 'x']);
      assert.equal(r.code, 0, r.output);
    }
    for (const { who } of subs) {
      await mosquittoPub(broker.port, [...authArgs(adminPublisher), '-q', '1', '-t', `sentinel/${who.clientId}`, '-m', 'end']);
    }
    for (const { who, sub } of subs) {
      const got = await sub.until(`sentinel/${who.clientId}`);
      const expected = topics.filter((t) => auth.canRead!(who, t));
      assert.deepEqual(got.sort(), expected.sort(), `${who.clientId}/${who.username}`);
    }
  });
});
