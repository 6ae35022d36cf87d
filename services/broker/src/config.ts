/**
 * Turns environment variables and CLI flags into a validated BrokerConfig (flags win over env).
 * Each value is checked by a zod schema built from its kind in settings.ts; the first bad value
 * throws a ConfigError whose message is the one line the CLI prints, naming the setting:
 * `invalid MQTT_PORT: "abc" is not a port number`.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { BrokerLimits } from '@mqtt-broker/core';
import { NO_PREDEFINED_TOPICS, type PredefinedTopics, parsePredefinedTopics } from '@mqtt-broker/mqttsn-gateway';
import type { WebSocketEngineSetting } from '@mqtt-broker/transport';
import { z } from 'zod';
import { isLoopbackHost, readTokenFile } from './admin-access.js';
import type { AuthMethodName, HttpFailMode, HttpHookSettings, JwtSettings, TlsIdentity } from './auth-setup.js';
import { AUTH_METHOD_NAMES, flagOf, type ProxiedListener, SETTINGS, type SettingKind, type SettingSpec } from './settings.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
  requireClientCert: boolean;
  /** Ask for a client certificate even when not required (TLS_IDENTITY set). */
  requestClientCert: boolean;
  /** TLS_CRL_FILE, read again on SIGHUP. */
  crlFile: string | undefined;
  crl: Buffer | undefined;
}

/** The MQTT-SN gateway (MQTTSN_PORT set). */
export interface MqttSnConfig {
  port: number;
  gatewayId: number;
  predefined: PredefinedTopics;
  /** MQTTSN_CLIENTS, read with the auth files (auth-setup.ts). */
  clientsFile: string | undefined;
  advertise: { address: string; port: number; seconds: number } | undefined;
  retryMs: number;
  maxRetries: number;
  maxDatagramBytes: number;
  ratePerAddress: number;
  maxClientsPerAddress: number;
}

export interface BrokerConfig {
  host: string;
  /** undefined: listener disabled. */
  mqttPort: number | undefined;
  wsPort: number | undefined;
  tlsPort: number | undefined;
  wssPort: number | undefined;
  /** undefined: MQTTSN_PORT off. */
  mqttsn: MqttSnConfig | undefined;
  httpPort: number | undefined;
  grpcPort: number | undefined;
  /** Bind address of the admin API (GRPC_HOST). */
  grpcHost: string;
  /** ADMIN_TOKEN_FILE's content, else ADMIN_TOKEN; undefined: calls need no token (loopback only). */
  adminToken: string | undefined;
  /** Certificate and key of the admin API when ADMIN_TLS is true. */
  adminTls: { cert: Buffer; key: Buffer } | undefined;
  /** Loaded when a TLS or WSS listener is enabled. */
  tls: TlsFiles | undefined;
  /** The listeners that expect a PROXY protocol header (PROXY_PROTOCOL, PROXY_PROTOCOL_LISTENERS); empty: none. */
  proxyProtocol: readonly ProxiedListener[];
  /** WS_ENGINE: which WebSocket engine the WS and WSS listeners run on. */
  wsEngine: WebSocketEngineSetting;
  nodeId: string;
  allowAnonymous: boolean;
  passwordFile: string | undefined;
  aclFile: string | undefined;
  /** AUTH_CHAIN as given, else every configured method in the default order. */
  authChain: readonly AuthMethodName[];
  /** The jwt method's settings, when JWT_KEY_FILE or JWT_JWKS_URL is set. */
  jwt: JwtSettings | undefined;
  /** The HTTP hook's settings, when HTTP_AUTH_URL or HTTP_AUTHZ_URL is set. */
  httpHook: HttpHookSettings | undefined;
  /** TLS_IDENTITY; undefined: off. */
  tlsIdentity: TlsIdentity | undefined;
  logLevel: LogLevel;
  drainSeconds: number;
  /** Cluster: how long the will of a client disconnected by a drain waits for the client to come back. */
  drainWillGraceSeconds: number;
  /** Server Reference sent with DISCONNECT 0x9C on drain (5.0); undefined: 0x8B. */
  serverReference: string | undefined;
  sysIntervalSeconds: number;
  limits: Partial<BrokerLimits>;
  /** Cluster mode over one Redis (redis://...). */
  redisUrl: string | undefined;
  /** Cluster mode over Redis Cluster (host:port seeds). */
  redisClusterNodes: Array<{ host: string; port: number }> | undefined;
  /** Cluster: a node is dead this long after its last heartbeat. */
  clusterHeartbeatTtlMs: number;
  /** Cluster: how long an admin call waits for each other node. */
  adminFanoutTimeoutMs: number;
}

