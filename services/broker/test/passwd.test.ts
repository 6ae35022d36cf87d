import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadPasswordFile } from '@mqtt-broker/auth';
import { freePort, type ManagedProcess, onFreshPorts, startProcess, tcpOpen, waitReady, waitUntil } from '@mqtt-broker/test-support';
import mqtt from 'mqtt';
import { MAIN, startBroker, spawnCli, waitFor } from './service-support.js';

/** The real mosquitto with a password file, ready once it accepts TCP; retried on a fresh port on a clash. */
function startMosquitto(dir: string, passwordFile: string): Promise<{ port: number; proc: ManagedProcess }> {
  return onFreshPorts(async () => {
    const port = await freePort();
    const conf = join(dir, `mosquitto-${port}.conf`);
    // As root, mosquitto switches to user "mosquitto", which cannot read our 0600 file: stay root.
    const user = process.getuid?.() === 0 ? 'user root\n' : '';
    writeFileSync(conf, `${user}listener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${passwordFile}\npersistence false\nlog_dest stderr\n`);
    const proc = startProcess('mosquitto', ['-c', conf]);
    await waitReady(proc, () => tcpOpen(port), `mosquitto on port ${port}`);
    return { port, proc };
  });
}

async function run(cmd: string, args: string[], timeoutMs = 5000): Promise<{ code: number | null; output: string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  return { code, output };
}

describe('mqtt-broker passwd', () => {
  it('writes a file that the real mosquitto accepts (-b form and stdin form)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'passwd-'));
    const file = join(dir, 'passwords');
    const a = spawnCli(['passwd', '-b', file, 'alice', 's3cret']);
    assert.equal((await a.exit).code, 0, a.stderr());
    const b = spawnCli(['passwd', file, 'bob'], {}, 'hunter2\n');
    assert.equal((await b.exit).code, 0, b.stderr());
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^alice:\$7\$/m);
    assert.match(text, /^bob:\$7\$/m);
    // Changing a password replaces the line.
    const c = spawnCli(['passwd', '-b', file, 'alice', 'n3w']);
    assert.equal((await c.exit).code, 0);
    assert.equal(readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('alice:')).length, 1);

    const { port, proc: mosq } = await startMosquitto(dir, file);
    try {
      const pub = (user: string, pass: string) =>
        run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-u', user, '-P', pass, '-t', 't', '-m', 'x', '-q', '1']);
      const first = await pub('alice', 'n3w');
      assert.equal(first.code, 0, first.output);
      assert.equal((await pub('bob', 'hunter2')).code, 0);
      const wrong = await pub('alice', 's3cret');
      assert.notEqual(wrong.code, 0, 'old password refused');
      assert.match(wrong.output, /not auth/i);
    } finally {
      await mosq.stop();
    }

    // Our broker accepts the same file.
    const broker = await startBroker({ ALLOW_ANONYMOUS: 'false', PASSWORD_FILE: file, MQTT_WS_PORT: 'off' });
    try {
      const ok = mqtt.connect(`mqtt://127.0.0.1:${broker.tcp}`, { reconnectPeriod: 0, username: 'bob', password: 'hunter2' });
      await new Promise<void>((resolve, reject) => {
        ok.once('connect', () => resolve());
        ok.once('error', reject);
      });
      await ok.endAsync();
      const bad = mqtt.connect(`mqtt://127.0.0.1:${broker.tcp}`, { reconnectPeriod: 0, username: 'bob', password: 'nope' });
      const err = await new Promise<Error>((resolve) => bad.once('error', resolve));
      assert.match(err.message, /Bad username or password|Not authorized/i);
      bad.end(true);
    } finally {
      await broker.stop();
    }
  });

  it('prompts twice without echo on a TTY (driven through script(1) for a pseudo-terminal)', async (t) => {
    if ((await run('sh', ['-c', 'command -v script'])).code !== 0) {
      t.skip('script(1) not installed');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'passwd-tty-'));
    // Each answer is typed once its prompt has appeared (bounded waits), not after a fixed sleep:
    // typed early, the terminal would still echo it and the CLI might not yet be reading.
    const viaTty = async (file: string, first: string, second: string): Promise<{ code: number | null; output: string }> => {
      const proc = startProcess('script', ['-qec', `${process.execPath} ${MAIN} passwd ${file} carol`, '/dev/null'], { stdin: 'pipe' });
      try {
        await waitUntil(() => proc.stdout().includes('Password: ') || proc.exited, 10_000, 'first password prompt');
        proc.child.stdin?.write(`${first}\r`);
        await waitUntil(() => proc.stdout().includes('Reenter password: ') || proc.exited, 10_000, 'second password prompt');
        proc.child.stdin?.write(`${second}\r`);
        await waitUntil(() => proc.exited, 10_000, 'passwd to exit');
      } finally {
        proc.child.stdin?.end();
        proc.kill();
      }
      const code = await proc.gone;
      return { code: typeof code === 'number' ? code : null, output: proc.output() };
    };
    const ok = await viaTty(join(dir, 'a'), 'tty-pass', 'tty-pass');
    assert.equal(ok.code, 0, ok.output);
    assert.match(ok.output, /Password: /);
    assert.match(ok.output, /Reenter password: /);
    assert.ok(!ok.output.includes('tty-pass'), 'the password is not echoed');
    const file = await loadPasswordFile(join(dir, 'a'));
    assert.equal(await file.verify('carol', Buffer.from('tty-pass')), true);
    const mismatch = await viaTty(join(dir, 'b'), 'one', 'two');
    assert.notEqual(mismatch.code, 0);
    assert.match(mismatch.output, /do not match/);
  });

  it('refuses bad usage with a non-zero exit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'passwd-'));
    const missingPass = spawnCli(['passwd', '-b', join(dir, 'f'), 'alice']);
    assert.notEqual((await missingPass.exit).code, 0);
    const empty = spawnCli(['passwd', join(dir, 'f'), 'alice'], {}, '');
    assert.notEqual((await empty.exit).code, 0);
    assert.match(empty.stderr(), /no password/);
    const badUser = spawnCli(['passwd', '-b', join(dir, 'f'), 'a:b', 'x']);
    assert.notEqual((await badUser.exit).code, 0);
    await waitFor(() => badUser.stderr().length > 0);
  });
});
