import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuthRequest } from '@mqtt-broker/core';
import { createFileAuthenticator, hashPassword, formatPasswordHash, PasswordFile } from '../src/index.js';

function request(username: string | undefined, password: string | undefined): AuthRequest {
  return {
    clientId: 'c1',
    username,
    password: password === undefined ? undefined : Buffer.from(password),
    address: '127.0.0.1',
    transport: 'tcp',
    protocolVersion: 5,
    certificateCommonName: undefined,
    certificate: undefined,
  };
}

describe('createFileAuthenticator', async () => {
  const file = PasswordFile.parse(`alice:${formatPasswordHash(await hashPassword('wonderland'))}\n`);
  const cases: [string, { passwordFile?: PasswordFile; allowAnonymous: boolean }, string | undefined, string | undefined, number | 'ok'][] = [
    ['anonymous allowed', { allowAnonymous: true }, undefined, undefined, 'ok'],
    ['anonymous refused, no file', { allowAnonymous: false }, undefined, undefined, 0x87],
    ['anonymous refused, with file', { passwordFile: file, allowAnonymous: false }, undefined, undefined, 0x87],
    ['anonymous allowed, with file', { passwordFile: file, allowAnonymous: true }, undefined, undefined, 'ok'],
    ['user name, no file, anonymous allowed', { allowAnonymous: true }, 'bob', 'x', 'ok'],
    ['user name, no file, anonymous refused', { allowAnonymous: false }, 'bob', 'x', 0x87],
    ['right password', { passwordFile: file, allowAnonymous: false }, 'alice', 'wonderland', 'ok'],
    ['wrong password', { passwordFile: file, allowAnonymous: false }, 'alice', 'looking-glass', 0x86],
    ['wrong password, anonymous allowed', { passwordFile: file, allowAnonymous: true }, 'alice', 'looking-glass', 0x86],
    ['missing password', { passwordFile: file, allowAnonymous: false }, 'alice', undefined, 0x86],
    ['unknown user', { passwordFile: file, allowAnonymous: true }, 'mallory', 'wonderland', 0x86],
  ];
  for (const [name, options, username, password, expected] of cases) {
    it(name, async () => {
      const result = await createFileAuthenticator(options).authenticate(request(username, password));
      if (expected === 'ok') assert.deepEqual(result, { ok: true });
      else assert.deepEqual(result, { ok: false, reasonCode: expected });
    });
  }
});