/** A setting has a bad value (or a combination of settings cannot work). */
export class ConfigError extends Error {
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.setting = setting;
  }
}

type Value = string | number | boolean | string[] | undefined;

function schemaFor(kind: SettingKind): z.ZodType<Value, string> {
  const fail = (ctx: z.RefinementCtx<string>, message: string): never => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  const url = (scheme: RegExp, what: string): z.ZodType<Value, string> =>
    z.string().transform((raw, ctx) => {
      const v = raw.trim();
      if (v === '') return undefined;
      if (!scheme.test(v) || !URL.canParse(v)) return fail(ctx, `"${raw}" is not ${what} URL`);
      return v;
    });
  switch (kind.type) {
    case 'port':
      return z.string().transform((raw, ctx) => {
        const v = raw.trim();
        if (v === '' || v.toLowerCase() === 'off') return undefined;
        if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 65535) return fail(ctx, `"${raw}" is not a port number (0-65535 or 'off')`);
        return Number(v);
      });
    case 'int':
      return z.string().transform((raw, ctx) => {
        const v = raw.trim();
        if (!/^[0-9]+$/.test(v) || Number(v) < kind.min || Number(v) > kind.max) {
          return fail(ctx, `"${raw}" is not an integer from ${kind.min} to ${kind.max}`);
        }
        return Number(v);
      });
    case 'bool':
      return z.string().transform((raw, ctx) => {
        const v = raw.trim().toLowerCase();
        if (['true', '1', 'yes', 'on'].includes(v)) return true;
        if (['false', '0', 'no', 'off'].includes(v)) return false;
        return fail(ctx, `"${raw}" is not true or false`);
      });
    case 'enum':
      return z.string().transform((raw, ctx) => {
        const v = raw.trim();
        if (!kind.values.includes(v)) return fail(ctx, `"${raw}" is not one of ${kind.values.join(', ')}`);
        return v;
      });
    case 'string':
      return z.string().transform((raw, ctx) => (raw.trim() === '' ? fail(ctx, 'must not be empty') : raw.trim()));
    case 'path':
      return z.string().transform((raw) => (raw.trim() === '' ? undefined : raw.trim()));
    case 'host':
      return z.string().transform((raw, ctx) => {
        const v = raw.trim().replace(/^\[(.*)\]$/, '$1');
        if (isIP(v) !== 0 || /^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,252})$/.test(v)) return v;
        return fail(ctx, `"${raw}" is not an IP address or host name`);
      });
    case 'secret':
      return z.string().transform((raw, ctx) => {
        const v = raw.trim();
        if (v.length < kind.minLength) return fail(ctx, `must be at least ${kind.minLength} characters (got ${v.length})`);
        return v;
      });
    case 'redis-url':
      return url(/^rediss?:\/\/[^\s]+$/, 'a redis:// or rediss://');
    case 'url':
      return url(/^https?:\/\/[^\s]+$/, 'an http:// or https://');
    case 'list':
      return z.string().transform((raw, ctx) => {
        const items = raw.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
        if (items.length === 0) return undefined;
        for (const item of items) if (!kind.values.includes(item)) return fail(ctx, `"${item}" is not one of ${kind.values.join(', ')}`);
        if (new Set(items).size !== items.length) return fail(ctx, `"${raw}" names a value twice`);
        return items;
      });
    case 'host-port-list':
      return z.string().transform((raw, ctx) => {
        const v = raw.trim();
        if (v === '') return undefined;
        const items = v.split(',').map((s) => s.trim());
        for (const item of items) {
          const m = /^(.+):([0-9]{1,5})$/.exec(item);
          if (m === null || Number(m[2]) > 65535 || Number(m[2]) === 0) return fail(ctx, `"${item}" is not host:port`);
        }
        return items;
      });
  }
}

