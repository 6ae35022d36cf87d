/**
 * The PROXY protocol in front of a listener: a net.Server accepts, reads each connection's
 * header (proxy-reader.ts), then hands the socket on. For a protocol that wraps the socket
 * (TLS, HTTP + WebSocket) the socket is emitted as a 'connection' of the inner server and its
 * header parked under the socket's peer address:port (unique among live connections, and what
 * a TLSSocket wrapping it reports) until the inner server's handler takes it.
 */
import { createServer, type Server, type ServerOpts, type Socket } from 'node:net';
import type { TransportKind } from './core-types.js';
import type { TransportEvents } from './events.js';
import type { ProxyHeader } from './proxy-protocol.js';
import { DEFAULT_PROXY_HEADER_TIMEOUT_MS, readProxyHeader } from './proxy-reader.js';

export interface ProxyFrontOptions {
  transport: TransportKind;
  /** Close a connection whose header has not arrived within this time; default 5000. */
  headerTimeoutMs: number | undefined;
  events: TransportEvents | undefined;
  serverOptions?: ServerOpts;
  /** Every accepted socket, before its header is read (connection tracking). */
  accepted(socket: Socket): void;
}

/** A net.Server that calls `onHeader` with each socket whose PROXY header was read. */
export function createProxyFront(options: ProxyFrontOptions, onHeader: (socket: Socket, header: ProxyHeader) => void): Server {
  const timeoutMs = options.headerTimeoutMs ?? DEFAULT_PROXY_HEADER_TIMEOUT_MS;
  return createServer(options.serverOptions ?? {}, (socket) => {
    options.accepted(socket);
    void readProxyHeader(socket, options.transport, timeoutMs, options.events).then((header) => {
      if (header !== undefined && !socket.destroyed) onHeader(socket, header);
    });
  });
}

function peerKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

/** Headers of sockets handed to an inner server, until its handler takes them. */
export class ParkedProxyHeaders {
  private readonly headers = new Map<string, ProxyHeader>();

  /** Park the header and hand the socket to `server` as a new connection. */
  handOn(server: Server, socket: Socket, header: ProxyHeader): void {
    const key = peerKey(socket);
    this.headers.set(key, header);
    socket.once('close', () => this.headers.delete(key));
    server.emit('connection', socket);
  }

  /** The header of the connection `socket` belongs to (the raw socket or a TLSSocket over it). */
  take(socket: Socket): ProxyHeader | undefined {
    const key = peerKey(socket);
    const header = this.headers.get(key);
    this.headers.delete(key);
    return header;
  }
}
