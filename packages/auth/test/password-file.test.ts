import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deletePasswordEntry, loadPasswordFile, PasswordFile, parsePasswordHash, writePasswordEntry } from '../src/index.js';
import { exec, mosquittoPub, startMosquitto, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
before(async () => {
  ({ dir, cleanup } = await tempDir());
});
after(async () => {
  await cleanup();
});

describe('password files written by the real mosquitto_passwd', () => {
  it('accepts the right password and rejects a wrong one ($7$, PBKDF2-SHA512)', async () => {
    const file = join(dir, 'pbkdf2.txt');
    await exec('mosquitto_passwd', ['-c', '-b', file, 'alice', 's3cret']);
    await exec('mosquitto_passwd', ['-b', file, 'bob', 'pässwörd with spaces']);
    const text = await readFile(file, 'utf8');
    assert.match(text, /^alice:\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/m);
    const pw = await loadPasswordFile(file);
    assert.equal(pw.size, 2);
    assert.equal(await pw.verify('alice', 's3cret'), true);
    assert.equal(await pw.verify('alice', Buffer.from('s3cret')), true);
    assert.equal(await pw.verify('alice', 's3cret!'), false);
    assert.equal(await pw.verify('alice', ''), false);
    assert.equal(await pw.verify('bob', 'pässwörd with spaces'), true);
    assert.equal(await pw.verify('bob', 's3cret'), false);
    assert.equal(await pw.verify('carol', 's3cret'), false);
  });

  it('accepts $6$ (salted SHA-512) lines from mosquitto_passwd -H sha512', async () => {
    const file = join(dir, 'sha512.txt');
    await exec('mosquitto_passwd', ['-H', 'sha512', '-c', '-b', file, 'old', 'legacy']);
    assert.match(await readFile(file, 'utf8'), /^old:\$6\$/);
    const pw = await loadPasswordFile(file);
    assert.equal(await pw.verify('old', 'legacy'), true);
    assert.equal(await pw.verify('old', 'Legacy'), false);
  });

  it('verifies a hand-made $6$ line: SHA-512(password || salt)', async () => {
    const salt = randomBytes(12);
    const hash = createHash('sha512').update('pw').update(salt).digest();
    const pw = PasswordFile.parse(`u:$6$${salt.toString('base64')}$${hash.toString('base64')}\n`);
    assert.equal(await pw.verify('u', 'pw'), true);
  });

  it('parses like mosquitto: comments, blank and malformed lines, trimming', () => {
    const good = '$7$101$FnGPSb0mvN1DlD47$Ia0BKFjaqCUOfoEUaxsQAoILs37fgLt+GajWCFwJlncI1q8/+9OzG4ualg42pOzAcvdD0JwZ4qEJhZ1WiXRkgQ==';
    const pw = PasswordFile.parse(
      ['# comment', '', 'no colon here', `alice:${good}`, ` spaced : ${good} \r`, 'short:$7$101$AAAA$BBBB', 'plain:text', 'nohash:'].join('\n'),
    );
    assert.deepEqual([...pw.users()].sort(), ['alice', 'spaced']);
    assert.deepEqual(pw.invalidLines, [6, 7]);
    assert.equal(parsePasswordHash('$7$0$FnGPSb0mvN1DlD47$Ia0BKFjaqCUOfoEUaxsQAoILs37fgLt+GajWCFwJlncI1q8/+9OzG4ualg42pOzAcvdD0JwZ4qEJhZ1WiXRkgQ=='), undefined);
  });

  it('caches successful verifications, bounded, and shares concurrent runs', async () => {
    const file = join(dir, 'cache.txt');
    await exec('mosquitto_passwd', ['-c', '-b', file, 'u1', 'p1']);
    await exec('mosquitto_passwd', ['-b', file, 'u2', 'p2']);
    await exec('mosquitto_passwd', ['-b', file, 'u3', 'p3']);
    const pw = await loadPasswordFile(file, { cacheSize: 2 });
    const results = await Promise.all(Array.from({ length: 50 }, () => pw.verify('u1', 'p1')));
    assert.ok(results.every((r) => r));
    assert.equal(pw.cachedVerifications, 1);
    assert.equal(await pw.verify('u1', 'wrong'), false);
    assert.equal(pw.cachedVerifications, 1, 'failures are not cached');
    await pw.verify('u2', 'p2');
    await pw.verify('u3', 'p3');
    assert.equal(pw.cachedVerifications, 2, 'bounded');
    // a cached entry is per password: a different password for a cached user still fails
    assert.equal(await pw.verify('u3', 'p1'), false);
    const reloaded = await loadPasswordFile(file);
    assert.equal(reloaded.cachedVerifications, 0, 'a reload starts with an empty cache');

    // the cache is what makes a reconnect storm cheap
    const storm = await loadPasswordFile(file);
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) assert.equal(await storm.verify('u1', 'p1'), true);
    const cachedMs = performance.now() - t0;
    const uncached = await loadPasswordFile(file, { cacheSize: 0 });
    const t1 = performance.now();
    for (let i = 0; i < 200; i++) assert.equal(await uncached.verify('u1', 'p1'), true);
    const uncachedMs = performance.now() - t1;
    assert.ok(cachedMs < uncachedMs, `cached ${cachedMs.toFixed(1)} ms vs uncached ${uncachedMs.toFixed(1)} ms`);
  });
});