/** Raw values by environment variable name, flags over env, as they will be parsed. */
export function mergeSources(env: Record<string, string | undefined>, flags: Record<string, string | undefined>): Map<string, { raw: string; from: string }> {
  const out = new Map<string, { raw: string; from: string }>();
  for (const spec of SETTINGS) {
    const flag = flags[spec.env];
    const fromEnv = env[spec.env];
    if (flag !== undefined) out.set(spec.env, { raw: flag, from: flagOf(spec.env) });
    else if (fromEnv !== undefined) out.set(spec.env, { raw: fromEnv, from: spec.env });
  }
  return out;
}

function parseOne(spec: SettingSpec, source: { raw: string; from: string } | undefined): Value {
  const raw = source?.raw ?? spec.default;
  if (raw === undefined) return undefined;
  const result = schemaFor(spec.kind).safeParse(raw);
  if (result.success) return result.data;
  const name = source === undefined || source.from === spec.env ? spec.env : `${source.from} (${spec.env})`;
  throw new ConfigError(spec.env, `invalid ${name}: ${result.error.issues[0]?.message ?? 'bad value'}`);
}

function readPem(setting: string, path: string): Buffer {
  try {
    const data = readFileSync(path);
    if (!data.includes('-----BEGIN')) throw new Error('not a PEM file');
    return data;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(setting, `invalid ${setting}: cannot read "${path}": ${code ?? (err as Error).message}`);
  }
}

/** ADMIN_TOKEN_FILE wins over ADMIN_TOKEN; the file's token is held to the same rule. */
function resolveAdminToken(file: string | undefined, fromEnv: string | undefined): string | undefined {
  if (file === undefined) return fromEnv;
  let token: string;
  try {
    token = readTokenFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError('ADMIN_TOKEN_FILE', `invalid ADMIN_TOKEN_FILE: cannot read "${file}": ${code ?? (err as Error).message}`);
  }
  const spec = SETTINGS.find((s) => s.env === 'ADMIN_TOKEN');
  const min = spec?.kind.type === 'secret' ? spec.kind.minLength : 16;
  if (token.length < min) throw new ConfigError('ADMIN_TOKEN_FILE', `invalid ADMIN_TOKEN_FILE: the token in "${file}" must be at least ${min} characters (got ${token.length})`);
  return token;
}

/** The jwt method's settings, or undefined when neither key source is set. */
function resolveJwt(str: (k: string) => string | undefined, num: (k: string) => number | undefined, v: Map<string, Value>): JwtSettings | undefined {
  const keyFile = str('JWT_KEY_FILE');
  const jwksUrl = str('JWT_JWKS_URL');
  if (keyFile !== undefined && jwksUrl !== undefined) throw new ConfigError('JWT_JWKS_URL', 'invalid JWT_JWKS_URL: set either JWT_KEY_FILE or JWT_JWKS_URL, not both');
  if (keyFile === undefined && jwksUrl === undefined) return undefined;
  const algorithms = v.get('JWT_ALGORITHMS') as string[] | undefined;
  const issuer = str('JWT_ISSUER');
  const audience = str('JWT_AUDIENCE');
  return {
    ...(keyFile !== undefined ? { keyFile } : {}),
    ...(jwksUrl !== undefined ? { jwksUrl } : {}),
    jwksRefreshSeconds: num('JWT_JWKS_REFRESH_SECONDS') ?? 300,
    ...(algorithms !== undefined ? { algorithms } : {}),
    leewaySeconds: num('JWT_LEEWAY_SECONDS') ?? 10,
    ...(issuer !== undefined ? { issuer } : {}),
    ...(audience !== undefined ? { audience } : {}),
    clientIdClaim: str('JWT_CLIENT_ID_CLAIM') ?? 'sub',
    usernameClaim: str('JWT_USERNAME_CLAIM') ?? 'sub',
    aclClaim: str('JWT_ACL_CLAIM') ?? 'acl',
  };
}

