/**
 * Every setting of the broker node, once: environment variable, CLI flag, default, meaning and
 * value kind. The CLI (--help), the config parser and the README are all derived from this table.
 */

import { WS_ENGINE_SETTINGS } from '@mqtt-broker/transport';

export type SettingKind =
  | { type: 'port' }
  | { type: 'int'; min: number; max: number }
  | { type: 'bool' }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'string' }
  | { type: 'path' }
  | { type: 'host' }
  | { type: 'redis-url' }
  | { type: 'host-port-list' }
  /** An http:// or https:// URL. */
  | { type: 'url' }
  /** Comma-separated values, each one of `values`, no repeats. */
  | { type: 'list'; values: readonly string[] }
  /** A credential: never echoed in errors; at least `minLength` characters. */
  | { type: 'secret'; minLength: number };

export interface SettingSpec {
  /** Environment variable name; the flag is `--` + its kebab-case. */
  readonly env: string;
  /** Default as written in the environment, or undefined when unset by default. */
  readonly default: string | undefined;
  /** Shown in --help where the default is computed (e.g. the core's limit defaults). */
  readonly defaultText?: string;
  readonly description: string;
  readonly kind: SettingKind;
  /** The BrokerLimits field it sets, for limit settings. */
  readonly limit?: string;
}

/** The listeners PROXY_PROTOCOL_LISTENERS names (the MQTT-SN gateway is UDP: no PROXY protocol). */
export const PROXY_PROTOCOL_LISTENERS = ['tcp', 'tls', 'ws', 'wss'] as const;
export type ProxiedListener = (typeof PROXY_PROTOCOL_LISTENERS)[number];

/** The names AUTH_CHAIN accepts; the default chain is these, in this order, those configured. */
export const AUTH_METHOD_NAMES = ['certificate', 'jwt', 'password-file', 'http'] as const;
/** The algorithms JWT_ALGORITHMS accepts (what @mqtt-broker/auth verifies). */
const JWT_ALGORITHM_NAMES = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'EdDSA'];

export function flagOf(env: string): string {
  return `--${env.toLowerCase().replaceAll('_', '-')}`;
}

const U32 = 0xffffffff;
const port: SettingKind = { type: 'port' };
const int = (min: number, max: number): SettingKind => ({ type: 'int', min, max });