describe('writePasswordEntry', () => {
  it('writes what mosquitto_passwd writes, and the real mosquitto accepts it', async () => {
    const file = join(dir, 'ours.txt');
    await writePasswordEntry(file, 'dave', 'hunter2');
    await writePasswordEntry(file, 'erin', 'correct horse');
    const text = await readFile(file, 'utf8');
    assert.match(text, /^dave:\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==\nerin:\$7\$101\$/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    // mosquitto_passwd itself can update our file
    await exec('mosquitto_passwd', ['-b', file, 'frank', 'f']);
    const pw = await loadPasswordFile(file);
    assert.equal(await pw.verify('dave', 'hunter2'), true);
    assert.equal(await pw.verify('frank', 'f'), true);

    const broker = await startMosquitto(dir, [`password_file ${file}`, 'allow_anonymous false']);
    try {
      const good = await mosquittoPub(broker.port, ['-u', 'dave', '-P', 'hunter2', '-t', 't', '-m', 'x']);
      assert.equal(good.code, 0, good.output);
      const good2 = await mosquittoPub(broker.port, ['-u', 'erin', '-P', 'correct horse', '-t', 't', '-m', 'x']);
      assert.equal(good2.code, 0, good2.output);
      const bad = await mosquittoPub(broker.port, ['-u', 'dave', '-P', 'hunter3', '-t', 't', '-m', 'x']);
      assert.notEqual(bad.code, 0);
      assert.match(bad.output, /not authori[sz]ed|bad user name or password/i);
    } finally {
      await broker.stop();
    }
  });

  it('changes a password in place, keeping other lines; deletes users', async () => {
    const file = join(dir, 'edit.txt');
    await writeFile(file, '# users\n');
    await writePasswordEntry(file, 'a', 'one');
    await writePasswordEntry(file, 'b', 'two');
    await writePasswordEntry(file, 'a', 'three', { iterations: 1000 });
    const lines = (await readFile(file, 'utf8')).split('\n');
    assert.equal(lines[0], '# users');
    assert.match(lines[1], /^a:\$7\$1000\$/);
    assert.match(lines[2], /^b:\$7\$101\$/);
    const pw = await loadPasswordFile(file);
    assert.equal(await pw.verify('a', 'one'), false);
    assert.equal(await pw.verify('a', 'three'), true);
    assert.equal(await deletePasswordEntry(file, 'a'), true);
    assert.equal(await deletePasswordEntry(file, 'a'), false);
    assert.equal(await readFile(file, 'utf8'), `# users\n${lines[2]}\n`);
  });

  it('refuses user names mosquitto cannot store', async () => {
    const file = join(dir, 'bad.txt');
    await assert.rejects(writePasswordEntry(file, 'a:b', 'x'), RangeError);
    await assert.rejects(writePasswordEntry(file, '', 'x'), RangeError);
    await assert.rejects(writePasswordEntry(file, 'a\nb', 'x'), RangeError);
  });
});