/** The HTTP hook's settings, or undefined when neither URL is set. */
function resolveHttpHook(str: (k: string) => string | undefined, num: (k: string) => number | undefined): HttpHookSettings | undefined {
  const authUrl = str('HTTP_AUTH_URL');
  const authzUrl = str('HTTP_AUTHZ_URL');
  if (authUrl === undefined && authzUrl === undefined) return undefined;
  return {
    ...(authUrl !== undefined ? { authUrl } : {}),
    ...(authzUrl !== undefined ? { authzUrl } : {}),
    timeoutMs: num('HTTP_AUTH_TIMEOUT_MS') ?? 2000,
    maxConcurrent: num('HTTP_AUTH_MAX_CONCURRENT') ?? 32,
    maxWaiting: num('HTTP_AUTH_MAX_WAITING') ?? 1000,
    cacheSeconds: num('HTTP_AUTH_CACHE_SECONDS') ?? 60,
    cacheSize: num('HTTP_AUTH_CACHE_SIZE') ?? 100_000,
    failMode: (str('HTTP_AUTH_FAIL') ?? 'closed') as HttpFailMode,
  };
}

const METHOD_NEEDS: Record<AuthMethodName, string> = {
  http: 'HTTP_AUTH_URL',
  certificate: 'TLS_IDENTITY',
  jwt: 'JWT_KEY_FILE or JWT_JWKS_URL',
  'password-file': 'PASSWORD_FILE',
};

/** AUTH_CHAIN as given (each method must be configured), else the configured methods in the default order. */
function resolveAuthChain(chain: AuthMethodName[] | undefined, configured: Record<AuthMethodName, boolean>): readonly AuthMethodName[] {
  if (chain === undefined) return AUTH_METHOD_NAMES.filter((name) => configured[name]);
  for (const name of chain) {
    if (!configured[name]) throw new ConfigError('AUTH_CHAIN', `invalid AUTH_CHAIN: "${name}" needs ${METHOD_NEEDS[name]}`);
  }
  return chain;
}

/**
 * Validate everything; `flags` are keyed by environment variable name. Throws ConfigError.
 * `env` is usually process.env.
 */
