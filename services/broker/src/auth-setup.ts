/**
 * Builds the authenticator and authorizer from the auth settings (AUTH_CHAIN, PASSWORD_FILE,
 * ACL_FILE, JWT_*, HTTP_AUTH_*, TLS_IDENTITY, ALLOW_ANONYMOUS), at start and again on SIGHUP.
 * Loading is all-or-nothing: a reload that fails on any file leaves the broker with the previous
 * pair (the caller logs the error). The JWKS key set, the HTTP hook's connections and its answer
 * caches are held by the loader, not by one load, so a reload keeps what they hold.
 *
 * MQTT-SN clients have no user name or password: a CONNECT of transport 'mqttsn' (only the
 * gateway makes those) is decided by the client list (MQTTSN_CLIENTS) alone, never by the chain.
 */
import { readFile } from 'node:fs/promises';
import {
  AnswerCache,
  type AuthMethod,
  type AuthRefusal,
  type CertificateIdentity,
  createAclAuthorizer,
  createAuthChain,
  createCertificateMethod,
  createHttpAuthorizer,
  createHttpMethod,
  type HookOutcome,
  type HookVerdict,
  type HttpFailMode,
  HttpHook,
  createJwtMethod,
  createPasswordFileMethod,
  JwksCache,
  type JwtAlgorithm,
  type JwtKeys,
  ASYMMETRIC_ALGORITHMS,
  loadAclFile,
  loadJwtKeyFile,
  loadPasswordFile,
  type PasswordFile,
} from '@mqtt-broker/auth';
import type { AuthRequest, AuthResult, Authenticator, Authorizer } from '@mqtt-broker/core';
import { ReasonCode } from '@mqtt-broker/mqtt-codec';
import { ClientList } from '@mqtt-broker/mqttsn-gateway';
import type { AUTH_METHOD_NAMES } from './settings.js';

export type AuthMethodName = (typeof AUTH_METHOD_NAMES)[number];
export type TlsIdentity = CertificateIdentity;
export type { HttpFailMode };

export interface HttpHookSettings {
  /** The http method's URL (authentication). */
  authUrl?: string;
  /** Authorization of PUBLISH and SUBSCRIBE. */
  authzUrl?: string;
  timeoutMs: number;
  maxConcurrent: number;
  maxWaiting: number;
  cacheSeconds: number;
  cacheSize: number;
  failMode: HttpFailMode;
}

export interface JwtSettings {
  keyFile?: string;
  jwksUrl?: string;
  jwksRefreshSeconds: number;
  algorithms?: readonly string[];
  leewaySeconds: number;
  issuer?: string;
  audience?: string;
  clientIdClaim: string;
  usernameClaim: string;
  aclClaim: string;
}

export interface AuthSettings {
  allowAnonymous: boolean;
  passwordFile: string | undefined;
  aclFile: string | undefined;
  /** Methods in the order tried (default: password-file when PASSWORD_FILE is set). */
  chain?: readonly AuthMethodName[];
  jwt?: JwtSettings;
  httpHook?: HttpHookSettings;
  tlsIdentity?: TlsIdentity;
  /** MQTTSN_CLIENTS. */
  mqttsnClientsFile?: string | undefined;
}

export interface AuthEvents {
  /** A client refused by a method (or by the chain: anonymous, unknown user). */
  onRefusal?(refusal: AuthRefusal): void;
  /** The JWKS URL could not be fetched (the last good key set, if any, stays in use). */
  onJwksError?(url: string, error: Error): void;
  /** One request to the HTTP hook: `kind` authentication or authorization. */
  onHttpRequest?(kind: string, outcome: HookOutcome, seconds: number): void;
  /** An HTTP hook verdict reused from the cache. */
  onHttpCacheHit?(kind: string): void;
}

export interface LoadedAuth {
  authenticator: Authenticator;
  authorizer: Authorizer | undefined;
  /** Undefined when MQTTSN_CLIENTS is not set. */
  mqttsnClients: ClientList | undefined;
}

