/**
 * TCP and TLS listeners.
 *
 * Without the PROXY protocol a plain net.Server / tls.Server hands each socket to the core.
 * With it, a net.Server in front (proxy-front.ts) reads the PROXY header, then either serves the
 * socket (TCP) or hands it to the tls.Server (TLS: the header precedes the TLS handshake), whose
 * secure connection takes the parked header.
 */
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { ConnectionAcceptor, TransportKind } from './core-types.js';
import { verifiedCertificate } from './client-certificate.js';
import { bindServer, closeServer, type Listener, type ListenOptions, type ProxyProtocolOptions, secureContextOptions, type TlsSettings } from './listener.js';
import { createProxyFront, ParkedProxyHeaders } from './proxy-front.js';
import type { ProxyHeader } from './proxy-protocol.js';
import { normalizeAddress, type SocketConnectionOptions, serveSocket } from './socket-connection.js';

export interface TcpListenOptions extends ListenOptions, ProxyProtocolOptions {
  acceptor: ConnectionAcceptor;
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
  const front = { transport, headerTimeoutMs: options.proxyHeaderTimeoutMs, events, serverOptions };
  const base = (header?: ProxyHeader): SocketConnectionOptions => ({
    transport,
    events,
    ...(header?.source ? { remoteAddress: header.source.address, remotePort: header.source.port } : {}),
  });

  let server: Server;
  let reloadTls: ((tls: TlsSettings) => void) | undefined;
  if (tls === undefined) {
    // SocketConnection reports the socket's errors once attached (readProxyHeader until then).
    server =
      options.proxyProtocol === true
        ? createProxyFront({ ...front, accepted: track }, (socket, header) => serveSocket(socket, options.acceptor, base(header)))
        : createNetServer(serverOptions, (socket) => {
            track(socket);
            serveSocket(socket, options.acceptor, base());
          });
  } else {
    const requireCert = tls.requireClientCert === true;
    const askCert = requireCert || tls.requestClientCert === true;
    const parked = new ParkedProxyHeaders();
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
      const connOptions = base(parked.take(socket));
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
      const accepted = (socket: Socket): void => {
        track(socket);
        socket.on('error', onError);
      };
      server = createProxyFront({ ...front, accepted }, (socket, header) => parked.handOn(tlsServer, socket, header));
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