export const SETTINGS: readonly SettingSpec[] = [
  { env: 'MQTT_HOST', default: '0.0.0.0', description: "bind address of every listener, MQTT and HTTP ('::' for dual stack IPv4+IPv6)", kind: { type: 'host' } },
  { env: 'MQTT_PORT', default: '1883', description: "MQTT over TCP port ('off' disables)", kind: port },
  { env: 'MQTT_WS_PORT', default: '8083', description: "MQTT over WebSocket port, path /mqtt ('off' disables)", kind: port },
  { env: 'MQTT_TLS_PORT', default: 'off', description: 'MQTT over TLS port; needs TLS_CERT and TLS_KEY', kind: port },
  { env: 'MQTT_WSS_PORT', default: 'off', description: 'MQTT over secure WebSocket port, path /mqtt; needs TLS_CERT and TLS_KEY', kind: port },
  { env: 'MQTTSN_PORT', default: 'off', description: 'MQTT-SN 1.2 gateway UDP port (docs/mqtt-sn.md)', kind: port },
  { env: 'MQTTSN_GATEWAY_ID', default: '1', description: 'MQTT-SN: GwId sent in ADVERTISE and GWINFO', kind: int(0, 255) },
  {
    env: 'MQTTSN_PREDEFINED_TOPICS',
    default: undefined,
    description: 'MQTT-SN: file of predefined topic ids, "<id> <topic>" per line (give every node the same file)',
    kind: { type: 'path' },
  },
  {
    env: 'MQTTSN_CLIENTS',
    default: undefined,
    description: 'MQTT-SN: allowed client ids, "<client id>[*] [password-file user]" per line; unlisted ids only when ALLOW_ANONYMOUS; a named user must be in PASSWORD_FILE when that is set (reloaded on SIGHUP)',
    kind: { type: 'path' },
  },
  { env: 'MQTTSN_ADVERTISE', default: undefined, description: 'MQTT-SN: host:port (broadcast or multicast) to send ADVERTISE to', kind: { type: 'string' } },
  { env: 'MQTTSN_ADVERTISE_SECONDS', default: '900', description: 'MQTT-SN: ADVERTISE interval (its Duration field)', kind: int(1, 65535) },
  { env: 'MQTTSN_RETRY_MS', default: '10000', description: 'MQTT-SN: Tretry, wait before a gateway PUBLISH, PUBREL or REGISTER is sent again', kind: int(50, 600_000) },
  { env: 'MQTTSN_MAX_RETRIES', default: '3', description: 'MQTT-SN: Nretry, retransmissions before the client is taken as lost (its will goes out)', kind: int(0, 100) },
  { env: 'MQTTSN_MAX_DATAGRAM_BYTES', default: '2048', description: 'MQTT-SN: larger datagrams are dropped unread', kind: int(16, 65535) },
  { env: 'MQTTSN_RATE_PER_ADDRESS', default: '500', description: 'MQTT-SN: datagrams per second from one source address (0 unlimited; excess dropped)', kind: int(0, 10_000_000) },
  { env: 'MQTTSN_MAX_CLIENTS_PER_ADDRESS', default: '1000', description: 'MQTT-SN: clients behind one source address (a forwarder carries many)', kind: int(1, 10_000_000) },
  { env: 'HTTP_PORT', default: '9090', description: "HTTP port for /metrics, /healthz, /readyz ('off' disables)", kind: port },
  { env: 'GRPC_PORT', default: '9100', description: "gRPC admin API port ('off' disables)", kind: port },
  {
    env: 'GRPC_HOST',
    default: '127.0.0.1',
    description: 'bind address of the gRPC admin API; other than loopback, ADMIN_TOKEN or ADMIN_TOKEN_FILE is required',
    kind: { type: 'host' },
  },
  {
    env: 'ADMIN_TOKEN',
    default: undefined,
    description: 'bearer token every admin API call must carry (metadata authorization: Bearer <token>), 16+ characters',
    kind: { type: 'secret', minLength: 16 },
  },
  { env: 'ADMIN_TOKEN_FILE', default: undefined, description: 'file holding ADMIN_TOKEN (e.g. a mounted Kubernetes Secret); wins over ADMIN_TOKEN', kind: { type: 'path' } },
  { env: 'ADMIN_TLS', default: 'false', description: 'serve the admin API over TLS with TLS_CERT and TLS_KEY', kind: { type: 'bool' } },
  { env: 'TLS_CERT', default: undefined, description: 'PEM certificate chain file for the TLS and WSS listeners', kind: { type: 'path' } },
  { env: 'TLS_KEY', default: undefined, description: 'PEM private key file for the TLS and WSS listeners', kind: { type: 'path' } },
  { env: 'TLS_CA', default: undefined, description: 'PEM CA bundle used to verify client certificates', kind: { type: 'path' } },
  {
    env: 'TLS_REQUIRE_CLIENT_CERT',
    default: 'false',
    description: 'require a client certificate signed by TLS_CA on TLS/WSS; its CN is given to the authenticator',
    kind: { type: 'bool' },
  },
  {
    env: 'TLS_IDENTITY',
    default: 'off',
    description: "certificate method: a verified client certificate's subject CN, first SAN DNS name or first SAN URI is the user name (ACL file user and %u rules apply); needs TLS_CA",
    kind: { type: 'enum', values: ['off', 'cn', 'san-dns', 'san-uri'] },
  },
  { env: 'TLS_CRL_FILE', default: undefined, description: 'PEM certificate revocation list for client certificates (reloaded on SIGHUP)', kind: { type: 'path' } },
  {
    env: 'WS_ENGINE',
    default: 'auto',
    description: "WebSocket listeners' engine: uws (uWebSockets.js), ws, or auto: uws where it loads, else ws (ws also for WSS with TLS_REQUIRE_CLIENT_CERT and for PROXY_PROTOCOL on a WebSocket listener)",
    kind: { type: 'enum', values: WS_ENGINE_SETTINGS },
  },
  { env: 'PROXY_PROTOCOL', default: 'false', description: 'expect a PROXY protocol v1/v2 header first on every connection of the PROXY_PROTOCOL_LISTENERS', kind: { type: 'bool' } },
  {
    env: 'PROXY_PROTOCOL_LISTENERS',
    default: PROXY_PROTOCOL_LISTENERS.join(','),
    description: 'with PROXY_PROTOCOL: the listeners that read the header (tcp, tls, ws, wss; e.g. tcp,tls when WebSocket comes through an HTTP ingress)',
    kind: { type: 'list', values: PROXY_PROTOCOL_LISTENERS },
  },
  { env: 'REDIS_URL', default: undefined, description: 'redis://... : cluster mode over one Redis (docs/cluster.md)', kind: { type: 'redis-url' } },
  {
    env: 'REDIS_CLUSTER_NODES',
    default: undefined,
    description: 'host:port,... : cluster mode over Redis Cluster (docs/cluster.md)',
    kind: { type: 'host-port-list' },
  },
  {
    env: 'CLUSTER_HEARTBEAT_TTL_MS',
    default: '5000',
    description: 'cluster: a node is declared dead this long after its last heartbeat (its wills and sessions are taken over)',
    kind: int(300, 600_000),
  },
  {
    env: 'ADMIN_FANOUT_TIMEOUT_MS',
    default: '2000',
    description: 'cluster: how long an admin API call waits for each other node (one that does not answer is reported unreachable)',
    kind: int(50, 60_000),
  },
  { env: 'NODE_ID', default: undefined, defaultText: 'hostname-<random>', description: "this node's name ($SYS topics, cluster)", kind: { type: 'string' } },
  { env: 'ALLOW_ANONYMOUS', default: 'true', description: 'false: every client must authenticate', kind: { type: 'bool' } },
  { env: 'PASSWORD_FILE', default: undefined, description: 'users and password hashes, mosquitto_passwd format (reloaded on SIGHUP)', kind: { type: 'path' } },
  { env: 'ACL_FILE', default: undefined, description: 'topic access rules, Mosquitto acl_file format (reloaded on SIGHUP)', kind: { type: 'path' } },
  {
    env: 'AUTH_CHAIN',
    default: undefined,
    defaultText: 'certificate,jwt,password-file,http (those configured)',
    description: 'authentication methods in the order tried; the first that knows the client decides (docs/security.md)',
    kind: { type: 'list', values: AUTH_METHOD_NAMES },
  },
  {
    env: 'JWT_KEY_FILE',
    default: undefined,
    description: 'jwt method: PEM public key or certificate, JWK / JWK set (JSON) or HMAC secret (32+ bytes) the tokens are verified with (reloaded on SIGHUP)',
    kind: { type: 'path' },
  },
  { env: 'JWT_JWKS_URL', default: undefined, description: 'jwt method: JWK set URL (instead of JWT_KEY_FILE), cached, refetched on an unknown kid, used stale while down', kind: { type: 'url' } },
  { env: 'JWT_JWKS_REFRESH_SECONDS', default: '300', description: 'jwt method: a JWK set older than this is refetched in the background', kind: int(1, 86400) },
  {
    env: 'JWT_ALGORITHMS',
    default: undefined,
    defaultText: "the key's (HS* for a secret, RS*/ES*/EdDSA for a public key)",
    description: 'jwt method: signature algorithms accepted',
    kind: { type: 'list', values: JWT_ALGORITHM_NAMES },
  },
  { env: 'JWT_LEEWAY_SECONDS', default: '10', description: 'jwt method: clock skew allowed on exp, nbf and iat', kind: int(0, 3600) },
  { env: 'JWT_ISSUER', default: undefined, description: 'jwt method: required iss claim', kind: { type: 'string' } },
  { env: 'JWT_AUDIENCE', default: undefined, description: 'jwt method: required aud claim (one of the token\'s audiences)', kind: { type: 'string' } },
  { env: 'JWT_CLIENT_ID_CLAIM', default: 'sub', description: 'jwt method: claim that must equal the client id', kind: { type: 'string' } },
  { env: 'JWT_USERNAME_CLAIM', default: 'sub', description: 'jwt method: claim that becomes the user name (ACL file user and %u rules)', kind: { type: 'string' } },
  { env: 'JWT_ACL_CLAIM', default: 'acl', description: 'jwt method: claim with the client\'s own topic rules {"pub":[...],"sub":[...]} (%c, %u substituted)', kind: { type: 'string' } },
  { env: 'HTTP_AUTH_URL', default: undefined, description: 'http method: URL every CONNECT is POSTed to as JSON; the answer allows, denies or ignores (docs/security.md)', kind: { type: 'url' } },
  {
    env: 'HTTP_AUTHZ_URL',
    default: undefined,
    description: 'HTTP hook: URL each PUBLISH topic and SUBSCRIBE filter is POSTed to before it is acted on; ignore falls back to the claim ACL / ACL_FILE',
    kind: { type: 'url' },
  },
  { env: 'HTTP_AUTH_TIMEOUT_MS', default: '2000', description: 'HTTP hook: one request at most, waiting for a free slot included', kind: int(50, 60_000) },
  { env: 'HTTP_AUTH_MAX_CONCURRENT', default: '32', description: 'HTTP hook: requests in flight at most (keep-alive connections per URL origin)', kind: int(1, 1024) },
  { env: 'HTTP_AUTH_MAX_WAITING', default: '1000', description: 'HTTP hook: requests waiting for a free slot at most; beyond, no verdict (HTTP_AUTH_FAIL)', kind: int(0, 1_000_000) },
  { env: 'HTTP_AUTH_CACHE_SECONDS', default: '60', description: 'HTTP hook: how long an allow or deny is reused (0: every CONNECT, PUBLISH and SUBSCRIBE asks)', kind: int(0, 86400) },
  { env: 'HTTP_AUTH_CACHE_SIZE', default: '100000', description: 'HTTP hook: answers cached at most, per URL (the oldest goes)', kind: int(1, 10_000_000) },
  {
    env: 'HTTP_AUTH_FAIL',
    default: 'closed',
    description: 'HTTP hook down, slow, busy or answering garbage: closed = refuse (CONNACK 0x88 / 3, PUBACK / SUBACK 0x87), next = as if it answered ignore',
    kind: { type: 'enum', values: ['closed', 'next'] },
  },
  {
    env: 'LOG_LEVEL',
    default: 'info',
    description: 'log level',
    kind: { type: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
  },
  { env: 'DRAIN_SECONDS', default: '10', description: 'graceful shutdown window: clients are disconnected over this time on SIGTERM', kind: int(0, 3600) },
  {
    env: 'DRAIN_WILL_GRACE_SECONDS',
    default: '30',
    description: 'cluster: the will of a client disconnected by a drain is published only if the client has not reconnected within max(this, its Will Delay Interval)',
    kind: int(0, 86400),
  },
  {
    env: 'SERVER_REFERENCE',
    default: undefined,
    description: 'on drain, 5.0 clients get DISCONNECT 0x9C (use another server) with this Server Reference instead of 0x8B',
    kind: { type: 'string' },
  },
  { env: 'SYS_INTERVAL_SECONDS', default: '10', description: '$SYS/broker/... publishing interval (0 disables)', kind: int(0, 86400) },
  { env: 'MAX_CONNECTIONS', default: undefined, limit: 'maxConnections', description: 'connected clients at most', kind: int(1, 10_000_000) },
  {
    env: 'MAX_PACKET_SIZE',
    default: undefined,
    limit: 'maxPacketSize',
    description: 'largest packet accepted from a client, bytes',
    kind: int(64, 268_435_460),
  },
  { env: 'MAX_INFLIGHT', default: undefined, limit: 'maxInflight', description: 'outgoing QoS 1/2 messages in flight per client', kind: int(1, 65535) },
  {
    env: 'RECEIVE_MAXIMUM',
    default: undefined,
    limit: 'receiveMaximum',
    description: 'incoming QoS 1/2 messages in flight per client (advertised Receive Maximum)',
    kind: int(1, 65535),
  },
  { env: 'MAX_QUEUED_MESSAGES', default: undefined, limit: 'maxQueuedMessages', description: 'messages queued per session', kind: int(0, 10_000_000) },
  {
    env: 'QUEUE_OVERFLOW',
    default: undefined,
    limit: 'queueOverflow',
    description: 'which message is dropped when a session queue is full',
    kind: { type: 'enum', values: ['drop_oldest', 'drop_newest'] },
  },
  { env: 'MAX_TOPIC_LENGTH', default: undefined, limit: 'maxTopicLength', description: 'longest topic name or filter, bytes', kind: int(1, 65535) },
  { env: 'MAX_TOPIC_LEVELS', default: undefined, limit: 'maxTopicLevels', description: 'most levels in a topic name or filter', kind: int(1, 65535) },
  {
    env: 'MAX_SUBSCRIPTIONS_PER_CLIENT',
    default: undefined,
    limit: 'maxSubscriptionsPerClient',
    description: 'subscriptions per client at most',
    kind: int(1, 10_000_000),
  },
  {
    env: 'PUBLISH_RATE_PER_CLIENT',
    default: undefined,
    limit: 'publishRatePerClient',
    description: 'PUBLISH packets per second per client (0 unlimited; excess pauses reading)',
    kind: int(0, 10_000_000),
  },
  {
    env: 'QUOTA_MESSAGES_PER_SECOND',
    default: undefined,
    limit: 'quotaMessagesPerSecond',
    description: 'inbound PUBLISH per second per connection (0 none); over: 5.0 DISCONNECT 0x96, 3.1.1 closed after QUOTA_GRACE_SECONDS (docs/security.md)',
    kind: int(0, 10_000_000),
  },
  {
    env: 'QUOTA_BYTES_PER_SECOND',
    default: undefined,
    limit: 'quotaBytesPerSecond',
    description: 'inbound topic + payload bytes per second per connection (0 none); over: 5.0 DISCONNECT 0x97, 3.1.1 as above',
    kind: int(0, 2_000_000_000),
  },
  {
    env: 'QUOTA_USER_MESSAGES_PER_SECOND',
    default: undefined,
    limit: 'quotaUserMessagesPerSecond',
    description: 'as QUOTA_MESSAGES_PER_SECOND, shared by all connections of one user name on this node (per node, not cluster-wide)',
    kind: int(0, 10_000_000),
  },
  {
    env: 'QUOTA_USER_BYTES_PER_SECOND',
    default: undefined,
    limit: 'quotaUserBytesPerSecond',
    description: 'as QUOTA_BYTES_PER_SECOND, shared by all connections of one user name on this node (per node, not cluster-wide)',
    kind: int(0, 2_000_000_000),
  },
  {
    env: 'QUOTA_BURST_SECONDS',
    default: undefined,
    limit: 'quotaBurstSeconds',
    description: 'burst of each quota and of CONNECT_RATE_PER_ADDRESS, in seconds of its rate (a bytes quota x this must exceed the largest PUBLISH)',
    kind: int(1, 3600),
  },
  {
    env: 'QUOTA_GRACE_SECONDS',
    default: undefined,
    limit: 'quotaGraceSeconds',
    description: 'seconds a 3.1.1 client may stay over a quota (its excess messages dropped) before it is closed; 0: closed at once',
    kind: int(0, 3600),
  },
  {
    env: 'CONNECT_RATE_PER_ADDRESS',
    default: undefined,
    limit: 'connectRatePerAddress',
    description: 'CONNECTs per second from one source address (0 unlimited); over: 5.0 CONNACK 0x9F, 3.1.1 closed',
    kind: int(0, 1_000_000),
  },
  {
    env: 'TOPIC_ALIAS_MAXIMUM',
    default: undefined,
    limit: 'topicAliasMaximum',
    description: 'Topic Alias Maximum advertised to 5.0 clients (0 disables)',
    kind: int(0, 65535),
  },
  {
    env: 'CONNECT_TIMEOUT_SECONDS',
    default: undefined,
    limit: 'connectTimeoutSeconds',
    description: 'seconds a new socket may stay silent before its CONNECT',
    kind: int(1, 3600),
  },
  {
    env: 'MAX_SESSION_EXPIRY_SECONDS',
    default: undefined,
    limit: 'maxSessionExpirySeconds',
    description: 'upper bound of session expiry intervals (4294967295 = never expire)',
    kind: int(0, U32),
  },
  {
    env: 'MAX_KEEP_ALIVE_SECONDS',
    default: undefined,
    limit: 'maxKeepAliveSeconds',
    description: 'keep alive imposed when a client asks for more or for 0 (0 = accept the client value)',
    kind: int(0, 65535),
  },
];