/** Raised when a file of the auth settings cannot be read or parsed; `setting` names which. */
export class AuthFileError extends Error {
  readonly setting: string;
  constructor(setting: string, path: string, cause: unknown) {
    const detail = (cause as NodeJS.ErrnoException).code ?? (cause instanceof Error ? cause.message : String(cause));
    super(`invalid ${setting}: cannot load "${path}": ${detail}`, { cause });
    this.name = 'AuthFileError';
    this.setting = setting;
  }
}

async function loadFile<T>(setting: string, path: string, load: (path: string) => Promise<T>): Promise<T> {
  try {
    return await load(path);
  } catch (err) {
    throw new AuthFileError(setting, path, err);
  }
}

export interface AuthLoader {
  load(): Promise<LoadedAuth>;
  /** The JWKS cache when JWT_JWKS_URL is set (fetched once at start by `prefetch`). */
  readonly jwks: JwksCache | undefined;
  /** Closes the HTTP hook's connections. */
  close(): Promise<void>;
}

export function createAuthLoader(settings: AuthSettings, events: AuthEvents = {}): AuthLoader {
  const jwtSettings = settings.jwt;
  const jwks =
    jwtSettings?.jwksUrl === undefined
      ? undefined
      : new JwksCache({
          url: jwtSettings.jwksUrl,
          maxAgeMs: jwtSettings.jwksRefreshSeconds * 1000,
          onFetchError: (error) => events.onJwksError?.(jwtSettings.jwksUrl as string, error),
        });
  const chain = settings.chain ?? (settings.passwordFile !== undefined ? ['password-file'] : []);
  const http = settings.httpHook;
  const hook =
    http === undefined
      ? undefined
      : new HttpHook({
          maxConcurrent: http.maxConcurrent,
          maxWaiting: http.maxWaiting,
          timeoutMs: http.timeoutMs,
          ...(events.onHttpRequest !== undefined ? { onRequest: events.onHttpRequest } : {}),
        });
  const newCache = (h: HttpHookSettings): AnswerCache<HookVerdict> => new AnswerCache(h.cacheSeconds * 1000, h.cacheSize);
  const authnCache = http === undefined ? undefined : newCache(http);
  const authzCache = http === undefined ? undefined : newCache(http);

  const jwtKeys = async (jwt: JwtSettings): Promise<JwtKeys> => {
    const keys: JwtKeys =
      jwks !== undefined ? { key: jwks.getKey, algorithms: ASYMMETRIC_ALGORITHMS } : await loadFile('JWT_KEY_FILE', jwt.keyFile as string, loadJwtKeyFile);
    return jwt.algorithms === undefined ? keys : { key: keys.key, algorithms: jwt.algorithms as readonly JwtAlgorithm[] };
  };

  const method = async (name: AuthMethodName, passwords: PasswordFile | undefined): Promise<AuthMethod> => {
    switch (name) {
      case 'password-file':
        return createPasswordFileMethod(passwords as PasswordFile);
      case 'certificate':
        return createCertificateMethod(settings.tlsIdentity ?? 'cn');
      case 'http': {
        const h = http as HttpHookSettings;
        return createHttpMethod({
          hook: hook as HttpHook,
          url: h.authUrl as string,
          failMode: h.failMode,
          cache: authnCache as AnswerCache<HookVerdict>,
          onCacheHit: () => events.onHttpCacheHit?.('authentication'),
        });
      }
      case 'jwt': {
        const jwt = jwtSettings as JwtSettings;
        return createJwtMethod({
          keys: await jwtKeys(jwt),
          leewaySeconds: jwt.leewaySeconds,
          ...(jwt.issuer !== undefined ? { issuer: jwt.issuer } : {}),
          ...(jwt.audience !== undefined ? { audience: jwt.audience } : {}),
          clientIdClaim: jwt.clientIdClaim,
          usernameClaim: jwt.usernameClaim,
          aclClaim: jwt.aclClaim,
        });
      }
    }
  };

  return {
    jwks,
    close: async () => hook?.close(),
    async load() {
      // read for the chain, and for checking the users that MQTTSN_CLIENTS maps client ids to
      const needPasswords = chain.includes('password-file') || settings.mqttsnClientsFile !== undefined;
      const passwords = settings.passwordFile === undefined || !needPasswords ? undefined : await loadFile('PASSWORD_FILE', settings.passwordFile, (path) => loadPasswordFile(path));
      const methods: AuthMethod[] = [];
      for (const name of chain) methods.push(await method(name, passwords));
      const fileAcl = settings.aclFile === undefined ? undefined : await loadFile('ACL_FILE', settings.aclFile, loadAclFile);
      // tokens may carry their own rules, so with jwt there is an authorizer even without ACL_FILE
      const aclAuthorizer = fileAcl !== undefined || chain.includes('jwt') ? createAclAuthorizer(fileAcl) : undefined;
      const authorizer =
        http?.authzUrl === undefined
          ? aclAuthorizer
          : createHttpAuthorizer({
              hook: hook as HttpHook,
              url: http.authzUrl,
              failMode: http.failMode,
              cache: authzCache as AnswerCache<HookVerdict>,
              inner: aclAuthorizer,
              onCacheHit: () => events.onHttpCacheHit?.('authorization'),
            });
      const clientsFile = settings.mqttsnClientsFile;
      const mqttsnClients =
        clientsFile === undefined ? undefined : await loadFile('MQTTSN_CLIENTS', clientsFile, async (path) => checkedClientList(await readFile(path, 'utf8'), passwords));
      const authenticator = createAuthChain(methods, {
        allowAnonymous: settings.allowAnonymous,
        ...(events.onRefusal !== undefined ? { onRefusal: events.onRefusal } : {}),
      });
      return { authenticator: withMqttSnClients(authenticator, mqttsnClients, settings.allowAnonymous), authorizer, mqttsnClients };
    },
  };
}

