/**
 * Wires one broker node: metrics and logs (observer), auth from files, the core engine, the HTTP
 * endpoints, then every enabled listener. Readiness turns true once all listeners are bound and
 * false again when a shutdown starts. A listener that cannot bind fails the start with a
 * StartupError naming its setting; whatever was already started is closed first.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { type AdminServer, startAdminServer } from '@mqtt-broker/admin-api';
import { type Broker, createAdminFacade, createBroker, DEFAULT_LIMITS } from '@mqtt-broker/core';
import {
  chooseWebSocketEngine,
  ListenError,
  type Listener,
  listenTcp,
  listenTls,
  listenWebSocket,
  type TlsSettings,
  type WebSocketEngineChoice,
  WebSocketEngineError,
} from '@mqtt-broker/transport';
import type { Logger } from 'pino';
import { type AuthSettings, createAuthLoader } from './auth-setup.js';
import { type ClusterMode, clusterConfigured, createClusterMode } from './cluster.js';
import type { BrokerConfig } from './config.js';
import { registerHttpHookMetrics } from './http-hook-metrics.js';
import { type HttpEndpoints, startHttpServer } from './http-server.js';
import { BrokerMetrics } from './metrics.js';
import { startMqttSn } from './mqttsn.js';
import { createObserver, createTransportEvents } from './observer.js';

/** A listener (or the HTTP server) could not start; `setting` names the variable to fix. */
export class StartupError extends Error {
  readonly setting: string;
  constructor(setting: string, message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'StartupError';
    this.setting = setting;
  }
}

/** How long a shutdown may take beyond DRAIN_SECONDS before the node stops with what is still pending. */
const SHUTDOWN_GRACE_MS = 4000;

export interface RunningNode {
  readonly config: BrokerConfig;
  readonly broker: Broker;
  readonly metrics: BrokerMetrics;
  readonly listeners: readonly Listener[];
  /** Bound HTTP port, undefined when HTTP_PORT is off. */
  readonly httpPort: number | undefined;
  /** Bound gRPC admin API port, undefined when GRPC_PORT is off. */
  readonly grpcPort: number | undefined;
  isReady(): boolean;
  /** Re-read PASSWORD_FILE, ACL_FILE, JWT_KEY_FILE and TLS_CRL_FILE; on failure keep the old ones, log, resolve false. */
  reloadAuth(): Promise<boolean>;
  /** Unready, stop accepting, drain clients over DRAIN_SECONDS, close everything. */
  shutdown(): Promise<void>;
}

export function brokerVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function describeListenError(setting: string, err: ListenError | NodeJS.ErrnoException, port: number): string {
  const description = err instanceof ListenError ? err.description : err.code === 'EADDRINUSE' ? 'address already in use' : (err.code ?? err.message);
  return `${setting} ${port}: ${description}`;
}

/** The WebSocket engine (WS_ENGINE) when a WS or WSS listener is on; WS_ENGINE=uws that cannot run fails the start. */
function chooseWebSocket(config: BrokerConfig): WebSocketEngineChoice | undefined {
  const wss = config.wssPort !== undefined && config.tls !== undefined;
  if (config.wsPort === undefined && !wss) return undefined;
  try {
    const proxied = (config.wsPort !== undefined && config.proxyProtocol.includes('ws')) || (wss && config.proxyProtocol.includes('wss'));
    return chooseWebSocketEngine(config.wsEngine, { clientCertificates: wss && config.tls?.requireClientCert === true, proxyProtocol: proxied });
  } catch (err) {
    if (err instanceof WebSocketEngineError) throw new StartupError('WS_ENGINE', err.message, err);
    throw err;
  }
}

