/**
 * TCP and TLS listeners.
 *
 * Without the PROXY protocol a plain net.Server / tls.Server hands each socket to the core.
 * With it, a net.Server accepts, reads the PROXY header (proxy-reader.ts), then either serves
 * the socket (TCP) or injects it into a tls.Server with `emit('connection')` (TLS: the header
 * precedes the TLS handshake). The proxied address of a TLS socket is parked in a map keyed by
 * the socket's own peer address:port (unique among live connections) until the handshake ends.
 */
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { ConnectionAcceptor, TransportKind } from './core-types.js';
import { verifiedCertificate } from './client-certificate.js';
import { bindServer, closeServer, type Listener, type ListenOptions, secureContextOptions, type TlsSettings } from './listener.js';
import type { ProxyHeader } from './proxy-protocol.js';
import { DEFAULT_PROXY_HEADER_TIMEOUT_MS, readProxyHeader } from './proxy-reader.js';
import { normalizeAddress, type SocketConnectionOptions, serveSocket } from './socket-connection.js';

export interface TcpListenOptions extends ListenOptions {
  acceptor: ConnectionAcceptor;
  /** Expect a PROXY protocol v1/v2 header first on every connection. */
  proxyProtocol?: boolean;
  /** Close a connection whose PROXY header has not arrived within this time. Default 5000. */
  proxyHeaderTimeoutMs?: number;
  /** Socket send buffer high-water mark (bytes) above which `write` returns false. */
  highWaterMark?: number;
}

export interface TlsListenOptions extends TcpListenOptions {
  tls: TlsSettings;
}

export async function listenTcp(options: TcpListenOptions): Promise<Listener> {
  return await listenStream('tcp', options, undefined);
}

export async function listenTls(options: TlsListenOptions): Promise<Listener> {
  return await listenStream('tls', options, options.tls);
}

async function listenStream(transport: TransportKind, options: TcpListenOptions, tls: TlsSettings | undefined): Promise<Listener> {
  const host = options.host ?? '0.0.0.0';
  const events = options.events;
  const sockets = new Set<Socket>();
  // One listener function per server, not a closure per socket.
  const untrack = function (this: Socket): void {
    sockets.delete(this);
  };
  const onError = (err: Error): void => events?.socketError?.(transport, err);
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', untrack);
  };
  const serverOptions = { highWaterMark: options.highWaterMark, noDelay: true };
  const base = (header?: ProxyHeader): SocketConnectionOptions => ({
    transport,
    events,
    ...(header?.source ? { remoteAddress: header.source.address, remotePort: header.source.port } : {}),
  });

  let server: Server;
  let reloadTls: ((tls: TlsSettings) => void) | undefined;
  if (tls === undefined) {
    server = createNetServer(serverOptions, (socket) => {
      track(socket);
      if (options.proxyProtocol !== true) {
        // SocketConnection reports this socket's errors once attached
        serveSocket(socket, options.acceptor, base());
        return;
      }
      socket.on('error', onError);
      void readProxyHeader(socket, transport, options.proxyHeaderTimeoutMs ?? DEFAULT_PROXY_HEADER_TIMEOUT_MS, events).then((header) => {
        if (header !== undefined && !socket.destroyed) serveSocket(socket, options.acceptor, base(header));
      });
    });
  } else {
    const requireCert = tls.requireClientCert === true;
    const askCert = requireCert || tls.requestClientCert === true;
    const pending = new Map<string, ProxyHeader>();
    const tlsServer = createTlsServer({
      ...secureContextOptions(tls),
      requestCert: askCert,
      rejectUnauthorized: requireCert,
      highWaterMark: options.highWaterMark,
      noDelay: true,
    });
    reloadTls = (next) => tlsServer.setSecureContext(secureContextOptions(next));
    tlsServer.on('secureConnection', (socket: TLSSocket) => {
      socket.on('error', onError);
      const key = `${socket.remoteAddress}|${socket.remotePort}`;
      const header = pending.get(key);
      pending.delete(key);
      const connOptions = base(header);
      const certificate = askCert ? verifiedCertificate(socket) : undefined;
      if (certificate !== undefined) {
        connOptions.certificate = certificate;
        if (requireCert && certificate.commonName !== undefined) connOptions.certificateCommonName = certificate.commonName;
      }
      serveSocket(socket, options.acceptor, connOptions);
    });
    tlsServer.on('tlsClientError', (err, socket) => {
      events?.socketError?.(transport, err);
      events?.connectionRejected?.(transport, 'tls_handshake_failed', normalizeAddress(socket.remoteAddress));
    });
    tlsServer.on('error', (err) => events?.socketError?.(transport, err));
    if (options.proxyProtocol !== true) {
      server = tlsServer;
      server.on('connection', track);
    } else {
      server = createNetServer(serverOptions, (socket) => {
        track(socket);
        socket.on('error', onError);
        const key = `${socket.remoteAddress}|${socket.remotePort}`;
        void readProxyHeader(socket, transport, options.proxyHeaderTimeoutMs ?? DEFAULT_PROXY_HEADER_TIMEOUT_MS, events).then((header) => {
          if (header === undefined || socket.destroyed) return;
          pending.set(key, header);
          socket.once('close', () => pending.delete(key));
          tlsServer.emit('connection', socket);
        });
      });
    }
  }

  const port = await bindServer(server, transport, host, options.port, events, options.backlog);
  return {
    transport,
    host,
    port,
    get connections() {
      return sockets.size;
    },
    stopAccepting() {
      if (server.listening) server.close();
    },
    ...(reloadTls !== undefined ? { reloadTls } : {}),
    async close() {
      const closed = closeServer(server);
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