/**
 * The client list, refused when a line maps a client id to a user that PASSWORD_FILE (when set)
 * does not have: that client would act as a user nobody can manage (typo, user removed).
 */
function checkedClientList(text: string, passwords: PasswordFile | undefined): ClientList {
  const list = ClientList.parse(text);
  const unknown = passwords === undefined ? undefined : list.mappings.find((m) => !passwords.has(m.username));
  if (unknown !== undefined) {
    throw new Error(`line ${unknown.line}: user "${unknown.username}" (for client id "${unknown.clientId}") is not in PASSWORD_FILE`);
  }
  return list;
}

/** One load, no JWKS kept across loads (tests, tools). */
export function loadAuth(settings: AuthSettings, events?: AuthEvents): Promise<LoadedAuth> {
  return createAuthLoader(settings, events).load();
}

/** A listed client id is allowed as its listed user (the gateway puts that user in the CONNECT); an unlisted one only anonymously. */
function authenticateMqttSn(request: AuthRequest, clients: ClientList | undefined, allowAnonymous: boolean): AuthResult {
  const entry = clients?.lookup(request.clientId);
  if (entry !== undefined) return entry.username === request.username ? { ok: true } : { ok: false, reasonCode: ReasonCode.NotAuthorized };
  return allowAnonymous && request.username === undefined ? { ok: true } : { ok: false, reasonCode: ReasonCode.NotAuthorized };
}

function withMqttSnClients(chain: Authenticator, clients: ClientList | undefined, allowAnonymous: boolean): Authenticator {
  const wrapped: Authenticator = {
    authenticate: (request) => (request.transport === 'mqttsn' ? authenticateMqttSn(request, clients, allowAnonymous) : chain.authenticate(request)),
  };
  if (chain.enhancedMethods !== undefined) Object.assign(wrapped, { enhancedMethods: chain.enhancedMethods });
  if (chain.startEnhanced !== undefined) wrapped.startEnhanced = chain.startEnhanced.bind(chain);
  if (chain.continueEnhanced !== undefined) wrapped.continueEnhanced = chain.continueEnhanced.bind(chain);
  return wrapped;
}
