/**
 * Access to the gRPC admin API of the real broker process: GRPC_HOST (loopback by default), the
 * rule that a non-loopback GRPC_HOST needs ADMIN_TOKEN / ADMIN_TOKEN_FILE (the broker refuses to
 * start otherwise), bearer tokens checked on every call, and ADMIN_TLS. Calls go through the
 * typed AdminClient over real gRPC connections.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdminApiError, AdminClient, type AdminClientOptions } from '@mqtt-broker/admin-api';
import { makeCertificates } from '@mqtt-broker/test-support';
import { resolveConfig } from '../src/index.js';
import { type RunningBroker, spawnCli, startBroker, waitFor } from './service-support.js';

/** gRPC status UNAUTHENTICATED (16). */
const UNAUTHENTICATED = 16;
const TOKEN = 's3cret-admin-token-0123456789';

const dir = mkdtempSync(join(tmpdir(), 'admin-auth-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function started(b: RunningBroker): Record<string, unknown> {
  const line = b.logs().find((l) => l.event === 'started');
  assert.ok(line, 'started line');
  return line;
}

async function status(port: number, options: AdminClientOptions = {}): Promise<'ok' | number> {
  const client = new AdminClient(`127.0.0.1:${port}`, { timeoutMs: 4000, ...options });
  try {
    await client.clusterStatus();
    return 'ok';
  } catch (err) {
    if (err instanceof AdminApiError) return err.code;
    throw err;
  } finally {
    client.close();
  }
}

/** Runs the broker with `env` expecting it to refuse to start; returns its stderr lines. */
async function refusal(env: Record<string, string>): Promise<{ code: number | null; lines: string[] }> {
  const p = spawnCli([], { MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', MQTT_WS_PORT: '0', HTTP_PORT: '0', GRPC_PORT: '0', ...env });
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  const { code } = await p.exit;
  clearTimeout(timer);
  return { code, lines: p.stderr().trim().split('\n') };
}

describe('GRPC_HOST and ADMIN_TOKEN (config)', () => {
  it('defaults: the admin API on loopback, no token, no TLS', () => {
    const c = resolveConfig({});
    assert.equal(c.grpcHost, '127.0.0.1');
    assert.equal(c.adminToken, undefined);
    assert.equal(c.adminTls, undefined);
  });

  it('loopback addresses need no token; any other address does, unless GRPC_PORT is off', () => {
    for (const host of ['127.0.0.1', '127.0.0.53', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) {
      assert.equal(resolveConfig({ GRPC_HOST: host }).adminToken, undefined, host);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'broker.internal', '::ffff:10.0.0.1']) {
      assert.throws(() => resolveConfig({ GRPC_HOST: host }), { setting: 'GRPC_HOST' }, host);
      assert.equal(resolveConfig({ GRPC_HOST: host, ADMIN_TOKEN: TOKEN }).adminToken, TOKEN);
    }
    assert.equal(resolveConfig({ GRPC_HOST: '0.0.0.0', GRPC_PORT: 'off' }).grpcHost, '0.0.0.0');
    assert.equal(resolveConfig({}, { GRPC_HOST: '0.0.0.0', ADMIN_TOKEN: TOKEN }).grpcHost, '0.0.0.0', 'flags');
  });

  it('ADMIN_TOKEN_FILE wins over ADMIN_TOKEN and is trimmed; short or unreadable tokens are errors', () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'from-the-file-0123456789\n');
    assert.equal(resolveConfig({ ADMIN_TOKEN: TOKEN, ADMIN_TOKEN_FILE: file }).adminToken, 'from-the-file-0123456789');
    assert.throws(() => resolveConfig({ ADMIN_TOKEN: 'short' }), { setting: 'ADMIN_TOKEN', message: 'invalid ADMIN_TOKEN: must be at least 16 characters (got 5)' });
    assert.throws(() => resolveConfig({ ADMIN_TOKEN: '' }), { setting: 'ADMIN_TOKEN' }, 'an empty token is not "no token"');
    writeFileSync(join(dir, 'short'), 'abc\n');
    assert.throws(() => resolveConfig({ ADMIN_TOKEN_FILE: join(dir, 'short') }), { setting: 'ADMIN_TOKEN_FILE' });
    assert.throws(() => resolveConfig({ ADMIN_TOKEN_FILE: join(dir, 'missing') }), { setting: 'ADMIN_TOKEN_FILE', message: /cannot read ".*missing": ENOENT/ });
  });

  it('ADMIN_TLS needs TLS_CERT and TLS_KEY', () => {
    assert.throws(() => resolveConfig({ ADMIN_TLS: 'true' }), { setting: 'TLS_CERT', message: 'invalid TLS_CERT: required when ADMIN_TLS is true' });
  });
});

describe('the broker refuses to start with an open admin API on the network', () => {
  it('GRPC_HOST=0.0.0.0 without a token: exit 2, one line naming GRPC_HOST and ADMIN_TOKEN', async () => {
    const r = await refusal({ GRPC_HOST: '0.0.0.0' });
    assert.equal(r.code, 2);
    assert.equal(r.lines.length, 1, r.lines.join('\n'));
    assert.match(r.lines[0] ?? '', /^invalid GRPC_HOST: "0\.0\.0\.0" is not a loopback address and neither ADMIN_TOKEN nor ADMIN_TOKEN_FILE is set/);
    const empty = await refusal({ ADMIN_TOKEN: '' });
    assert.equal(empty.code, 2);
    assert.match(empty.lines[0] ?? '', /^invalid ADMIN_TOKEN: must be at least 16 characters/);
    assert.ok(!empty.lines.join('').includes(TOKEN));
  });
});

describe('the broker with GRPC_HOST=0.0.0.0 and ADMIN_TOKEN', () => {
  let b: RunningBroker;
  let port: number;
  before(async () => {
    b = await startBroker({ GRPC_HOST: '0.0.0.0', ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'info' });
    port = started(b).grpcPort as number;
  });
  after(async () => {
    await b.stop();
  });

  it('starts, logging where the admin API listens and that it needs a token', () => {
    const line = started(b);
    assert.equal(line.grpcHost, '0.0.0.0');
    assert.equal(line.adminTokenRequired, true);
    assert.equal(line.adminTls, false);
    assert.match(String(line.msg), new RegExp(`grpc 0\\.0\\.0\\.0:${port}`));
    assert.ok(!b.stdout().includes(TOKEN), 'the token is never logged');
  });

  it('refuses calls without the token or with a wrong one (UNAUTHENTICATED) and logs them; answers with it', async () => {
    assert.equal(await status(port), UNAUTHENTICATED);
    assert.equal(await status(port, { token: 'wrong-token-0123456789' }), UNAUTHENTICATED);
    assert.equal(await status(port, { token: TOKEN }), 'ok');
    await waitFor(() => b.logs().filter((l) => l.event === 'admin_auth_failed').length >= 2, 3000, 'admin_auth_failed lines');
    const failures = b.logs().filter((l) => l.event === 'admin_auth_failed');
    assert.deepEqual(
      failures.map((l) => [l.method, l.reason]),
      [
        ['ClusterStatus', 'missing'],
        ['ClusterStatus', 'invalid'],
      ],
    );
    assert.match(String(failures[0]?.peer), /127\.0\.0\.1:\d+/);
  });
});

describe('the broker with ADMIN_TOKEN_FILE, default GRPC_HOST and ADMIN_TLS', () => {
  let b: RunningBroker;
  let port: number;
  let ca: Buffer;
  before(async () => {
    ({ ca } = makeCertificates({ dir, caName: 'AdminCA' }));
    writeFileSync(join(dir, 'admin-token'), 'file-token-abcdefghijklmnop\n');
    b = await startBroker({
      ADMIN_TOKEN_FILE: join(dir, 'admin-token'),
      ADMIN_TOKEN: TOKEN,
      ADMIN_TLS: 'true',
      TLS_CERT: join(dir, 'server.crt'),
      TLS_KEY: join(dir, 'server.key'),
    });
    port = started(b).grpcPort as number;
  });
  after(async () => {
    await b?.stop();
  });

  it('binds loopback, speaks TLS only, and takes the file token over ADMIN_TOKEN', async () => {
    const line = started(b);
    assert.equal(line.grpcHost, '127.0.0.1');
    assert.equal(line.adminTls, true);
    assert.equal(await status(port, { token: 'file-token-abcdefghijklmnop', tls: { ca } }), 'ok');
    assert.equal(await status(port, { token: TOKEN, tls: { ca } }), UNAUTHENTICATED);
    assert.notEqual(await status(port, { token: 'file-token-abcdefghijklmnop' }), 'ok', 'plaintext is refused');
  });
});

describe('the default broker (no GRPC_HOST, no token)', () => {
  it('serves the admin API on loopback without a token, as before', async () => {
    const b = await startBroker();
    try {
      const line = started(b);
      assert.equal(line.grpcHost, '127.0.0.1');
      assert.equal(line.adminTokenRequired, false);
      assert.equal(await status(line.grpcPort as number), 'ok');
    } finally {
      await b.stop();
    }
  });
});
