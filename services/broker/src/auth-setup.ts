/**
 * Builds the authenticator and authorizer from PASSWORD_FILE / ACL_FILE / ALLOW_ANONYMOUS, at
 * start and again on SIGHUP. Loading is all-or-nothing: a reload that fails on either file
 * leaves the broker with the previous pair (the caller logs the error).
 */
import { createAclAuthorizer, createFileAuthenticator, loadAclFile, loadPasswordFile } from '@mqtt-broker/auth';
import type { Authenticator, Authorizer } from '@mqtt-broker/core';

export interface AuthSettings {
  allowAnonymous: boolean;
  passwordFile: string | undefined;
  aclFile: string | undefined;
}

export interface LoadedAuth {
  authenticator: Authenticator;
  authorizer: Authorizer | undefined;
}

/** Raised when PASSWORD_FILE or ACL_FILE cannot be read or parsed; `setting` names which. */
export class AuthFileError extends Error {
  readonly setting: 'PASSWORD_FILE' | 'ACL_FILE';
  constructor(setting: 'PASSWORD_FILE' | 'ACL_FILE', path: string, cause: unknown) {
    const detail = (cause as NodeJS.ErrnoException).code ?? (cause instanceof Error ? cause.message : String(cause));
    super(`invalid ${setting}: cannot load "${path}": ${detail}`, { cause });
    this.name = 'AuthFileError';
    this.setting = setting;
  }
}

export async function loadAuth(settings: AuthSettings): Promise<LoadedAuth> {
  let passwordFile: Awaited<ReturnType<typeof loadPasswordFile>> | undefined;
  if (settings.passwordFile !== undefined) {
    try {
      passwordFile = await loadPasswordFile(settings.passwordFile);
    } catch (err) {
      throw new AuthFileError('PASSWORD_FILE', settings.passwordFile, err);
    }
  }
  let authorizer: Authorizer | undefined;
  if (settings.aclFile !== undefined) {
    try {
      authorizer = createAclAuthorizer(await loadAclFile(settings.aclFile));
    } catch (err) {
      throw new AuthFileError('ACL_FILE', settings.aclFile, err);
    }
  }
  const authenticator = createFileAuthenticator({
    allowAnonymous: settings.allowAnonymous,
    ...(passwordFile !== undefined ? { passwordFile } : {}),
  });
  return { authenticator, authorizer };
}
