/**
 * Builds the authenticator and authorizer from PASSWORD_FILE / ACL_FILE / ALLOW_ANONYMOUS (and
 * MQTTSN_CLIENTS), at start and again on SIGHUP. Loading is all-or-nothing: a reload that fails
 * on any file leaves the broker with the previous set (the caller logs the error).
 *
 * MQTT-SN clients have no user name or password: a CONNECT of transport 'mqttsn' (only the
 * gateway makes those) is decided by the client list alone, never by the password file.
 */
import { createAclAuthorizer, createFileAuthenticator, loadAclFile, loadPasswordFile } from '@mqtt-broker/auth';
import { readFile } from 'node:fs/promises';
import type { AuthRequest, AuthResult, Authenticator, Authorizer } from '@mqtt-broker/core';
import { ReasonCode } from '@mqtt-broker/mqtt-codec';
import { ClientList } from '@mqtt-broker/mqttsn-gateway';

export interface AuthSettings {
  allowAnonymous: boolean;
  passwordFile: string | undefined;
  aclFile: string | undefined;
  /** MQTTSN_CLIENTS. */
  mqttsnClientsFile?: string | undefined;
}

export interface LoadedAuth {
  authenticator: Authenticator;
  authorizer: Authorizer | undefined;
  /** Undefined when MQTTSN_CLIENTS is not set. */
  mqttsnClients: ClientList | undefined;
}

/** Raised when PASSWORD_FILE or ACL_FILE cannot be read or parsed; `setting` names which. */
export class AuthFileError extends Error {
  readonly setting: 'PASSWORD_FILE' | 'ACL_FILE' | 'MQTTSN_CLIENTS';
  constructor(setting: 'PASSWORD_FILE' | 'ACL_FILE' | 'MQTTSN_CLIENTS', path: string, cause: unknown) {
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
  let mqttsnClients: ClientList | undefined;
  if (settings.mqttsnClientsFile !== undefined) {
    try {
      mqttsnClients = ClientList.parse(await readFile(settings.mqttsnClientsFile, 'utf8'));
    } catch (err) {
      throw new AuthFileError('MQTTSN_CLIENTS', settings.mqttsnClientsFile, err);
    }
  }
  const files = createFileAuthenticator({
    allowAnonymous: settings.allowAnonymous,
    ...(passwordFile !== undefined ? { passwordFile } : {}),
  });
  return { authenticator: withMqttSnClients(files, mqttsnClients, settings.allowAnonymous), authorizer, mqttsnClients };
}

/** A listed client id is allowed as its listed user (the gateway puts that user in the CONNECT); an unlisted one only anonymously. */
function authenticateMqttSn(request: AuthRequest, clients: ClientList | undefined, allowAnonymous: boolean): AuthResult {
  const entry = clients?.lookup(request.clientId);
  if (entry !== undefined) return entry.username === request.username ? { ok: true } : { ok: false, reasonCode: ReasonCode.NotAuthorized };
  return allowAnonymous && request.username === undefined ? { ok: true } : { ok: false, reasonCode: ReasonCode.NotAuthorized };
}

function withMqttSnClients(files: Authenticator, clients: ClientList | undefined, allowAnonymous: boolean): Authenticator {
  const wrapped: Authenticator = {
    authenticate: (request) => (request.transport === 'mqttsn' ? authenticateMqttSn(request, clients, allowAnonymous) : files.authenticate(request)),
  };
  if (files.enhancedMethods !== undefined) Object.assign(wrapped, { enhancedMethods: files.enhancedMethods });
  if (files.startEnhanced !== undefined) wrapped.startEnhanced = files.startEnhanced.bind(files);
  if (files.continueEnhanced !== undefined) wrapped.continueEnhanced = files.continueEnhanced.bind(files);
  return wrapped;
}
