/**
 * The gRPC server of the admin API: admin.proto's Admin service over an AdminFacade. Handlers
 * only translate (wire <-> facade) and map AdminError codes to gRPC status codes; everything
 * else (paging, validation, cluster fan-out) is the facade's job. With `token`, every call is
 * checked for `authorization: Bearer <token>` before its handler runs (UNAUTHENTICATED otherwise);
 * with `tls`, the port speaks TLS only (grpc.ServerCredentials.createSsl).
 */
import { type sendUnaryData, Server, ServerCredentials, type ServerUnaryCall, status, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { AdminError, type AdminFacade } from '@mqtt-broker/core';
import { type AuthResult, tokenChecker } from './auth.js';
import { fromPublishRequest, toClient, toNodeStatus, toRetained, toSubscription } from './convert.js';
import { loadAdminService } from './proto.js';
import type { AdminRpcName, AdminRpcs } from './wire.js';

export interface AdminServerOptions {
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1 (loopback): another address exposes the API to whoever reaches it. */
  host?: string;
  facade: AdminFacade;
  /** When set, every call must carry metadata `authorization: Bearer <token>`, else UNAUTHENTICATED. */
  token?: string;
  /** When set, the port speaks TLS only, with this PEM certificate chain and key. */
  tls?: { cert: Buffer; key: Buffer };
  /** Told about handler failures that are not AdminErrors (bugs, port failures). */
  onError?: (error: unknown, method: string) => void;
  /** Told about each call refused for its token (`peer` is the caller's address). */
  onAuthFailure?: (method: string, peer: string, reason: Exclude<AuthResult, 'ok'>) => void;
}

export interface AdminServer {
  readonly port: number;
  readonly host: string;
  /** Whether calls need the bearer token. */
  readonly tokenRequired: boolean;
  readonly tls: boolean;
  /** Stops accepting, lets running calls finish for up to `graceMs` (default 2000), then cancels them. */
  close(graceMs?: number): Promise<void>;
}

type Handlers = { [K in AdminRpcName]: (request: AdminRpcs[K][0]) => Promise<AdminRpcs[K][1]> };

function handlersFor(facade: AdminFacade): Handlers {
  return {
    ClusterStatus: async () => ({ nodes: (await facade.clusterStatus()).nodes.map(toNodeStatus) }),
    ListClients: async (r) => {
      const page = await facade.listClients({ prefix: r.clientIdPrefix ?? '', pageSize: r.pageSize ?? 0, pageToken: r.pageToken ?? '' });
      return { clients: page.items.map(toClient), nextPageToken: page.nextPageToken };
    },
    GetClient: async (r) => {
      const detail = await facade.getClient(r.clientId);
      return { client: toClient(detail.client), subscriptions: detail.subscriptions.map(toSubscription) };
    },
    KickClient: async (r) => await facade.kickClient(r.clientId, { discardSession: r.discardSession === true }),
    ListSubscriptions: async (r) => {
      const page = await facade.listSubscriptions({
        prefix: r.topicFilterPrefix ?? '',
        pageSize: r.pageSize ?? 0,
        pageToken: r.pageToken ?? '',
        ...(r.clientId !== undefined && r.clientId !== '' ? { clientId: r.clientId } : {}),
      });
      return { subscriptions: page.items.map(toSubscription), nextPageToken: page.nextPageToken };
    },
    Publish: async (r) => await facade.publish(fromPublishRequest(r)),
    GetRetained: async (r) => {
      const page = await facade.getRetained({
        ...(r.topic !== undefined && r.topic !== '' ? { topic: r.topic } : { filter: r.filter ?? '' }),
        pageSize: r.pageSize ?? 0,
        pageToken: r.pageToken ?? '',
      });
      return { messages: page.items.map(toRetained), nextPageToken: page.nextPageToken };
    },
    DeleteRetained: async (r) => await facade.deleteRetained(r.topic),
  };
}

const STATUS_OF: Record<AdminError['code'], status> = {
  not_found: status.NOT_FOUND,
  invalid_argument: status.INVALID_ARGUMENT,
};

type Guard = (call: ServerUnaryCall<unknown, unknown>, method: string) => string | undefined;

/** A guard returning the UNAUTHENTICATED details of a refused call, undefined when it may go on. */
function guardFor(options: AdminServerOptions): Guard {
  if (options.token === undefined) return () => undefined;
  const check = tokenChecker(options.token);
  return (call, method) => {
    const result = check(call.metadata);
    if (result === 'ok') return undefined;
    options.onAuthFailure?.(method, call.getPeer(), result);
    return result === 'missing' ? 'missing admin token (metadata authorization: Bearer <token>)' : 'invalid admin token';
  };
}

function unary<Req, Res>(method: string, fn: (request: Req) => Promise<Res>, guard: Guard, onError: AdminServerOptions['onError']) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    const refused = guard(call as ServerUnaryCall<unknown, unknown>, method);
    if (refused !== undefined) {
      callback({ code: status.UNAUTHENTICATED, details: refused });
      return;
    }
    fn(call.request).then(
      (response) => callback(null, response),
      (error: unknown) => {
        if (error instanceof AdminError) {
          callback({ code: STATUS_OF[error.code], details: error.message });
          return;
        }
        onError?.(error, method);
        callback({ code: status.INTERNAL, details: error instanceof Error ? error.message : String(error) });
      },
    );
  };
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const host = options.host ?? '127.0.0.1';
  if (options.token !== undefined && options.token.trim() === '') throw new TypeError('startAdminServer: token must not be empty');
  const server = new Server();
  const handlers = handlersFor(options.facade);
  const guard = guardFor(options);
  const implementation: UntypedServiceImplementation = {};
  // Each handler's request type is checked above (Handlers); here they are all the same to grpc-js.
  for (const [name, fn] of Object.entries(handlers) as unknown as Array<[string, (r: object) => Promise<object>]>) {
    implementation[name] = unary(name, fn, guard, options.onError);
  }
  server.addService(loadAdminService(), implementation);
  const address = host.includes(':') ? `[${host}]:${options.port}` : `${host}:${options.port}`;
  const credentials =
    options.tls === undefined ? ServerCredentials.createInsecure() : ServerCredentials.createSsl(null, [{ cert_chain: options.tls.cert, private_key: options.tls.key }], false);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, credentials, (error, bound) => (error !== null ? reject(error) : resolve(bound)));
  });
  let closing: Promise<void> | undefined;
  return {
    port,
    host,
    tokenRequired: options.token !== undefined,
    tls: options.tls !== undefined,
    close(graceMs = 2000) {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closing;
    },
  };
}
