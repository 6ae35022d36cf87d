/**
 * CONNECT authentication against a Mosquitto password file, with mosquitto 2.0's outcomes:
 *   no user name            -> accepted when allowAnonymous, else 0x87 Not authorized (3.1.1: 5)
 *   user name, no file      -> accepted when allowAnonymous, else 0x87 (no credential can be right;
 *                              mosquitto 2.0.11 answers the same)
 *   user name, file         -> 0x86 Bad user name or password (3.1.1: 4) unless the user is in the
 *                              file and the password matches its hash; a missing password fails.
 * The 3.1.1 return code is derived from the 5.0 reason code by the core. It is the chain
 * (auth-method.ts) of the password-file method alone.
 */
import type { Authenticator } from '@mqtt-broker/core';
import { createAuthChain } from './auth-method.js';
import type { PasswordFile } from './password-file.js';
import { createPasswordFileMethod } from './password-method.js';

export interface FileAuthenticatorOptions {
  passwordFile?: PasswordFile;
  allowAnonymous: boolean;
}

export function createFileAuthenticator(options: FileAuthenticatorOptions): Authenticator {
  const methods = options.passwordFile === undefined ? [] : [createPasswordFileMethod(options.passwordFile)];
  return createAuthChain(methods, { allowAnonymous: options.allowAnonymous });
}
