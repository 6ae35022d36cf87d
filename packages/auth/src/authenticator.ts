/**
 * CONNECT authentication against a Mosquitto password file, with mosquitto 2.0's outcomes:
 *   no user name            -> accepted when allowAnonymous, else 0x87 Not authorized (3.1.1: 5)
 *   user name, no file      -> accepted when allowAnonymous, else 0x87 (no credential can be right;
 *                              mosquitto 2.0.11 answers the same)
 *   user name, file         -> 0x86 Bad user name or password (3.1.1: 4) unless the user is in the
 *                              file and the password matches its hash; a missing password fails.
 * The 3.1.1 return code is derived from the 5.0 reason code by the core.
 */
import type { AuthRequest, AuthResult, Authenticator } from '@mqtt-broker/core';
import type { PasswordFile } from './password-file.js';

const BAD_USER_NAME_OR_PASSWORD = 0x86;
const NOT_AUTHORIZED = 0x87;

export interface FileAuthenticatorOptions {
  passwordFile?: PasswordFile;
  allowAnonymous: boolean;
}

const OK: AuthResult = { ok: true };

export function createFileAuthenticator(options: FileAuthenticatorOptions): Authenticator {
  const { passwordFile, allowAnonymous } = options;
  return {
    async authenticate(request: AuthRequest): Promise<AuthResult> {
      if (request.username === undefined) {
        return allowAnonymous ? OK : { ok: false, reasonCode: NOT_AUTHORIZED };
      }
      if (passwordFile === undefined) {
        return allowAnonymous ? OK : { ok: false, reasonCode: NOT_AUTHORIZED };
      }
      if (request.password === undefined || !passwordFile.has(request.username)) {
        return { ok: false, reasonCode: BAD_USER_NAME_OR_PASSWORD };
      }
      const ok = await passwordFile.verify(request.username, request.password);
      return ok ? OK : { ok: false, reasonCode: BAD_USER_NAME_OR_PASSWORD };
    },
  };
}
