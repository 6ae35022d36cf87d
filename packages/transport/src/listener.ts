import type { Server } from 'node:net';
import type { TransportKind } from './core-types.js';
import { ListenError } from './errors.js';
import type { TransportEvents } from './events.js';

/** A bound listener, whatever its transport. */
export interface Listener {
  readonly transport: TransportKind;
  /** The address it is bound to, as given (default 0.0.0.0). */
  readonly host: string;
  /** The port actually bound (useful when listening on port 0). */
  readonly port: number;
  /** Open client connections. */
  readonly connections: number;
  /** Refuse new connections; open ones stay up (graceful drain). */
  stopAccepting(): void;
  /** Stop accepting, destroy open connections, resolve once the server is closed. */
  close(): Promise<void>;
  /** TLS and WSS listeners: new connections use these certificates, CA and CRL (SIGHUP reload). */
  reloadTls?(tls: TlsSettings): void;
}

export interface TlsSettings {
  /** PEM certificate chain and private key. */
  cert: string | Buffer;
  key: string | Buffer;
  /** PEM CA bundle used to verify client certificates. */
  ca?: string | Buffer;
  /** Ask for and require a client certificate signed by `ca`; its subject CN is exposed. */
  requireClientCert?: boolean;
  /**
   * Ask for a client certificate without requiring one: a certificate verified against `ca`
   * identifies the client (ClientConnection.certificate), an unverified one is ignored.
   */
  requestClientCert?: boolean;
  /** PEM certificate revocation list(s): a revoked client certificate fails the handshake. */
  crl?: string | Buffer;
}

/** The secure-context part of TlsSettings, as node:tls takes it. */
export function secureContextOptions(tls: TlsSettings): { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer; crl?: string | Buffer } {
  return { cert: tls.cert, key: tls.key, ...(tls.ca !== undefined ? { ca: tls.ca } : {}), ...(tls.crl !== undefined ? { crl: tls.crl } : {}) };
}

export interface ListenOptions {
  /** Bind address; default 0.0.0.0 ('::' for dual stack, '::1', ...). */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /**
   * Accept queue length (listen(2) backlog; the kernel caps it at net.core.somaxconn). Default
   * 4096, not Node's 511: a reconnect storm (every device of a load balancer's dead node at once)
   * overflows a short queue, the kernel drops the handshakes and each client waits a full SYN
   * retransmission timeout (1 s, then 2, 4...) before trying again.
   */
  backlog?: number;
  events?: TransportEvents;
}

/** A listener that can read a PROXY protocol header first (TCP, TLS; WebSocket on the `ws` engine). */
export interface ProxyProtocolOptions {
  /** Expect a PROXY protocol v1/v2 header first on every connection. */
  proxyProtocol?: boolean;
  /** Close a connection whose PROXY header has not arrived within this time. Default 5000. */
  proxyHeaderTimeoutMs?: number;
}

export const DEFAULT_BACKLOG = 4096;

/** Bind `server`; reject with a ListenError naming the port when that fails. */
export async function bindServer(
  server: Server,
  transport: TransportKind,
  host: string,
  port: number,
  events?: TransportEvents,
  backlog: number = DEFAULT_BACKLOG,
): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(new ListenError(transport, host, port, err.code ?? 'ERROR', err));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, exclusive: true, backlog });
  });
  server.on('error', (err: Error) => events?.socketError?.(transport, err));
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : port;
}

/** Close a server and wait for it, tolerating "not running". */
export async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}
