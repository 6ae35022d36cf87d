/**
 * A typed client for the admin API: one async method per RPC, each with a deadline. gRPC
 * failures become AdminApiError carrying the gRPC status code (NOT_FOUND, INVALID_ARGUMENT,
 * UNAVAILABLE when no server answers...). A `token` is sent on every call as metadata
 * `authorization: Bearer <token>`; `tls` connects over TLS (system roots, or the `ca` given).
 */
import { type ChannelCredentials, Client, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { AUTHORIZATION_KEY, bearer } from './auth.js';
import { loadAdminService } from './proto.js';
import type { AdminRpcName, AdminRpcs } from './wire.js';

export class AdminApiError extends Error {
  /** The gRPC status code (`status.NOT_FOUND`, ...). */
  readonly code: status;
  readonly details: string;
  constructor(code: status, details: string) {
    super(`${status[code] ?? code}: ${details}`);
    this.name = 'AdminApiError';
    this.code = code;
    this.details = details;
  }
}

export interface AdminClientOptions {
  /** Deadline of each call, ms (default 10000). */
  timeoutMs?: number;
  /** The broker's ADMIN_TOKEN; sent as `authorization: Bearer <token>` on every call. */
  token?: string;
  /**
   * Connect with TLS (the broker's ADMIN_TLS): `true` trusts the system roots, `{ ca }` a PEM
   * bundle; `serverName` is the name checked in the certificate when it differs from the address
   * (e.g. through kubectl port-forward).
   */
  tls?: boolean | { ca?: Buffer; serverName?: string };
}

function channelCredentials(tls: AdminClientOptions['tls']): ChannelCredentials {
  if (tls === undefined || tls === false) return credentials.createInsecure();
  return credentials.createSsl(tls === true ? null : (tls.ca ?? null));
}

export class AdminClient {
  private readonly client: Client;
  private readonly timeoutMs: number;
  private readonly token: string | undefined;
  private readonly service = loadAdminService();

  /** `address`: host:port of a broker's GRPC_PORT. */
  constructor(
    readonly address: string,
    options: AdminClientOptions = {},
  ) {
    const serverName = typeof options.tls === 'object' ? options.tls.serverName : undefined;
    const channelOptions = serverName !== undefined ? { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName } : {};
    this.client = new Client(address, channelCredentials(options.tls), channelOptions);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.token = options.token;
  }

  clusterStatus(): Promise<AdminRpcs['ClusterStatus'][1]> {
    return this.call('ClusterStatus', {});
  }

  listClients(request: AdminRpcs['ListClients'][0] = {}): Promise<AdminRpcs['ListClients'][1]> {
    return this.call('ListClients', request);
  }

  getClient(clientId: string): Promise<AdminRpcs['GetClient'][1]> {
    return this.call('GetClient', { clientId });
  }

  kickClient(clientId: string, discardSession = false): Promise<AdminRpcs['KickClient'][1]> {
    return this.call('KickClient', { clientId, discardSession });
  }

  listSubscriptions(request: AdminRpcs['ListSubscriptions'][0] = {}): Promise<AdminRpcs['ListSubscriptions'][1]> {
    return this.call('ListSubscriptions', request);
  }

  publish(request: AdminRpcs['Publish'][0]): Promise<AdminRpcs['Publish'][1]> {
    return this.call('Publish', request);
  }

  getRetained(request: AdminRpcs['GetRetained'][0]): Promise<AdminRpcs['GetRetained'][1]> {
    return this.call('GetRetained', request);
  }

  deleteRetained(topic: string): Promise<AdminRpcs['DeleteRetained'][1]> {
    return this.call('DeleteRetained', { topic });
  }

  close(): void {
    this.client.close();
  }

  private call<K extends AdminRpcName>(method: K, request: AdminRpcs[K][0]): Promise<AdminRpcs[K][1]> {
    const def = this.service[method];
    if (def === undefined) return Promise.reject(new AdminApiError(status.UNIMPLEMENTED, `${method} is not in admin.proto`));
    const metadata = new Metadata();
    if (this.token !== undefined) metadata.set(AUTHORIZATION_KEY, bearer(this.token));
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest<AdminRpcs[K][0], AdminRpcs[K][1]>(
        def.path,
        (value) => def.requestSerialize(value),
        (bytes) => def.responseDeserialize(bytes) as AdminRpcs[K][1],
        request,
        metadata,
        { deadline: Date.now() + this.timeoutMs },
        (error: ServiceError | null, response?: AdminRpcs[K][1]) => {
          if (error !== null) reject(new AdminApiError(error.code, error.details));
          else if (response === undefined) reject(new AdminApiError(status.INTERNAL, 'empty response'));
          else resolve(response);
        },
      );
    });
  }
}
