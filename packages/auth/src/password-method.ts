/**
 * The PASSWORD_FILE as a method of the chain: it knows the users in the file. A known user with
 * no password or a wrong one is refused 0x86 Bad user name or password.
 */
import type { AuthRequest } from '@mqtt-broker/core';
import { type AuthMethod, BAD_USER_NAME_OR_PASSWORD, type MethodDecision } from './auth-method.js';
import type { PasswordFile } from './password-file.js';

export function createPasswordFileMethod(passwordFile: PasswordFile): AuthMethod {
  return {
    name: 'password-file',
    checksCredentials: true,
    async authenticate(request: AuthRequest): Promise<MethodDecision | undefined> {
      const user = request.username;
      if (user === undefined || !passwordFile.has(user)) return undefined;
      if (request.password === undefined) return { ok: false, reasonCode: BAD_USER_NAME_OR_PASSWORD, reason: 'no_password' };
      const ok = await passwordFile.verify(user, request.password);
      return ok ? { ok: true } : { ok: false, reasonCode: BAD_USER_NAME_OR_PASSWORD, reason: 'bad_password' };
    },
  };
}
