/**
 * WebSocketEngine on top of the `ws` package (with bufferutil for masking).
 *
 * An http(s) server owns the port; 'upgrade' requests are checked here (path, subprotocol)
 * before `ws` completes the handshake, so a refused client gets a plain HTTP status (404 for a
 * wrong path, 400 when it offers no MQTT subprotocol) instead of a half-open WebSocket.
 * `sendBatch` corks the raw socket around the sends so a turn's frames leave in one syscall.
 * With the PROXY protocol a net.Server in front (proxy-front.ts) reads the header and hands the
 * socket to the http(s) server, which never listens itself; the upgrade takes the header.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import { WebSocket, WebSocketServer } from 'ws';
import { verifiedCertificate } from './client-certificate.js';
import { bindServer, closeServer, secureContextOptions } from './listener.js';
import { createProxyFront, ParkedProxyHeaders } from './proxy-front.js';
import { normalizeAddress } from './socket-connection.js';
import type { WebSocketEngine, WebSocketPeer, WebSocketPeerEvents, WebSocketPeerInfo, WebSocketServerHandle, WebSocketServerOptions } from './ws-engine.js';

class WsPeer implements WebSocketPeer {
  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Socket,
  ) {}

  sendBatch(frames: readonly Buffer[]): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    // One WebSocket message for the whole batch: a message may hold several MQTT packets [MQTT-6.0.0-2].
    this.ws.send(frames.length === 1 ? frames[0] : Buffer.concat(frames), { binary: true, compress: false });
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  get needsDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  close(): void {
    this.ws.close(1000);
  }

  terminate(): void {
    this.ws.terminate();
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  bind(events: WebSocketPeerEvents): void {
    let hadError = false;
    this.ws.on('message', (data: Buffer, isBinary: boolean) => events.message(data, isBinary));
    this.ws.on('error', (err: Error) => {
      hadError = true;
      events.error(err);
    });
    this.ws.once('close', () => events.close(hadError));
    this.socket.on('drain', () => events.drain());
  }
}

function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  if (header === undefined) return [];
  return header
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

function refuse(socket: Socket, status: string): void {
  if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

export function createWsEngine(): WebSocketEngine {
  return {
    name: 'ws',
    proxyProtocol: true,
    async listen(options: WebSocketServerOptions, onPeer: (peer: WebSocketPeer, info: WebSocketPeerInfo) => void): Promise<WebSocketServerHandle> {
      const { events, transport } = options;
      const tls = options.tls;
      const requireCert = tls?.requireClientCert === true;
      const askCert = requireCert || tls?.requestClientCert === true;
      const server: Server =
        tls === undefined ? createHttpServer() : createHttpsServer({ ...secureContextOptions(tls), requestCert: askCert, rejectUnauthorized: requireCert });
      const wss = new WebSocketServer({
        noServer: true,
        clientTracking: false,
        perMessageDeflate: false,
        maxPayload: options.maxMessageBytes,
        handleProtocols: (protocols: Set<string>) => options.selectProtocol([...protocols]) ?? false,
      });
      const sockets = new Set<Socket>();
      let accepting = true;

      const track = (socket: Socket): void => {
        if (sockets.has(socket)) return;
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      };
      server.on('connection', (socket: Socket) => {
        track(socket);
        socket.on('error', (err) => events?.socketError?.(transport, err));
      });
      const parked = options.proxyProtocol === true ? new ParkedProxyHeaders() : undefined;
      const front =
        parked === undefined
          ? undefined
          : createProxyFront({ transport, headerTimeoutMs: options.proxyHeaderTimeoutMs, events, accepted: track }, (socket, header) => {
              parked.handOn(server, socket, header);
              // readProxyHeader left the socket paused with the request's first bytes unshifted:
              // the TLS server reads them itself, the HTTP server only from a flowing socket.
              if (tls === undefined) socket.resume();
            });
      const listening = front ?? server;
      server.on('request', (_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
        res.end('MQTT over WebSocket: connect with a WebSocket client\n');
      });
      server.on('clientError', (err: Error, socket) => {
        events?.socketError?.(transport, err);
        socket.destroy();
      });
      server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
        events?.socketError?.(transport, err);
        events?.connectionRejected?.(transport, 'tls_handshake_failed', normalizeAddress(socket.remoteAddress));
      });
      server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
        const source = parked?.take(socket)?.source;
        const address = source?.address ?? normalizeAddress(socket.remoteAddress);
        const remotePort = source?.port ?? socket.remotePort ?? 0;
        if (!accepting) {
          refuse(socket, '503 Service Unavailable');
          return;
        }
        const path = (req.url ?? '/').split('?')[0];
        if (path !== options.path) {
          events?.connectionRejected?.(transport, 'ws_bad_path', address);
          refuse(socket, '404 Not Found');
          return;
        }
        if (options.selectProtocol(offeredProtocols(req)) === undefined) {
          events?.connectionRejected?.(transport, 'ws_bad_subprotocol', address);
          refuse(socket, '400 Bad Request');
          return;
        }
        socket.setNoDelay(true);
        socket.setKeepAlive(false);
        wss.handleUpgrade(req, socket, head, (ws) => {
          const info: WebSocketPeerInfo = { remoteAddress: address, remotePort };
          const tlsSocket = socket as TLSSocket;
          const certificate = askCert ? verifiedCertificate(tlsSocket) : undefined;
          if (certificate !== undefined) {
            info.certificate = certificate;
            if (requireCert && certificate.commonName !== undefined) info.certificateCommonName = certificate.commonName;
          }
          onPeer(new WsPeer(ws, socket), info);
        });
      });

      const port = await bindServer(listening, transport, options.host, options.port, events);
      return {
        port,
        get connections() {
          return sockets.size;
        },
        stopAccepting() {
          accepting = false;
          if (listening.listening) listening.close();
        },
        reloadTls(next) {
          if (tls !== undefined) (server as unknown as TlsServer).setSecureContext(secureContextOptions(next));
        },
        async close() {
          accepting = false;
          const closed = closeServer(listening);
          for (const socket of sockets) socket.destroy();
          wss.close();
          await closed;
        },
      };
    },
  };
}