export async function startNode(config: BrokerConfig, log: Logger): Promise<RunningNode> {
  // First: a WS_ENGINE that cannot run fails the start before anything is opened.
  const websocket = chooseWebSocket(config);
  const metrics = new BrokerMetrics();
  if (websocket !== undefined) metrics.setWebSocketEngine(websocket.engine.name);
  const observer = createObserver(metrics, log);
  const events = createTransportEvents(metrics, log);
  const authSettings: AuthSettings = {
    allowAnonymous: config.allowAnonymous,
    passwordFile: config.passwordFile,
    aclFile: config.aclFile,
    chain: config.authChain,
    ...(config.jwt !== undefined ? { jwt: config.jwt } : {}),
    ...(config.tlsIdentity !== undefined ? { tlsIdentity: config.tlsIdentity } : {}),
    mqttsnClientsFile: config.mqttsn?.clientsFile,
    ...(config.httpHook !== undefined ? { httpHook: config.httpHook } : {}),
  };
  const hookMetrics = registerHttpHookMetrics(metrics.registry);
  const authLoader = createAuthLoader(authSettings, {
    onRefusal: (r) => {
      metrics.authRefused(r.method, r.reason);
      log.info({ event: 'auth_refused', method: r.method, reason: r.reason, reasonCode: r.reasonCode, clientId: r.clientId, username: r.username, address: r.address }, `client refused by ${r.method}: ${r.reason}`);
    },
    onJwksError: (url, err) => log.warn({ event: 'jwks_fetch_failed', url, err: err.message }, 'JWT_JWKS_URL could not be fetched; the last key set (if any) stays in use'),
    onHttpRequest: (kind, outcome, seconds) => {
      hookMetrics.request(kind, outcome, seconds);
      if (outcome !== 'allow' && outcome !== 'deny' && outcome !== 'ignore') log.warn({ event: 'http_hook_failed', kind, outcome, seconds }, `HTTP auth hook gave no verdict (${outcome}); HTTP_AUTH_FAIL decides`);
    },
    onHttpCacheHit: (kind) => hookMetrics.cacheHit(kind),
  });
  const auth = await authLoader.load();
  await authLoader.jwks?.prefetch();
  let mqttsnClients = auth.mqttsnClients;
  const cluster: ClusterMode | undefined = clusterConfigured(config) ? createClusterMode(config, log, metrics.registry) : undefined;
  // [cluster] a previous run of this node id that left (drain) is adopted by a survivor first
  await cluster?.awaitPreviousRun().catch((err: unknown) => log.warn({ err }, 'could not check for a previous run of this node id'));
  const broker = createBroker({
    ...(cluster !== undefined ? { ports: cluster.ports, durable: cluster.durable, onPortError: (err: unknown) => log.debug({ err }, 'cluster port error') } : {}),
    nodeId: config.nodeId,
    version: brokerVersion(),
    limits: config.limits,
    observer,
    authenticator: auth.authenticator,
    ...(auth.authorizer !== undefined ? { authorizer: auth.authorizer } : {}),
    sysIntervalSeconds: config.sysIntervalSeconds,
  });
  metrics.setStatsSource(() => broker.stats());
  // [cluster] admin calls are answered for every node; this node also answers the others' fan-out
  const localAdmin = createAdminFacade(broker, { runtime: process.version, ...(websocket !== undefined ? { websocketEngine: websocket.engine.name } : {}) });
  const adminFacade = cluster !== undefined ? cluster.adminFacade(localAdmin) : localAdmin;
  let listening = false;
  let draining = false;
  // [cluster] /readyz also needs Redis connected and the route replica loaded
  const isReady = (): boolean => listening && !draining && (cluster === undefined || cluster.isReady());
  const clusterSynced = cluster?.synced().catch((err: unknown) => log.error({ err }, 'cluster sync failed'));
  metrics.setReady(false);

  const listeners: Listener[] = [];
  let tls: TlsSettings | undefined;
  let http: HttpEndpoints | undefined;
  let admin: AdminServer | undefined;
  const closeAll = async (): Promise<void> => {
    await Promise.allSettled(listeners.map((l) => l.close()));
    await admin?.close();
    await broker.close();
    await cluster?.close();
    await http?.close();
    await authLoader.close();
  };

  try {
    if (config.httpPort !== undefined) {
      try {
        http = await startHttpServer({
          host: config.host,
          port: config.httpPort,
          metrics,
          isReady,
          onError: (err) => log.error({ err }, 'HTTP server error'),
        });
      } catch (err) {
        throw new StartupError('HTTP_PORT', describeListenError('HTTP_PORT', err as NodeJS.ErrnoException, config.httpPort), err);
      }
    }
    if (config.grpcPort !== undefined) {
      try {
        admin = await startAdminServer({
          host: config.grpcHost,
          port: config.grpcPort,
          facade: adminFacade,
          ...(config.adminToken !== undefined ? { token: config.adminToken } : {}),
          ...(config.adminTls !== undefined ? { tls: config.adminTls } : {}),
          onError: (err, method) => log.error({ err, method }, 'admin API call failed'),
          onAuthFailure: (method, peer, reason) => log.warn({ event: 'admin_auth_failed', method, peer, reason }, 'admin API call refused: bad token'),
        });
      } catch (err) {
        const message = (err as Error).message;
        const description = message.includes('EADDRINUSE') ? 'address already in use' : message.includes('EACCES') ? 'permission denied' : message;
        throw new StartupError('GRPC_PORT', `GRPC_PORT ${config.grpcPort}: ${description}`, err);
      }
    }
    tls =
      config.tls === undefined
        ? undefined
        : {
            cert: config.tls.cert,
            key: config.tls.key,
            ...(config.tls.ca !== undefined ? { ca: config.tls.ca } : {}),
            ...(config.tls.crl !== undefined ? { crl: config.tls.crl } : {}),
            requireClientCert: config.tls.requireClientCert,
            requestClientCert: config.tls.requestClientCert,
          };
    const maxPacket = config.limits.maxPacketSize ?? DEFAULT_LIMITS.maxPacketSize;
    const maxMessageBytes = Math.max(2 * maxPacket, 1024 * 1024);
    const common = { host: config.host, acceptor: broker, events };
    const starts: Array<{ setting: string; port: number; start: () => Promise<Listener> }> = [];
    if (config.mqttPort !== undefined) {
      const port = config.mqttPort;
      starts.push({ setting: 'MQTT_PORT', port, start: () => listenTcp({ ...common, port, proxyProtocol: config.proxyProtocol.includes('tcp') }) });
    }
    if (config.tlsPort !== undefined && tls !== undefined) {
      const port = config.tlsPort;
      const settings = tls;
      starts.push({ setting: 'MQTT_TLS_PORT', port, start: () => listenTls({ ...common, port, tls: settings, proxyProtocol: config.proxyProtocol.includes('tls') }) });
    }
    const engine = websocket?.engine;
    if (config.wsPort !== undefined && engine !== undefined) {
      const port = config.wsPort;
      starts.push({ setting: 'MQTT_WS_PORT', port, start: () => listenWebSocket({ ...common, port, maxMessageBytes, engine, proxyProtocol: config.proxyProtocol.includes('ws') }) });
    }
    if (config.wssPort !== undefined && tls !== undefined && engine !== undefined) {
      const port = config.wssPort;
      const settings = tls;
      starts.push({ setting: 'MQTT_WSS_PORT', port, start: () => listenWebSocket({ ...common, port, tls: settings, maxMessageBytes, engine, proxyProtocol: config.proxyProtocol.includes('wss') }) });
    }
    const mqttsn = config.mqttsn;
    if (mqttsn !== undefined) {
      const start = async (): Promise<Listener> =>
        (
          await startMqttSn({
            config: mqttsn,
            host: config.host,
            nodeId: config.nodeId,
            broker,
            registry: metrics.registry,
            log,
            events,
            clients: () => mqttsnClients,
          })
        ).listener;
      starts.push({ setting: 'MQTTSN_PORT', port: mqttsn.port, start });
    }
    for (const s of starts) {
      try {
        listeners.push(await s.start());
      } catch (err) {
        if (err instanceof ListenError) throw new StartupError(s.setting, describeListenError(s.setting, err, s.port), err);
        throw err;
      }
    }
  } catch (err) {
    await closeAll();
    throw err;
  }

  listening = true;
  if (cluster !== undefined) {
    await cluster.start();
    void clusterSynced?.then(() => log.info({ event: 'cluster_synced', nodeId: config.nodeId }, 'cluster routes synced'));
  }
  metrics.setReady(true);
  const summary = listeners.map((l) => `${l.transport} ${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`);
  if (http !== undefined) summary.push(`http ${config.host}:${http.port}`);
  if (admin !== undefined) summary.push(`grpc${admin.tls ? 's' : ''} ${admin.host.includes(':') ? `[${admin.host}]` : admin.host}:${admin.port}`);
  log.info(
    {
      event: 'started',
      nodeId: config.nodeId,
      version: brokerVersion(),
      listeners: listeners.map((l) => ({ transport: l.transport, host: l.host, port: l.port })),
      httpPort: http?.port,
      grpcPort: admin?.port,
      grpcHost: admin?.host,
      adminTokenRequired: admin?.tokenRequired,
      adminTls: admin?.tls,
      proxyProtocol: config.proxyProtocol,
      nodejs: process.version,
      wsEngine: websocket?.engine.name,
      wsEngineReason: websocket?.reason,
      allowAnonymous: config.allowAnonymous,
      passwordFile: config.passwordFile,
      aclFile: config.aclFile,
      authChain: config.authChain,
      tlsIdentity: config.tlsIdentity,
    },
    `mqtt-broker ${config.nodeId} listening: ${summary.join(', ')}`,
  );

  let shuttingDown: Promise<void> | undefined;
  return {
    config,
    broker,
    metrics,
    listeners,
    httpPort: http?.port,
    grpcPort: admin?.port,
    isReady,
    async reloadAuth() {
      try {
        const next = await authLoader.load();
        const crlFile = config.tls?.crlFile;
        if (tls !== undefined && crlFile !== undefined) {
          const crl = await readFile(crlFile);
          for (const l of listeners) l.reloadTls?.({ ...tls, crl });
        }
        broker.setAuth({ authenticator: next.authenticator, ...(next.authorizer !== undefined ? { authorizer: next.authorizer } : {}) });
        mqttsnClients = next.mqttsnClients;
        log.info({ event: 'auth_reloaded', passwordFile: config.passwordFile, aclFile: config.aclFile }, 'password and ACL files reloaded');
        return true;
      } catch (err) {
        log.error({ event: 'auth_reload_failed', err }, 'reload failed; keeping the previous password and ACL files');
        return false;
      }
    },
    shutdown() {
      shuttingDown ??= (async () => {
        draining = true;
        metrics.setReady(false);
        log.info({ event: 'draining', drainSeconds: config.drainSeconds, clients: broker.stats().connectedClients }, 'shutting down: draining clients');
        for (const l of listeners) l.stopAccepting();
        const stopped = (async () => {
          await broker.drain(config.drainSeconds * 1000, config.serverReference);
          await closeAll();
        })();
        // Bounded: with Redis unreachable the session saves and the leave would wait for it
        // forever (ioredis queues them), and Kubernetes would SIGKILL the pod at its grace period
        // anyway. What was saved before stays in Redis for the survivor that adopts this node.
        const boundMs = config.drainSeconds * 1000 + SHUTDOWN_GRACE_MS;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([stopped.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), boundMs)))]);
        clearTimeout(timer);
        if (timedOut) {
          const redis = cluster === undefined ? undefined : cluster.isReady() ? 'connected' : 'unreachable';
          log.error({ event: 'shutdown_timeout', boundMs, redis }, 'shutdown did not finish within DRAIN_SECONDS + 4 s: stopping without the writes still pending');
          throw new Error(`shutdown did not finish within ${boundMs} ms`);
        }
        log.info({ event: 'stopped' }, 'mqtt-broker stopped');
      })();
      return shuttingDown;
    },
  };
}