function readPredefined(path: string | undefined): PredefinedTopics {
  if (path === undefined) return NO_PREDEFINED_TOPICS;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('MQTTSN_PREDEFINED_TOPICS', `invalid MQTTSN_PREDEFINED_TOPICS: cannot read "${path}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return parsePredefinedTopics(text);
  } catch (err) {
    throw new ConfigError('MQTTSN_PREDEFINED_TOPICS', `invalid MQTTSN_PREDEFINED_TOPICS: "${path}" ${(err as Error).message}`);
  }
}

function parseAdvertise(value: string | undefined, seconds: number): MqttSnConfig['advertise'] {
  if (value === undefined) return undefined;
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !(port >= 1 && port <= 65535) || isIP(m[1]!) === 0) {
    throw new ConfigError('MQTTSN_ADVERTISE', `invalid MQTTSN_ADVERTISE: "${value}" is not <IP address>:<port>`);
  }
  return { address: m[1]!, port, seconds };
}

export function resolveConfig(env: Record<string, string | undefined>, flags: Record<string, string | undefined> = {}): BrokerConfig {
  const sources = mergeSources(env, flags);
  const v = new Map<string, Value>();
  for (const spec of SETTINGS) v.set(spec.env, parseOne(spec, sources.get(spec.env)));
  const num = (k: string): number | undefined => v.get(k) as number | undefined;
  const str = (k: string): string | undefined => v.get(k) as string | undefined;
  const bool = (k: string): boolean => v.get(k) === true;

  const redisUrl = str('REDIS_URL');
  const redisClusterNodes = v.get('REDIS_CLUSTER_NODES') as string[] | undefined;
  if (redisUrl !== undefined && redisClusterNodes !== undefined) {
    throw new ConfigError('REDIS_CLUSTER_NODES', 'invalid REDIS_CLUSTER_NODES: set either REDIS_URL or REDIS_CLUSTER_NODES, not both');
  }

  const tlsPort = num('MQTT_TLS_PORT');
  const wssPort = num('MQTT_WSS_PORT');
  let tls: TlsFiles | undefined;
  if (tlsPort !== undefined || wssPort !== undefined) {
    const needer = tlsPort !== undefined ? 'MQTT_TLS_PORT' : 'MQTT_WSS_PORT';
    const certPath = str('TLS_CERT');
    const keyPath = str('TLS_KEY');
    if (certPath === undefined) throw new ConfigError('TLS_CERT', `invalid TLS_CERT: required when ${needer} is set`);
    if (keyPath === undefined) throw new ConfigError('TLS_KEY', `invalid TLS_KEY: required when ${needer} is set`);
    const caPath = str('TLS_CA');
    const requireClientCert = bool('TLS_REQUIRE_CLIENT_CERT');
    if (requireClientCert && caPath === undefined) {
      throw new ConfigError('TLS_CA', 'invalid TLS_CA: required when TLS_REQUIRE_CLIENT_CERT is true');
    }
    const crlFile = str('TLS_CRL_FILE');
    tls = {
      cert: readPem('TLS_CERT', certPath),
      key: readPem('TLS_KEY', keyPath),
      ca: caPath === undefined ? undefined : readPem('TLS_CA', caPath),
      requireClientCert,
      requestClientCert: str('TLS_IDENTITY') !== 'off',
      crlFile,
      crl: crlFile === undefined ? undefined : readPem('TLS_CRL_FILE', crlFile),
    };
  }
  const tlsIdentity = str('TLS_IDENTITY') === 'off' ? undefined : (str('TLS_IDENTITY') as TlsIdentity);
  if (tlsIdentity !== undefined && tls?.ca === undefined) {
    throw new ConfigError('TLS_IDENTITY', 'invalid TLS_IDENTITY: needs TLS_CA and MQTT_TLS_PORT or MQTT_WSS_PORT (client certificates are verified against TLS_CA)');
  }
  const jwt = resolveJwt(str, num, v);
  const httpHook = resolveHttpHook(str, num);
  const proxied = v.get('PROXY_PROTOCOL_LISTENERS') as ProxiedListener[] | undefined;
  if (bool('PROXY_PROTOCOL') && proxied === undefined) throw new ConfigError('PROXY_PROTOCOL_LISTENERS', 'invalid PROXY_PROTOCOL_LISTENERS: PROXY_PROTOCOL is on and no listener is named');
  const proxyProtocol: readonly ProxiedListener[] = bool('PROXY_PROTOCOL') ? (proxied ?? []) : [];
  const authChain = resolveAuthChain(v.get('AUTH_CHAIN') as AuthMethodName[] | undefined, {
    certificate: tlsIdentity !== undefined,
    jwt: jwt !== undefined,
    http: httpHook?.authUrl !== undefined,
    'password-file': str('PASSWORD_FILE') !== undefined,
  });

  const grpcPort = num('GRPC_PORT');
  const grpcHost = str('GRPC_HOST') ?? '127.0.0.1';
  const adminToken = resolveAdminToken(str('ADMIN_TOKEN_FILE'), str('ADMIN_TOKEN'));
  // An admin API reachable from the network without a token is never the silent default.
  if (grpcPort !== undefined && adminToken === undefined && !isLoopbackHost(grpcHost)) {
    throw new ConfigError(
      'GRPC_HOST',
      `invalid GRPC_HOST: "${grpcHost}" is not a loopback address and neither ADMIN_TOKEN nor ADMIN_TOKEN_FILE is set (anyone reaching GRPC_PORT could kick clients and publish)`,
    );
  }
  let adminTls: BrokerConfig['adminTls'];
  if (grpcPort !== undefined && bool('ADMIN_TLS')) {
    const certPath = str('TLS_CERT');
    const keyPath = str('TLS_KEY');
    if (certPath === undefined) throw new ConfigError('TLS_CERT', 'invalid TLS_CERT: required when ADMIN_TLS is true');
    if (keyPath === undefined) throw new ConfigError('TLS_KEY', 'invalid TLS_KEY: required when ADMIN_TLS is true');
    adminTls = tls !== undefined ? { cert: tls.cert, key: tls.key } : { cert: readPem('TLS_CERT', certPath), key: readPem('TLS_KEY', keyPath) };
  }

  const mqttsnPort = num('MQTTSN_PORT');
  const mqttsn: MqttSnConfig | undefined =
    mqttsnPort === undefined
      ? undefined
      : {
          port: mqttsnPort,
          gatewayId: num('MQTTSN_GATEWAY_ID') ?? 1,
          predefined: readPredefined(str('MQTTSN_PREDEFINED_TOPICS')),
          clientsFile: str('MQTTSN_CLIENTS'),
          advertise: parseAdvertise(str('MQTTSN_ADVERTISE'), num('MQTTSN_ADVERTISE_SECONDS') ?? 900),
          retryMs: num('MQTTSN_RETRY_MS') ?? 10_000,
          maxRetries: num('MQTTSN_MAX_RETRIES') ?? 3,
          maxDatagramBytes: num('MQTTSN_MAX_DATAGRAM_BYTES') ?? 2048,
          ratePerAddress: num('MQTTSN_RATE_PER_ADDRESS') ?? 500,
          maxClientsPerAddress: num('MQTTSN_MAX_CLIENTS_PER_ADDRESS') ?? 1000,
        };

  const limits: Record<string, number | string> = {};
  for (const spec of SETTINGS) {
    const value = v.get(spec.env);
    if (spec.limit !== undefined && value !== undefined) limits[spec.limit] = value as number | string;
  }

  return {
    host: str('MQTT_HOST') ?? '0.0.0.0',
    mqttPort: num('MQTT_PORT'),
    wsPort: num('MQTT_WS_PORT'),
    tlsPort,
    wssPort,
    mqttsn,
    httpPort: num('HTTP_PORT'),
    grpcPort,
    grpcHost,
    adminToken,
    adminTls,
    tls,
    proxyProtocol,
    wsEngine: (str('WS_ENGINE') ?? 'auto') as WebSocketEngineSetting,
    nodeId: str('NODE_ID') ?? `${hostname()}-${randomBytes(3).toString('hex')}`,
    allowAnonymous: bool('ALLOW_ANONYMOUS'),
    passwordFile: str('PASSWORD_FILE'),
    aclFile: str('ACL_FILE'),
    authChain,
    jwt,
    httpHook,
    tlsIdentity,
    logLevel: (str('LOG_LEVEL') ?? 'info') as LogLevel,
    drainSeconds: num('DRAIN_SECONDS') ?? 10,
    drainWillGraceSeconds: num('DRAIN_WILL_GRACE_SECONDS') ?? 30,
    serverReference: str('SERVER_REFERENCE'),
    sysIntervalSeconds: num('SYS_INTERVAL_SECONDS') ?? 10,
    limits: limits as Partial<BrokerLimits>,
    redisUrl,
    redisClusterNodes: redisClusterNodes?.map((item) => {
      const i = item.lastIndexOf(':');
      return { host: item.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(item.slice(i + 1)) };
    }),
    clusterHeartbeatTtlMs: num('CLUSTER_HEARTBEAT_TTL_MS') ?? 5000,
    adminFanoutTimeoutMs: num('ADMIN_FANOUT_TIMEOUT_MS') ?? 2000,
  };
}
